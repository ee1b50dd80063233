"""Asynchronous invocation settings per qualifier, as Lambda keeps them.

On AWS, PutFunctionEventInvokeConfig and its siblings take a ``Qualifier``: the unqualified function (``$LATEST``),
a version number or an alias each have their own MaximumRetryAttempts, MaximumEventAgeInSeconds and destinations
(Lambda API reference, PutFunctionEventInvokeConfig; Lambda DG, "Configuring error handling for asynchronous
invocation"). moto 5.2.5 ignores the Qualifier: it keeps a list per function, appends on every Put, and Get answers
the first entry, whatever was asked.

``install()`` keeps moto's list (on the function's ``$LATEST`` object, which CloudFormation fill-ins also use) but
tags each entry with its qualifier:
- Put replaces the entry of its qualifier ("If a configuration already exists ... this operation overwrites it");
- Update merges the given settings into it;
- Get and Delete act on that qualifier's entry, List answers all of the function's entries;
- an entry's ``FunctionArn`` is qualified (``...:function:name:$LATEST``), as AWS answers.
The runner reads the entry of the qualifier an ``Event`` invoke was made with (``settings_for``).
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import unquote

LATEST = "$LATEST"
_QUALIFIER_ATTR = "localcloud_qualifier"
_state = {"installed": False}
_lock = threading.Lock()


def qualifier_in(name_or_arn: str) -> str | None:
    """The qualifier written into a function name (``name:alias``) or ARN (``...:function:name:1``), if any."""
    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":")
        return parts[7] if len(parts) > 7 and parts[7] else None
    if ":" in name_or_arn:
        return name_or_arn.split(":", 1)[1] or None
    return None


def _key(entry: Any) -> str:
    return str(getattr(entry, _QUALIFIER_ATTR, LATEST))


def _target(backend: Any, function_name: str, qualifier: str | None) -> tuple[Any, str]:
    """The function's $LATEST object (which holds the list) and the qualifier the entry is kept under. Raises moto's
    ResourceNotFoundException when the function, version or alias does not exist, as AWS does."""
    backend.get_function(function_name, qualifier)
    key = qualifier or qualifier_in(function_name) or LATEST
    base = function_name.rsplit(":", 1)[0] if qualifier_in(function_name) else function_name
    latest = backend.get_function(base, None)
    return latest, key


def _find(latest: Any, key: str) -> Any | None:
    return next((entry for entry in latest.event_invoke_config if _key(entry) == key), None)


def settings_for(backend: Any, function_name: str, qualifier: str | None) -> dict[str, Any]:
    """The settings of ``qualifier`` (``$LATEST`` when None); {} when that qualifier has none (Lambda's defaults)."""
    latest = backend.get_function(function_name, None)
    entry = _find(latest, qualifier or LATEST)
    return dict(entry.config) if entry is not None else {}


def install() -> None:
    """Idempotent: makes moto's event invoke config operations honour the Qualifier."""
    with _lock:
        if _state["installed"]:
            return
        _state["installed"] = True
    from localcloud.patches import when_imported

    when_imported("moto.awslambda", _patch)  # applied when Lambda is first used: the cloud starts without it


def _patch() -> None:
    from moto.awslambda.exceptions import UnknownEventConfig
    from moto.awslambda.models import EventInvokeConfig, LambdaBackend
    from moto.awslambda.responses import LambdaResponse
    from moto.core.responses import ActionResult

    def put(self: Any, function_name: str, config: dict[str, Any], qualifier: str | None = None) -> dict[str, Any]:
        latest, key = _target(self, function_name, qualifier)
        entry = EventInvokeConfig(f"{latest.function_arn}:{key}", latest.last_modified, config)
        setattr(entry, _QUALIFIER_ATTR, key)
        latest.event_invoke_config[:] = [e for e in latest.event_invoke_config if _key(e) != key] + [entry]
        response: dict[str, Any] = entry.response()
        return response

    def update(self: Any, function_name: str, config: dict[str, Any], qualifier: str | None = None) -> dict[str, Any]:
        latest, key = _target(self, function_name, qualifier)
        existing = _find(latest, key)
        merged = {**existing.config, **config} if existing is not None else config
        return put(self, function_name, merged, qualifier)

    def get(self: Any, function_name: str, qualifier: str | None = None) -> dict[str, Any]:
        latest, key = _target(self, function_name, qualifier)
        entry = _find(latest, key)
        if entry is None:
            raise UnknownEventConfig(f"{latest.function_arn}:{key}")
        response: dict[str, Any] = entry.response()
        return response

    def delete(self: Any, function_name: str, qualifier: str | None = None) -> None:
        get(self, function_name, qualifier)
        latest, key = _target(self, function_name, qualifier)
        latest.event_invoke_config[:] = [e for e in latest.event_invoke_config if _key(e) != key]

    def list_all(self: Any, function_name: str) -> dict[str, Any]:
        latest = self.get_function(function_name, None)
        return {"FunctionEventInvokeConfigs": [e.response() for e in latest.event_invoke_config]}

    LambdaBackend.put_function_event_invoke_config = put  # type: ignore[method-assign]
    LambdaBackend.update_function_event_invoke_config = update  # type: ignore[method-assign]
    LambdaBackend.get_function_event_invoke_config = get  # type: ignore[method-assign]
    LambdaBackend.delete_function_event_invoke_config = delete  # type: ignore[method-assign]
    LambdaBackend.list_function_event_invoke_configs = list_all  # type: ignore[method-assign]

    def _name(response: Any, depth: int = 2) -> str:
        return unquote(response.path.rsplit("/", depth)[1])

    def _qualifier(response: Any) -> str | None:
        value: str | None = response.querystring.get("Qualifier", [None])[0]
        return value

    def put_response(self: Any) -> ActionResult:
        return ActionResult(
            self.backend.put_function_event_invoke_config(_name(self), self.json_body, _qualifier(self))
        )

    def get_response(self: Any) -> ActionResult:
        return ActionResult(self.backend.get_function_event_invoke_config(_name(self), _qualifier(self)))

    def delete_response(self: Any) -> tuple[int, dict[str, Any], str]:
        self.backend.delete_function_event_invoke_config(_name(self), _qualifier(self))
        return 204, {"status": 204}, json.dumps({})

    def update_response(self: Any) -> str:
        response = self.backend.update_function_event_invoke_config(_name(self), self.json_body, _qualifier(self))
        return json.dumps(response)

    def list_response(self: Any) -> str:
        return json.dumps(self.backend.list_function_event_invoke_configs(_name(self, 3)))

    LambdaResponse.put_function_event_invoke_config = put_response  # type: ignore[method-assign]
    LambdaResponse.get_function_event_invoke_config = get_response  # type: ignore[method-assign]
    LambdaResponse.delete_function_event_invoke_config = delete_response  # type: ignore[method-assign]
    LambdaResponse.update_function_event_invoke_config = update_response  # type: ignore[method-assign]
    LambdaResponse.list_function_event_invoke_configs = list_response  # type: ignore[method-assign]
