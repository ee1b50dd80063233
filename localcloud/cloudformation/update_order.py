"""Stack updates in CloudFormation's order: new and changed resources by their dependencies, removals last.

moto 5.2.5's ``ResourceMap.update`` deletes the resources a template dropped first, then creates the new ones, then
updates the changed ones, retrying each failure up to five times. CloudFormation instead creates and updates resources
in dependency order and deletes the old ones in its cleanup phase, after everything else succeeded, keeping those whose
``DeletionPolicy`` is ``Retain`` (CloudFormation UG, "Update behaviors of stack resources" and "DeletionPolicy
attribute"). The difference breaks the pattern CDK's ``currentVersion`` relies on: a code change brings a new
``AWS::Lambda::Version`` (a new logical id) that must be published *after* the function's code is updated, while the
old version, retained, stays for the alias to shift away from. moto published the new version first (of the old code)
and deleted the old one under the alias.

Here: the added and modified resources run in dependency order (``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and
``DependsOn`` within the template); a failure fails the update at once (no retries: an update policy's deployment is
not run five times); then the removed resources are deleted, those without ``DeletionPolicy: Retain``, with moto's
retries for delete order.
"""

from __future__ import annotations

import re
from typing import Any

_SUB_REF = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[^}]*)?\}")
_installed = {"done": False}


def references(value: Any) -> set[str]:
    """The logical ids a resource's JSON names (resources and parameters alike; callers intersect)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                found.add(str(target))
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                found.update(_SUB_REF.findall(str(text)))
                if isinstance(inner, list) and len(inner) > 1:
                    found |= references(inner[1])
            elif key == "DependsOn":
                found.update([inner] if isinstance(inner, str) else list(inner or []))
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


def previous_ssm_paths(resource_map: Any, template: dict[str, Any], parameters: dict[str, Any] | None) -> Any:
    """``UsePreviousValue`` on an ``AWS::SSM::Parameter::Value<...>`` parameter: CloudFormation reuses the previous
    parameter *path* and resolves it again. moto hands the update the previous *resolved* value instead (its
    ``stack_parameters`` are the resolved ones), which it then looks up as a path and fails on (an AttributeError,
    a 500 to `cdk deploy`: every CDK stack's ``BootstrapVersion`` is such a parameter, so any second deploy of a
    changed template failed). Such a value becomes the previous path again: the previous input, else the template's
    default."""
    if not parameters:
        return parameters
    slots = template.get("Parameters") or {}
    old_slots = (getattr(resource_map, "_template", None) or {}).get("Parameters") or {}
    old_inputs = getattr(resource_map, "input_parameters", None) or {}
    old_resolved = getattr(resource_map, "resolved_parameters", None) or {}
    fixed = dict(parameters)
    for key, value in parameters.items():
        if not str((slots.get(key) or {}).get("Type", "")).startswith("AWS::SSM::Parameter::"):
            continue
        if key not in old_resolved or value != old_resolved[key]:
            continue
        path = old_inputs.get(key) or (old_slots.get(key) or {}).get("Default")
        if path:
            fixed[key] = path
    return fixed


def install() -> None:
    if _installed["done"]:
        return
    _installed["done"] = True
    from moto.cloudformation import parsing

    def update(self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        parameters = previous_ssm_paths(self, template, parameters)
        actions = self.build_resource_diff(template, parameters)
        old_json = dict(self._resource_json_map)
        self._template = template
        if parameters:
            self.input_parameters = parameters
        self.load_mapping()
        self.load_parameters()
        self.load_conditions()
        self._resource_json_map = template["Resources"]

        pending = {name: "Add" for name in actions["Add"]}
        pending.update({name: "Modify" for name in actions["Modify"]})
        while pending:
            waiting = set(pending)
            ready = [n for n in pending if not (references(self._resource_json_map[n]) & (waiting - {n}))]
            for name in ready or list(pending)[:1]:  # a cycle: one at a time, as moto would
                if pending.pop(name) == "Add":
                    _ = self[name]  # moto creates a resource on first access
                    continue
                changed = parsing.parse_and_update_resource(
                    name,
                    self._resource_json_map[name],
                    self,
                    account_id=self._account_id,
                    region_name=self._region_name,
                )
                if changed is not None:
                    self._parsed_resources[name] = changed

        removed = [n for n in actions["Remove"] if old_json[n].get("DeletionPolicy") != "Retain"]
        for name in actions["Remove"]:
            if name not in removed:
                self._parsed_resources.pop(name, None)  # retained: no longer the stack's
        last: Exception | None = None
        for _ in range(parsing.MAX_UPDATE_ATTEMPTS):
            for name in list(removed):
                try:
                    if name in self._parsed_resources:
                        self._delete_resource(self._parsed_resources[name], old_json[name])
                        self._parsed_resources.pop(name, None)
                except Exception as exc:  # noqa: BLE001 - a dependency still in place: try again on the next pass
                    last = exc
                else:
                    removed.remove(name)
            if not removed:
                return
        if last is not None:
            raise last

    parsing.ResourceMap.update = update  # type: ignore[method-assign]
