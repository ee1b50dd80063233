"""CloudFormation fill-ins for the local cloud: create what moto's CloudFormation skips, and refuse what nobody creates.

moto's CloudFormation builds resources from `CloudFormationModel` subclasses. It looks them up in a map built once,
lazily and cached (`moto.cloudformation.parsing.get_model_map`, an `lru_cache` over
`CloudFormationModel.__subclasses__()`: direct subclasses only, and only those imported before the first stack).
A type missing from the map is skipped with a warning and the stack still reports CREATE_COMPLETE, which hides the gap
until something at run time needs the resource.

`install()` does two things, idempotently:
1. It registers the fill-in models of `localcloud.cloudformation.fillins` in that cached map (and the two lookups
   beside it), so they are found whenever the map was built. Each one creates a real resource through the moto backend
   of its service (`cognitoidp_backends[account][region].create_user_pool(...)`), answers `Ref` and `Fn::GetAtt` as AWS documents,
   and updates or deletes the resource when the stack is updated or deleted. Two of moto's own models are replaced:
   AWS::ApiGateway::Method (it dropped authorizers and most of the integration) and AWS::ApiGateway::Deployment
   (its Ref returned an object instead of the deployment id).
2. It makes the deploy strict. CreateStack, UpdateStack and CreateChangeSet check the template's resource types before
   moto does anything; a type that is neither supported by moto nor filled in fails the call with a ValidationError
   naming every such type, as AWS does for types it does not recognise. Custom resources (`Custom::*`,
   `AWS::CloudFormation::CustomResource`) fail the same way: running their Lambda-backed providers is not built yet.
"""

from __future__ import annotations

import functools
import inspect
import json
import threading
from collections.abc import Callable
from typing import Any

import yaml
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import CloudFormationError, ValidationError
from moto.cloudformation.models import CloudFormationBackend, Stack

from localcloud import patches as _patches

from . import update_order
from .fillins import (
    apigateway,
    appconfig,
    awslambda,
    cdk,
    cloudwatch,
    codedeploy,
    cognito,
    dynamodb,
    ec2,
    elasticache,
    eventbridge,
    policies,
    rds,
    secrets,
)
from .fillins.base import FillIn

__all__ = ["install"]

FILL_INS: tuple[type[FillIn], ...] = (
    cognito.UserPool,
    cognito.UserPoolClient,
    cognito.UserPoolGroup,
    secrets.Secret,
    secrets.RotationSchedule,
    secrets.ResourcePolicy,
    policies.QueuePolicy,
    policies.BucketPolicy,
    apigateway.Deployment,
    apigateway.Method,
    apigateway.Stage,
    apigateway.Authorizer,
    apigateway.Account,
    apigateway.UsagePlan,
    apigateway.ApiKey,
    apigateway.UsagePlanKey,
    awslambda.Version,
    awslambda.Alias,
    awslambda.EventInvokeConfig,
    cloudwatch.Alarm,
    codedeploy.Application,
    codedeploy.DeploymentConfig,
    codedeploy.DeploymentGroup,
    eventbridge.Schedule,
    eventbridge.ScheduleGroup,
    eventbridge.Pipe,
    appconfig.Application,
    appconfig.Environment,
    appconfig.ConfigurationProfile,
    appconfig.HostedConfigurationVersion,
    appconfig.DeploymentStrategy,
    appconfig.Deployment,
    cdk.CdkMetadata,
    rds.DBCluster,
    rds.DBInstance,
    rds.SecretTargetAttachment,
    elasticache.ServerlessCache,
    dynamodb.GlobalTable,
)

CUSTOM_RESOURCE_TYPE = "AWS::CloudFormation::CustomResource"

_lock = threading.Lock()
_STRICT_MARK = "__marquee_strict_template__"
_OUTPUTS_MARK = "__marquee_outputs_synced__"
_CHANGE_SETS_MARK = "__marquee_change_sets_as_aws__"


def install() -> None:
    """Register the fill-ins with moto's CloudFormation and make unsupported resource types fail the deploy.

    Safe to call any number of times, before or after moto has built its model map.
    """
    with _lock:
        _register(FILL_INS)
        ec2.install()  # moto's RouteTable has no delete, so no stack with a VPC could be deleted
        _make_strict()
        _complete_stack_outputs()
        _change_sets_as_aws()
        update_order.install()  # updates in dependency order, removals last (CDK's currentVersion needs it)


# --- registration -------------------------------------------------------------------------------------------------


def _register(models: tuple[type[FillIn], ...]) -> None:
    model_list = parsing.get_model_list()
    model_map = parsing.get_model_map()
    name_map = parsing.get_name_type_map()
    # FillIn is itself a direct subclass of CloudFormationModel, so __subclasses__() lists it under type "".
    if FillIn in model_list:
        model_list.remove(FillIn)  # type: ignore[type-abstract]
    if model_map.get("") is FillIn:
        del model_map[""]
        name_map.pop("", None)
    for model in models:
        cfn_type = model.cloudformation_type()
        model_map[cfn_type] = model
        name_map[cfn_type] = model.cloudformation_name_type()
        # resource_name_property_from_type() walks the list first, so moto's own model must not shadow ours there.
        model_list[:] = [m for m in model_list if m is model or m.cloudformation_type() != cfn_type]
        if model not in model_list:
            model_list.append(model)


# --- strictness ---------------------------------------------------------------------------------------------------


def _supported_type(resource_type: str) -> bool:
    if resource_type.startswith("Custom::") or resource_type == CUSTOM_RESOURCE_TYPE:
        return False
    return resource_type in parsing.NULL_MODELS or resource_type in parsing.get_model_map()


def unsupported_types(template: dict[str, Any]) -> list[str]:
    """Every resource type in the template that the local cloud would not create, sorted and without repeats."""
    resources = template.get("Resources") or {}
    types = {resource.get("Type") for resource in resources.values() if isinstance(resource, dict)}
    return sorted(t for t in types if isinstance(t, str) and not _supported_type(t))


def _parse(template: str | dict[str, Any] | None) -> dict[str, Any] | None:
    if template is None or isinstance(template, dict):
        return template
    try:
        parsed = Stack.parse_template(template)
    except (yaml.YAMLError, json.JSONDecodeError):
        return None  # not a template at all: moto reports that itself
    return parsed if isinstance(parsed, dict) else None


def _validate_template(template: str | dict[str, Any] | None) -> None:
    """Raise CloudFormation's ValidationError if the template uses types the local cloud cannot create."""
    parsed = _parse(template)
    if not parsed:
        return
    missing = unsupported_types(parsed)
    if missing:
        raise ValidationError(
            message=(
                f"Template format error: Unrecognized resource types: [{', '.join(missing)}]. "
                "The local cloud creates no resource of these types: neither moto's CloudFormation nor Marquee's "
                "fill-ins (localcloud/cloudformation/resource_types.py) support them, and custom resources would need their "
                "Lambda-backed provider to run."
            )
        )


def _strict(method: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(method)

    @functools.wraps(method)
    def checked(*args: Any, **kwargs: Any) -> Any:
        _validate_template(signature.bind(*args, **kwargs).arguments.get("template"))
        return method(*args, **kwargs)

    setattr(checked, _STRICT_MARK, True)
    return checked


def _make_strict() -> None:
    """Check templates where they enter moto's backend: CreateStack, UpdateStack and CreateChangeSet.

    Checking at the entry means nothing is created before the failure, as with AWS's template validation. An
    ExecuteChangeSet cannot bring in a new template, so its change set was checked when it was created. Nested
    stacks go through create_stack and are checked too.
    """
    for name in ("create_stack", "update_stack", "create_change_set"):
        method = getattr(CloudFormationBackend, name)
        if not getattr(method, _STRICT_MARK, False):
            setattr(CloudFormationBackend, name, _strict(method))


# --- outputs and exports after change sets and updates --------------------------------------------------------------


def _sync_outputs_and_exports(backend: CloudFormationBackend, stack: Stack) -> None:
    stack._parse_template()
    stack.description = stack.template_dict.get("Description")
    stack.output_map = stack._create_output_map()
    others = {name: e for name, e in backend.exports.items() if e.exporting_stack_id != stack.stack_id}
    clashes = sorted({e.name for e in stack.exports} & set(others))
    if clashes:
        raise ValidationError(stack.stack_id, message=f"Export names must be unique across a given region: {clashes}")
    backend.exports = {**others, **{e.name: e for e in stack.exports}}


def _with_outputs(method: Callable[..., Any], find_stack: Callable[..., Stack]) -> Callable[..., Any]:
    @functools.wraps(method)
    def completed(backend: CloudFormationBackend, *args: Any, **kwargs: Any) -> Any:
        result = method(backend, *args, **kwargs)
        _sync_outputs_and_exports(backend, find_stack(backend, *args, **kwargs))
        return result

    setattr(completed, _OUTPUTS_MARK, True)
    return completed


def _change_set_stack(backend: CloudFormationBackend, change_set_name: str, *_: Any, **__: Any) -> Stack:
    return backend.stacks[backend.describe_change_set(change_set_name).stack_id]  # type: ignore[union-attr]


def _updated_stack(backend: CloudFormationBackend, name: str, *_: Any, **__: Any) -> Stack:
    return backend.get_stack(name)


def _complete_stack_outputs() -> None:
    """moto builds a stack's outputs once, from the template the stack was created with. A stack created through a
    change set (what `cdk deploy` does) is created with an empty template and gets its resources from
    ExecuteChangeSet, so it never had Outputs; and neither ExecuteChangeSet nor UpdateStack registers the stack's
    exports, so `Fn::ImportValue` in another stack failed. After both, the outputs and exports are rebuilt from the
    template now deployed."""
    for name, find_stack in (("execute_change_set", _change_set_stack), ("update_stack", _updated_stack)):
        method = getattr(CloudFormationBackend, name)
        if not getattr(method, _OUTPUTS_MARK, False):
            setattr(CloudFormationBackend, name, _with_outputs(method, find_stack))


# --- change sets ----------------------------------------------------------------------------------------------------


class ChangeSetNotFound(CloudFormationError):
    """AWS's answer to DescribeChangeSet or DeleteChangeSet of a change set that does not exist (HTTP 404)."""

    code = "ChangeSetNotFoundException"

    def __init__(self, name: str) -> None:
        super().__init__(f"ChangeSet [{name}] does not exist")


def _known_change_set(backend: CloudFormationBackend, name: str) -> bool:
    return name in backend.change_sets or any(cs.change_set_name == name for cs in backend.change_sets.values())


def _change_sets_as_aws() -> None:
    """Two gaps that broke a second `cdk deploy` of the same stack:
    - moto answers DescribeChangeSet of an unknown change set with "Stack with id ... does not exist" (a
      ValidationError), and DeleteChangeSet with a server error; AWS answers ChangeSetNotFound to the first and
      success to the second, and the CDK CLI relies on both: it deletes its previous change set whether or not there
      is one, then waits for ChangeSetNotFound;
    - AWS removes a stack's change sets once one of them is executed; moto keeps them.
    (tests/localcloud/test_cfn_fillins.py)"""
    if getattr(CloudFormationBackend.describe_change_set, _CHANGE_SETS_MARK, False):
        return
    describe, delete, execute = (
        CloudFormationBackend.describe_change_set,
        CloudFormationBackend.delete_change_set,
        CloudFormationBackend.execute_change_set,
    )

    @functools.wraps(describe)
    def describe_change_set(self: CloudFormationBackend, change_set_name: str, *args: Any, **kwargs: Any) -> Any:
        if not _known_change_set(self, change_set_name):
            raise ChangeSetNotFound(change_set_name)
        return describe(self, change_set_name, *args, **kwargs)

    @functools.wraps(delete)
    def delete_change_set(self: CloudFormationBackend, change_set_name: str, *args: Any, **kwargs: Any) -> Any:
        if not _known_change_set(self, change_set_name):
            return None  # AWS: nothing to delete is a success (its only error is InvalidChangeSetStatus)
        return delete(self, change_set_name, *args, **kwargs)

    @functools.wraps(execute)
    def execute_change_set(self: CloudFormationBackend, change_set_name: str, *args: Any, **kwargs: Any) -> Any:
        if not _known_change_set(self, change_set_name):
            raise ChangeSetNotFound(change_set_name)
        stack_id = describe(self, change_set_name).stack_id  # type: ignore[union-attr]
        result = execute(self, change_set_name, *args, **kwargs)
        for arn in [arn for arn, cs in self.change_sets.items() if cs.stack_id == stack_id]:
            del self.change_sets[arn]
        return result

    for function in (describe_change_set, delete_change_set, execute_change_set):
        setattr(function, _CHANGE_SETS_MARK, True)
    CloudFormationBackend.describe_change_set = describe_change_set  # type: ignore[method-assign]
    CloudFormationBackend.delete_change_set = delete_change_set  # type: ignore[method-assign]
    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]


# Last: a patch hook that fired while this module was half-imported (it imports moto.cloudformation) runs now.
_patches.run_deferred(__name__)
