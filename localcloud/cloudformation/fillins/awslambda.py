"""AWS::Lambda::Alias and AWS::Lambda::EventInvokeConfig, created in moto's lambda backend."""

from __future__ import annotations

from typing import Any

from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda.utils import get_backend

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

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        backend = _backend(self.ctx)
        function_name = backend.get_function(require(props, "FunctionName", self.CFN_TYPE)).function_name
        if props.get("Name") != self.name or function_name != self.function_name:
            return super().update(props, new_resource_name)
        backend.update_alias(
            self.name,
            self.function_name,
            str(props.get("FunctionVersion")),
            props.get("Description") or "",
            _routing_config(props),
        )
        return self


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
