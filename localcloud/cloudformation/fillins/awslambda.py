"""AWS::Lambda::Version, ::Alias (with the CodeDeployLambdaAliasUpdate update policy) and ::EventInvokeConfig, created
in moto's lambda backend."""

from __future__ import annotations

import json
from typing import Any

from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda.utils import get_backend
from moto.cloudformation.exceptions import ValidationError

from .base import Context, FillIn, as_int, require


def _backend(ctx: Context) -> Any:
    return get_backend(ctx.account_id, ctx.region_name)


def _routing_config(props: dict[str, Any]) -> dict[str, Any] | None:
    """CloudFormation lists weights as [{FunctionVersion, FunctionWeight}]; the API uses a {version: weight} map."""
    weights = (props.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    if not weights:
        return None
    return {"AdditionalVersionWeights": {str(w["FunctionVersion"]): float(w["FunctionWeight"]) for w in weights}}


class Version(FillIn):
    """Replaces moto's AWS::Lambda::Version model, which has no physical id (Ref returned the model object) and no
    attributes, so CDK's `currentVersion` (an Alias on `Fn::GetAtt [Version, Version]`) could not resolve."""

    CFN_TYPE = "AWS::Lambda::Version"
    ATTRIBUTES = frozenset({"Version", "FunctionArn"})

    def __init__(self, ctx: Context, arn: str, function_name: str, version: str) -> None:
        super().__init__(ctx, arn, {"Version": version, "FunctionArn": arn})
        self.function_name = function_name
        self.version = version

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> Version:
        backend = _backend(ctx)
        function_name = backend.get_function(require(props, "FunctionName", cls.CFN_TYPE)).function_name
        published = backend.publish_version(function_name, props.get("Description") or "")
        # Ref is the version's qualified ARN, GetAtt Version its number.
        return cls(ctx, published.function_arn, function_name, str(published.version))

    def remove(self) -> None:
        try:
            _backend(self.ctx).delete_function(self.function_name, self.version)
        except UnknownFunctionException:
            return


class Alias(FillIn):
    CFN_TYPE = "AWS::Lambda::Alias"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = frozenset({"AliasArn"})

    def __init__(self, ctx: Context, arn: str, name: str, function_name: str) -> None:
        super().__init__(ctx, arn, {"AliasArn": arn})
        self.name = name
        self.function_name = function_name
        self.update_policy: dict[str, Any] = {}

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> Alias:
        backend = _backend(ctx)
        # FunctionName may be a name or an ARN; the alias ARN is built from the function's real name.
        function_name = backend.get_function(require(props, "FunctionName", cls.CFN_TYPE)).function_name
        name = require(props, "Name", cls.CFN_TYPE)
        alias = backend.create_alias(
            name=name,
            function_name=function_name,
            function_version=str(require(props, "FunctionVersion", cls.CFN_TYPE)),
            description=props.get("Description") or "",
            routing_config=_routing_config(props),
        )
        return cls(ctx, alias.arn, name, function_name)

    def remove(self) -> None:
        try:
            _backend(self.ctx).delete_alias(self.name, self.function_name)
        except UnknownFunctionException:
            return  # the function went first; its aliases went with it

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> FillIn:
        """The resource's UpdatePolicy is read here: CodeDeployLambdaAliasUpdate shifts a new FunctionVersion."""
        if isinstance(original_resource, cls):
            original_resource.update_policy = dict(cloudformation_json.get("UpdatePolicy") or {})
        return super().update_from_cloudformation_json(
            original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        backend = _backend(self.ctx)
        function_name = backend.get_function(require(props, "FunctionName", self.CFN_TYPE)).function_name
        if props.get("Name") != self.name or function_name != self.function_name:
            return super().update(props, new_resource_name)
        policy = self.update_policy.get("CodeDeployLambdaAliasUpdate")
        current = str(backend.get_alias(self.name, self.function_name).function_version)
        target = str(props.get("FunctionVersion"))
        if policy and target != current:
            _deploy_through_codedeploy(self.ctx, policy, self.function_name, self.name, current, target)
        backend.update_alias(
            self.name,
            self.function_name,
            str(props.get("FunctionVersion")),
            props.get("Description") or "",
            _routing_config(props),
        )
        return self


def _deploy_through_codedeploy(
    ctx: Context, policy: dict[str, Any], function_name: str, alias: str, current: str, target: str
) -> None:
    """What CloudFormation does for an alias with the CodeDeployLambdaAliasUpdate update policy (CloudFormation UG,
    "UpdatePolicy attribute"): instead of moving the alias, it creates a deployment in the named application and
    group, from the alias's version to the new one, and the update waits for it. A deployment that does not succeed
    fails the update with its error; the alias is then where the deployment (or its rollback) left it."""
    from moto.codedeploy.models import codedeploy_backends

    from localcloud.codedeploy import patches
    from localcloud.codedeploy.deployments import SHIFTER

    patches.install()
    backend = codedeploy_backends[ctx.account_id][ctx.region_name]
    properties = {"Name": function_name, "Alias": alias, "CurrentVersion": current, "TargetVersion": target}
    appspec = {
        "version": 0.0,
        "Resources": [{function_name: {"Type": "AWS::Lambda::Function", "Properties": properties}}],
    }
    hooks = [{k: policy[k]} for k in ("BeforeAllowTrafficHook", "AfterAllowTrafficHook") if policy.get(k)]
    if hooks:
        appspec["Hooks"] = [{k.removesuffix("Hook"): v for k, v in h.items()} for h in hooks]
    deployment_id = backend.create_deployment(
        application_name=require(policy, "ApplicationName", "CodeDeployLambdaAliasUpdate"),
        deployment_group_name=require(policy, "DeploymentGroupName", "CodeDeployLambdaAliasUpdate"),
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(appspec)}},
    )
    deployment = backend.get_deployment(deployment_id)
    status = SHIFTER.wait(deployment, timeout=24 * 3600)
    if status != "Succeeded":
        error = getattr(deployment, "error_information", {}) or {}
        raise ValidationError(
            message=f"CodeDeploy deployment {deployment_id} of {function_name}:{alias} to version {target} ended "
            f"{status}: {error.get('code', '')} {error.get('message', '')}".strip()
        )


class EventInvokeConfig(FillIn):
    """PutFunctionEventInvokeConfig: retries, maximum event age and destinations for asynchronous invokes.

    moto keeps one configuration per function whatever the Qualifier; the Lambda runner reads it from there.
    """

    CFN_TYPE = "AWS::Lambda::EventInvokeConfig"

    def __init__(self, ctx: Context, function_name: str, qualifier: str) -> None:
        super().__init__(ctx, f"{function_name}:{qualifier}")
        self.function_name = function_name

    @staticmethod
    def _config(props: dict[str, Any]) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if props.get("MaximumRetryAttempts") is not None:
            config["MaximumRetryAttempts"] = as_int(props["MaximumRetryAttempts"])
        if props.get("MaximumEventAgeInSeconds") is not None:
            config["MaximumEventAgeInSeconds"] = as_int(props["MaximumEventAgeInSeconds"])
        if props.get("DestinationConfig"):
            config["DestinationConfig"] = props["DestinationConfig"]
        return config

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> EventInvokeConfig:
        backend = _backend(ctx)
        function_name = backend.get_function(require(props, "FunctionName", cls.CFN_TYPE)).function_name
        qualifier = str(require(props, "Qualifier", cls.CFN_TYPE))
        fn = backend.get_function(function_name)
        fn.event_invoke_config = []  # one configuration per function: Put replaces it
        backend.put_function_event_invoke_config(function_name, cls._config(props))
        return cls(ctx, function_name, qualifier)

    def remove(self) -> None:
        try:
            fn = _backend(self.ctx).get_function(self.function_name)
        except UnknownFunctionException:
            return
        fn.event_invoke_config = []

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        self.remove()
        return type(self).create(self.ctx, props)
