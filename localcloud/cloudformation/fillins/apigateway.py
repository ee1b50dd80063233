"""API Gateway (REST API, v1) fill-ins, created in moto's apigateway backend.

Also replaces two of moto's own models:
- AWS::ApiGateway::Method. moto's model keeps only HttpMethod, AuthorizationType, ApiKeyRequired and an integration's
  Type/Uri/IntegrationHttpMethod; it drops AuthorizerId, AuthorizationScopes, request parameters and models, method
  responses and the rest of the integration, and it fails with a KeyError on a MOCK integration (no Uri), which is what
  CDK generates for CORS preflight methods. The front door reads `authorizationType`, `authorizerId` and the
  integration from the backend, so the replacement passes every property through.
- AWS::ApiGateway::Deployment. moto's model has no physical id, so `Ref` on a deployment returned the model object
  instead of the deployment id, and a Stage's DeploymentId could not be resolved. It also could not be deleted.
"""

from __future__ import annotations

from typing import Any

from moto.apigateway.models import apigateway_backends

from .base import Context, FillIn, as_bool, as_int, lower_first, random_name_suffix, require, tags_to_dict


def _backend(ctx: Context) -> Any:
    return apigateway_backends[ctx.account_id][ctx.region_name]


class Deployment(FillIn):
    CFN_TYPE = "AWS::ApiGateway::Deployment"

    def __init__(self, ctx: Context, physical_id: str, rest_api_id: str) -> None:
        super().__init__(ctx, physical_id, {"DeploymentId": physical_id})
        self.rest_api_id = rest_api_id

    ATTRIBUTES = frozenset({"DeploymentId"})

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> Deployment:
        rest_api_id = require(props, "RestApiId", cls.CFN_TYPE)
        stage_description = props.get("StageDescription") or {}
        deployment = _backend(ctx).create_deployment(
            function_id=rest_api_id,
            name=props.get("StageName"),
            description=props.get("Description") or "",
            stage_variables=stage_description.get("Variables"),
        )
        return cls(ctx, deployment.id, rest_api_id)

    def remove(self) -> None:
        api = _backend(self.ctx).apis.get(self.rest_api_id)
        if api is None or self.physical_resource_id not in api.deployments:
            return
        deployment = api.deployments[self.physical_resource_id]
        if deployment.stage_name and deployment.stage_name in api.stages:
            # The stage was created by this deployment (StageName); on AWS it goes with it.
            api.stages.pop(deployment.stage_name)
        api.deployments.pop(self.physical_resource_id)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        if props.get("RestApiId") == self.rest_api_id and set(props) <= {"RestApiId", "Description"}:
            api = _backend(self.ctx).get_rest_api(self.rest_api_id)
            api.deployments[self.physical_resource_id].description = props.get("Description") or ""
            return self
        return super().update(props, new_resource_name)


def _method_settings_key(setting: dict[str, Any]) -> str:
    """Stage.methodSettings keys look like `*/*` or `~1pets/GET` (resource path with `/` escaped as `~1`)."""
    path = str(setting.get("ResourcePath") or "/*")
    method = str(setting.get("HttpMethod") or "*")
    path = "*" if path in ("/*", "*") else path.replace("/", "~1")
    return f"{path}/{method}"


_METHOD_SETTING_FIELDS = {
    "LoggingLevel": "loggingLevel",
    "MetricsEnabled": "metricsEnabled",
    "DataTraceEnabled": "dataTraceEnabled",
    "ThrottlingBurstLimit": "throttlingBurstLimit",
    "ThrottlingRateLimit": "throttlingRateLimit",
    "CachingEnabled": "cachingEnabled",
    "CacheTtlInSeconds": "cacheTtlInSeconds",
    "CacheDataEncrypted": "cacheDataEncrypted",
}


class Stage(FillIn):
    CFN_TYPE = "AWS::ApiGateway::Stage"
    NAME_PROPERTY = "StageName"

    def __init__(self, ctx: Context, physical_id: str, rest_api_id: str) -> None:
        super().__init__(ctx, physical_id)
        self.rest_api_id = rest_api_id

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> Stage:
        rest_api_id = require(props, "RestApiId", cls.CFN_TYPE)
        name = props.get("StageName") or ctx.resource_name
        stage = _backend(ctx).create_stage(
            function_id=rest_api_id,
            stage_name=name,
            deploymentId=require(props, "DeploymentId", cls.CFN_TYPE),
            variables=props.get("Variables") or {},
            description=props.get("Description") or "",
            cacheClusterEnabled=as_bool(props.get("CacheClusterEnabled")),
            cacheClusterSize=props.get("CacheClusterSize"),
            tags=tags_to_dict(props.get("Tags")) or None,
            tracing_enabled=as_bool(props.get("TracingEnabled")),
        )
        cls._apply_settings(stage, props)
        return cls(ctx, name, rest_api_id)

    @staticmethod
    def _apply_settings(stage: Any, props: dict[str, Any]) -> None:
        stage.method_settings = {}
        for setting in props.get("MethodSettings") or []:
            values = stage._get_default_method_settings()
            for cfn_key, api_key in _METHOD_SETTING_FIELDS.items():
                if cfn_key in setting:
                    values[api_key] = setting[cfn_key]
            stage.method_settings[_method_settings_key(setting)] = values
        access_log = props.get("AccessLogSetting")
        stage.access_log_settings = (
            {"destinationArn": access_log.get("DestinationArn"), "format": access_log.get("Format")}
            if access_log
            else None
        )

    def remove(self) -> None:
        api = _backend(self.ctx).apis.get(self.rest_api_id)
        if api is not None:
            api.stages.pop(self.physical_resource_id, None)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        """A new deployment, variables or settings update the stage in place; a new name or API replaces it."""
        name = props.get("StageName") or self.physical_resource_id
        if props.get("RestApiId") != self.rest_api_id or name != self.physical_resource_id:
            return super().update(props, new_resource_name)
        stage = _backend(self.ctx).get_stage(self.rest_api_id, self.physical_resource_id)
        stage.deployment_id = require(props, "DeploymentId", self.CFN_TYPE)
        stage.variables = props.get("Variables") or {}
        stage.description = props.get("Description") or ""
        stage.tracing_enabled = as_bool(props.get("TracingEnabled"))
        self._apply_settings(stage, props)
        return self


class Authorizer(FillIn):
    CFN_TYPE = "AWS::ApiGateway::Authorizer"
    ATTRIBUTES = frozenset({"AuthorizerId"})

    def __init__(self, ctx: Context, physical_id: str, rest_api_id: str) -> None:
        super().__init__(ctx, physical_id, {"AuthorizerId": physical_id})
        self.rest_api_id = rest_api_id

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> Authorizer:
        rest_api_id = require(props, "RestApiId", cls.CFN_TYPE)
        authorizer = _backend(ctx).create_authorizer(
            restapi_id=rest_api_id,
            name=require(props, "Name", cls.CFN_TYPE),
            authorizer_type=require(props, "Type", cls.CFN_TYPE),
        )
        cls._apply(authorizer, props)
        return cls(ctx, authorizer.id, rest_api_id)

    @staticmethod
    def _apply(authorizer: Any, props: dict[str, Any]) -> None:
        # Set on the model directly: moto's create_authorizer misspells identity_validation_expression and drops it.
        authorizer.name = props.get("Name")
        authorizer.type = props.get("Type")
        authorizer.provider_arns = props.get("ProviderARNs")
        authorizer.auth_type = props.get("AuthType")
        authorizer.authorizer_uri = props.get("AuthorizerUri")
        authorizer.authorizer_credentials = props.get("AuthorizerCredentials")
        authorizer.identity_source = props.get("IdentitySource")
        authorizer.identity_validation_expression = props.get("IdentityValidationExpression")
        ttl = as_int(props.get("AuthorizerResultTtlInSeconds"))
        authorizer.authorizer_result_ttl = 300 if ttl is None else ttl

    def remove(self) -> None:
        api = _backend(self.ctx).apis.get(self.rest_api_id)
        if api is not None:
            api.authorizers.pop(self.physical_resource_id, None)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        if props.get("RestApiId") != self.rest_api_id:
            return super().update(props, new_resource_name)
        self._apply(_backend(self.ctx).get_authorizer(self.rest_api_id, self.physical_resource_id), props)
        return self


class Method(FillIn):
    CFN_TYPE = "AWS::ApiGateway::Method"

    def __init__(self, ctx: Context, rest_api_id: str, resource_id: str, http_method: str) -> None:
        # Ref on a method is its primary identifier, RestApiId|ResourceId|HttpMethod.
        super().__init__(ctx, f"{rest_api_id}|{resource_id}|{http_method}")
        self.rest_api_id = rest_api_id
        self.resource_id = resource_id
        self.http_method = http_method

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> Method:
        rest_api_id = require(props, "RestApiId", cls.CFN_TYPE)
        resource_id = require(props, "ResourceId", cls.CFN_TYPE)
        http_method = str(require(props, "HttpMethod", cls.CFN_TYPE)).upper()
        cls._put(ctx, rest_api_id, resource_id, http_method, props)
        return cls(ctx, rest_api_id, resource_id, http_method)

    @staticmethod
    def _put(ctx: Context, rest_api_id: str, resource_id: str, http_method: str, props: dict[str, Any]) -> None:
        backend = _backend(ctx)
        backend.put_method(
            function_id=rest_api_id,
            resource_id=resource_id,
            method_type=http_method,
            authorization_type=props.get("AuthorizationType") or "NONE",
            api_key_required=as_bool(props.get("ApiKeyRequired")),
            request_parameters=props.get("RequestParameters"),
            request_models=props.get("RequestModels"),
            operation_name=props.get("OperationName"),
            authorizer_id=props.get("AuthorizerId"),
            authorization_scopes=props.get("AuthorizationScopes"),
            request_validator_id=props.get("RequestValidatorId"),
        )
        for response in props.get("MethodResponses") or []:
            backend.put_method_response(
                rest_api_id,
                resource_id,
                http_method,
                str(response["StatusCode"]),
                response.get("ResponseModels"),
                response.get("ResponseParameters"),
            )
        integration = props.get("Integration")
        if not integration:
            return
        created = backend.put_integration(
            function_id=rest_api_id,
            resource_id=resource_id,
            method_type=http_method,
            integration_type=require(integration, "Type", "AWS::ApiGateway::Method.Integration"),
            uri=integration.get("Uri"),
            integration_method=integration.get("IntegrationHttpMethod"),
            credentials=integration.get("Credentials"),
            request_templates=integration.get("RequestTemplates"),
            passthrough_behavior=integration.get("PassthroughBehavior"),
            tls_config=lower_first(integration.get("TlsConfig")),
            cache_namespace=integration.get("CacheNamespace"),
            timeout_in_millis=integration.get("TimeoutInMillis"),
            request_parameters=integration.get("RequestParameters"),
            content_handling=integration.get("ContentHandling"),
            connection_type=integration.get("ConnectionType"),
        )
        created.cache_key_parameters = list(integration.get("CacheKeyParameters") or [])
        for response in integration.get("IntegrationResponses") or []:
            backend.put_integration_response(
                rest_api_id,
                resource_id,
                http_method,
                str(response["StatusCode"]),
                response.get("SelectionPattern"),
                response.get("ResponseTemplates"),
                response.get("ResponseParameters"),
                response.get("ContentHandling"),
            )

    def remove(self) -> None:
        api = _backend(self.ctx).apis.get(self.rest_api_id)
        if api is not None and self.resource_id in api.resources:
            api.resources[self.resource_id].delete_method(self.http_method)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        self.remove()
        return type(self).create(self.ctx, props)


class Account(FillIn):
    """The account-wide CloudWatch Logs role. Recorded with UpdateAccount; deleting the resource leaves the
    account setting as it is, as on AWS."""

    CFN_TYPE = "AWS::ApiGateway::Account"
    ATTRIBUTES = frozenset({"Id"})

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> Account:
        cls._record(ctx, props)
        physical_id = f"{ctx.stack_name[:5]}-{ctx.logical_id[:5]}-{random_name_suffix()}".lower()
        return cls(ctx, physical_id, {"Id": physical_id})

    @staticmethod
    def _record(ctx: Context, props: dict[str, Any]) -> None:
        if props.get("CloudWatchRoleArn"):
            _backend(ctx).update_account(
                [{"op": "replace", "path": "/cloudwatchRoleArn", "value": props["CloudWatchRoleArn"]}]
            )

    def remove(self) -> None:
        return None

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        self._record(self.ctx, props)
        return self


def _usage_plan_payload(props: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": props.get("Description"),
        "apiStages": lower_first(props.get("ApiStages") or []),
        "throttle": lower_first(props.get("Throttle") or {}),
        "quota": lower_first(props.get("Quota") or {}),
        "tags": tags_to_dict(props.get("Tags")) or None,
    }


class UsagePlan(FillIn):
    CFN_TYPE = "AWS::ApiGateway::UsagePlan"
    NAME_PROPERTY = "UsagePlanName"
    ATTRIBUTES = frozenset({"Id"})

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> UsagePlan:
        name = props.get("UsagePlanName") or ctx.resource_name
        plan = _backend(ctx).create_usage_plan(_usage_plan_payload(props, name))
        return cls(ctx, plan.id, {"Id": plan.id})

    def remove(self) -> None:
        backend = _backend(self.ctx)
        backend.usage_plans.pop(self.physical_resource_id, None)
        backend.usage_plan_keys.pop(self.physical_resource_id, None)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        plan = _backend(self.ctx).get_usage_plan(self.physical_resource_id)
        payload = _usage_plan_payload(props, props.get("UsagePlanName") or plan.name)
        plan.name = payload["name"]
        plan.description = payload["description"]
        plan.api_stages = payload["apiStages"]
        plan.throttle = payload["throttle"]
        plan.quota = payload["quota"]
        return self


class ApiKey(FillIn):
    CFN_TYPE = "AWS::ApiGateway::ApiKey"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = frozenset({"APIKeyId"})

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> ApiKey:
        payload: dict[str, Any] = {
            "name": props.get("Name") or ctx.resource_name,
            "description": props.get("Description"),
            "enabled": as_bool(props.get("Enabled")),
            "generateDistinctId": as_bool(props.get("GenerateDistinctId")),
            "stageKeys": lower_first(props.get("StageKeys") or []),
            "customerId": props.get("CustomerId"),
            "tags": tags_to_dict(props.get("Tags")) or None,
        }
        if props.get("Value"):
            payload["value"] = props["Value"]
        key = _backend(ctx).create_api_key(payload)
        return cls(ctx, key.id, {"APIKeyId": key.id})

    def remove(self) -> None:
        backend = _backend(self.ctx)
        backend.keys.pop(self.physical_resource_id, None)
        for plan_keys in backend.usage_plan_keys.values():
            plan_keys.pop(self.physical_resource_id, None)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        """Name, Value and GenerateDistinctId replace the key; the rest updates in place."""
        key = _backend(self.ctx).get_api_key(self.physical_resource_id)
        if (props.get("Value") and props["Value"] != key.value) or (props.get("Name") and props["Name"] != key.name):
            return super().update(props, new_resource_name)
        key.description = props.get("Description")
        key.enabled = as_bool(props.get("Enabled"))
        key.customer_id = props.get("CustomerId")
        key.stage_keys = lower_first(props.get("StageKeys") or [])
        return self


class UsagePlanKey(FillIn):
    CFN_TYPE = "AWS::ApiGateway::UsagePlanKey"
    ATTRIBUTES = frozenset({"Id"})

    def __init__(self, ctx: Context, key_id: str, usage_plan_id: str) -> None:
        super().__init__(ctx, key_id, {"Id": key_id})
        self.usage_plan_id = usage_plan_id

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> UsagePlanKey:
        usage_plan_id = require(props, "UsagePlanId", cls.CFN_TYPE)
        backend = _backend(ctx)
        backend.get_usage_plan(usage_plan_id)  # fails the resource if the plan does not exist, as on AWS
        key = backend.create_usage_plan_key(
            usage_plan_id,
            {"keyId": require(props, "KeyId", cls.CFN_TYPE), "keyType": require(props, "KeyType", cls.CFN_TYPE)},
        )
        return cls(ctx, key.id, usage_plan_id)

    def remove(self) -> None:
        _backend(self.ctx).usage_plan_keys.get(self.usage_plan_id, {}).pop(self.physical_resource_id, None)
