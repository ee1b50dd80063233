"""The few places where moto's in-process behaviour is redirected to the local cloud's runtime pieces.

moto serves every AWS API. What it would do with Docker, or synchronously inside an API call, is taken over here:
- a Lambda invoke from inside moto (SNS, EventBridge, Step Functions in-process) runs on the runner;
- event source mappings stay registered in the Lambda API, but moto no longer invokes them inside SendMessage or
  PutItem: the pollers deliver them in the background, as AWS does;
- the dead-letter configuration of a function is kept (moto drops it), for the runner's async invokes.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.lambda_.runner import LambdaRunner

log = logging.getLogger("localcloud.moto_patches")
_state: dict[str, Any] = {"runner": None}


def set_runner(runner: LambdaRunner) -> None:
    _state["runner"] = runner


# Each applied when moto imports the module it patches (localcloud.patches.PATCHES).
def install_lambda() -> None:
    _patch_lambda_invoke()
    _patch_event_source_mappings()
    _patch_dead_letter_config()
    _patch_cfn_lambda_properties()


def install_secretsmanager() -> None:
    _patch_rotate_secret()


def install_stepfunctions() -> None:
    _enable_step_functions_execution()


def install_iam() -> None:
    _patch_policy_conditions()


def install_cloudformation() -> None:
    _patch_cfn_json_templates()
    _patch_delete_change_set()
    _patch_cfn_depends_on()
    _patch_cfn_refs()


def runner() -> LambdaRunner:
    current = _state["runner"]
    assert current is not None, "the local cloud's runner is not installed"
    return current  # type: ignore[no-any-return]


def _patch_lambda_invoke() -> None:
    from moto.awslambda.models import LambdaFunction

    def invoke(self: LambdaFunction, body: str, request_headers: Any, response_headers: Any) -> bytes:
        payload = body.encode("utf-8") if isinstance(body, str) else (body or b"{}")
        if (request_headers or {}).get("x-amz-invocation-type") == "Event":
            runner().invoke_async(self.function_arn, payload, region=self.region)
            return b""
        result = runner().invoke(self.function_arn, payload, region=self.region)
        if result.function_error:
            response_headers["x-amz-function-error"] = result.function_error
            if getattr(_rotation, "active", False):
                raise RotationStepFailed(result.payload.decode("utf-8", "replace"))
        return result.payload

    LambdaFunction.invoke = invoke  # type: ignore[method-assign]


class RotationStepFailed(Exception):
    """A rotation function's step failed: Secrets Manager stops the rotation there."""


_rotation = threading.local()


def _patch_rotate_secret() -> None:
    """RotateSecret as AWS runs it:
    - without RotationLambdaARN it uses the function already configured (moto 5.2.5 forgets it and just promotes an
      empty new version to AWSCURRENT, so callers silently lost their key);
    - a step that fails stops the rotation: AWSCURRENT stays where it was and the new version keeps AWSPENDING (moto
      ignores the function's error and promotes the new version anyway);
    - a finished rotation clears AWSPENDING, so the next rotation can start.
    """
    from moto.secretsmanager.models import SecretsManagerBackend

    original = SecretsManagerBackend.rotate_secret

    def rotate_secret(self: SecretsManagerBackend, secret_id: str, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("rotation_lambda_arn") and self._is_valid_identifier(secret_id):
            configured = getattr(self.secrets[secret_id], "rotation_lambda_arn", "")
            if configured:
                kwargs["rotation_lambda_arn"] = configured
        _rotation.active = True
        try:
            result = original(self, secret_id, *args, **kwargs)
            # A finished rotation leaves no AWSPENDING label behind (AWS clears it); moto keeps it on the new
            # AWSCURRENT version, and then refuses the next rotation as "still in progress".
            for version in self.secrets[secret_id].versions.values():  # type: ignore[union-attr]
                stages = version.get("version_stages", [])
                if "AWSCURRENT" in stages and "AWSPENDING" in stages:
                    stages.remove("AWSPENDING")
            return result
        except RotationStepFailed as exc:
            log.warning("rotation of %s failed at a step; AWSCURRENT unchanged: %s", secret_id, str(exc)[:500])
            return self.secrets[secret_id].to_short_dict()  # type: ignore[no-any-return,union-attr]
        finally:
            _rotation.active = False

    SecretsManagerBackend.rotate_secret = rotate_secret  # type: ignore[method-assign]


def _patch_event_source_mappings() -> None:
    """Keep ESMs in the Lambda API but out of the queue and table objects, which would invoke synchronously."""
    from moto.awslambda.models import LambdaBackend

    original = LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: LambdaBackend, spec: dict[str, Any]) -> Any:
        esm = original(self, spec)
        from moto.dynamodb.models import dynamodb_backends
        from moto.sqs.models import sqs_backends

        for queue in sqs_backends[self.account_id][self.region_name].queues.values():
            queue.lambda_event_source_mappings.pop(esm.function_arn, None)
        for table in dynamodb_backends[self.account_id][self.region_name].tables.values():
            table.lambda_event_source_mappings.pop(esm.function_arn, None)
        return esm

    LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]


def _patch_dead_letter_config() -> None:
    from moto.awslambda.models import LambdaFunction

    original_init = LambdaFunction.__init__
    original_update = LambdaFunction.update_configuration

    def __init__(self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self.dead_letter_config = spec.get("DeadLetterConfig") or {}  # type: ignore[attr-defined]

    def update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> Any:
        if "DeadLetterConfig" in config_updates:
            self.dead_letter_config = config_updates["DeadLetterConfig"] or {}  # type: ignore[attr-defined]
        return original_update(self, config_updates)

    LambdaFunction.__init__ = __init__  # type: ignore[method-assign]
    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]


def _enable_step_functions_execution() -> None:
    """moto's own ASL interpreter runs executions; its Lambda tasks reach the runner through the Invoke API."""
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    # With execution on, moto's API serves the interpreter's backend, but its CloudFormation model still wrote to the
    # plain one: state machines deployed by a stack were invisible. One backend for both.
    import moto.stepfunctions.models as sfn_models
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    sfn_models.stepfunctions_backends = stepfunctions_parser_backends  # type: ignore[assignment]


def _patch_cfn_json_templates() -> None:
    """A JSON template (what the CDK synthesizes) is read as JSON, not by PyYAML's pure-Python loader.

    moto parsed every template with ``yaml.load(..., Loader=yaml.Loader)`` first, JSON being YAML: three quarters of a
    CreateStack's time for a small stack, more for the CDK's large ones, once per CreateStack, change set and update
    (and once more for the strict-types check). JSON's answer is the same dict; anything that is not a JSON object
    still goes through moto's YAML path, tags (``!Ref``) and all.
    """
    from moto.cloudformation.models import ChangeSet, Stack

    yaml_parse = Stack.parse_template

    def parse_template(template: str) -> dict[str, Any]:
        if isinstance(template, str) and template.lstrip().startswith("{"):
            try:
                parsed = json.loads(template)
            except ValueError:
                pass
            else:
                if isinstance(parsed, dict):
                    return parsed
        return yaml_parse(template)  # type: ignore[no-any-return]

    def change_set_parse_template(self: ChangeSet) -> None:
        self.template_dict = parse_template(self.template)

    Stack.parse_template = staticmethod(parse_template)  # type: ignore[method-assign,assignment]
    ChangeSet._parse_template = change_set_parse_template  # type: ignore[method-assign]


def _patch_delete_change_set() -> None:
    """AWS: DeleteChangeSet succeeds while the stack exists, even if the change set does not (the CDK CLI relies on
    it before every deploy). moto 5.2.5 fails with an UnboundLocalError instead."""
    from moto.cloudformation.models import CloudFormationBackend

    original = CloudFormationBackend.delete_change_set

    def delete_change_set(self: CloudFormationBackend, change_set_name: str) -> None:
        known = change_set_name in self.change_sets or any(
            cs.change_set_name == change_set_name for cs in self.change_sets.values()
        )
        if known:
            original(self, change_set_name)

    CloudFormationBackend.delete_change_set = delete_change_set  # type: ignore[method-assign]


def _patch_policy_conditions() -> None:
    """IAM policy evaluation, three corrections:
    - the `Bool` condition operator is evaluated (moto skips unknown operators, so conditional Denies always applied);
    - a statement whose Condition does not match does not apply (NEUTRAL); moto 5.2.5 answers DENIED whatever the Effect;
    - requests to the local cloud arrive over loopback, which it treats as a secure transport: `aws:SecureTransport`
      is "true", as for every HTTPS request on AWS. Without it the CDK bootstrap bucket's
      `Deny unless aws:SecureTransport` statement refused every asset upload."""
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult
    from moto.iam.policy_conditions import CONDITION_OPERATIONS

    def bool_operation(expected: list[str] | str, actual: str) -> bool:
        options = [expected] if isinstance(expected, str) else expected
        return actual.lower() in [str(o).lower() for o in options]

    CONDITION_OPERATIONS.setdefault("Bool", bool_operation)  # type: ignore[arg-type]  # moto ignores operators it lacks: the statement applied
    original = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(
        self: IAMPolicyStatement,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> PermissionResult:
        values = {"aws:SecureTransport": "true", **(incoming_condition_values or {})}
        if self._statement.get("Condition") and not self._check_conditions(values):
            return PermissionResult.NEUTRAL
        return original(self, action, resource, principal, values)

    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]


def _patch_cfn_depends_on() -> None:
    """CloudFormation creates a resource's DependsOn targets first. moto orders its loop by DependsOn but creates a
    resource early, ignoring its DependsOn, when another resource references it (an API Gateway Stage's Ref to its
    Deployment created the Deployment before the Methods it depends on)."""
    from moto.cloudformation.parsing import ResourceMap

    original = ResourceMap.__getitem__

    def getitem(self: ResourceMap, key: str) -> Any:
        resource_json = self._resource_json_map.get(key) if key not in self._parsed_resources else None
        if isinstance(resource_json, dict) and "DependsOn" in resource_json:
            depends_on = resource_json["DependsOn"]
            for dependency in [depends_on] if isinstance(depends_on, str) else depends_on:
                if dependency in self._resource_json_map and dependency not in self._parsed_resources:
                    getitem(self, dependency)
        return original(self, key)

    ResourceMap.__getitem__ = getitem  # type: ignore[method-assign]


def _patch_cfn_lambda_properties() -> None:
    """moto's CloudFormation Lambda model drops Layers (and other properties); the runner needs the layers."""
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(
        cls: type,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        fn = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        properties = cloudformation_json.get("Properties", {})
        if properties.get("Layers"):  # a Ref to a LayerVersion resolves to moto's model object, not its ARN
            fn.layers = fn._get_layers_data([getattr(layer, "arn", layer) for layer in properties["Layers"]])
        if "DeadLetterConfig" in properties:
            fn.dead_letter_config = properties["DeadLetterConfig"]
        return fn

    LambdaFunction.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)  # type: ignore[method-assign,assignment]


def _patch_cfn_refs() -> None:
    """`Ref` of AWS::Events::EventBus is the bus name on AWS; moto 5.2.5 returns its model object (rendered as
    '<moto.events.models.EventBus object ...>' in outputs and environment variables)."""
    from moto.events.models import EventBus

    if "physical_resource_id" not in EventBus.__dict__:
        EventBus.physical_resource_id = property(lambda self: self.name)  # type: ignore[attr-defined]


def dead_letter_target(function_arn: str) -> str | None:
    from moto.awslambda.models import lambda_backends

    parts = function_arn.split(":")
    fn = lambda_backends[parts[4]][parts[3]].get_function(parts[6], None)
    target: str | None = (getattr(fn, "dead_letter_config", {}) or {}).get("TargetArn")
    return target


def to_json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))
