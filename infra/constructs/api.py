"""The public API: one REST API (v1: LocalStack's free tier has no HTTP APIs), one stage, one Cognito authorizer.

Every function behind it reads the feature flags (``use_flags``): the kernel's maintenance mode
(marquee.http.maintenance) asks the ``maintenance_mode`` flag before every route, so any service can be switched to
503 at run time (`marquee maintenance on`), with no deploy. For a service whose function cannot run at all, the
context value ``marquee:mockServices`` (comma-separated service names) deploys its routes as MOCK integrations that
answer the same 503 problem, with no function behind them.
"""

from __future__ import annotations

import json
from typing import Any

import jsii
from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IValidation

from infra import constants
from infra.constructs.feature_flags import FeatureFlags
from infra.constructs.function import service_of
from infra.nag import Waiver, waive


class Api(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, user_pool: cognito.IUserPool) -> None:
        super().__init__(scope, construct_id)

        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=constants.API_NAME,
            description="Marquee public API (Lambda proxy integrations, Cognito user-pool authorizer)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=False,
            deploy=True,
            # Defence in depth (challenge 1): API Gateway's own limits before any function runs. The stage's bucket
            # is shared by every caller; holds get a tighter one of their own. Per-tenant plans are the functions' job.
            deploy_options=apigw.StageOptions(
                stage_name=constants.API_STAGE_NAME,
                tracing_enabled=True,
                throttling_rate_limit=constants.API_STAGE_RATE_LIMIT,
                throttling_burst_limit=constants.API_STAGE_BURST_LIMIT,
                method_options={
                    "/showtimes/{showtimeId}/holds/POST": apigw.MethodDeploymentOptions(
                        throttling_rate_limit=constants.API_HOLDS_RATE_LIMIT,
                        throttling_burst_limit=constants.API_HOLDS_BURST_LIMIT,
                    )
                },
            ),
        )
        # The stack publishes the URL under a fixed logical ID (ApiUrl); drop the construct's hashed duplicate.
        self.rest_api.node.try_remove_child("Endpoint")
        waive(
            self.rest_api,
            Waiver(
                "AwsSolutions-APIG2",
                "Requests are validated in the functions (Powertools + pydantic), which answer problem+json 4xx; "
                "API Gateway request validators would duplicate the schemas.",
            ),
        )
        waive(
            self.rest_api.deployment_stage,
            Waiver(
                "AwsSolutions-APIG1",
                "Access logging needs the account-level API Gateway CloudWatch role, which this stack deliberately "
                "does not manage (cloud_watch_role=False); enable it per account.",
            ),
            Waiver(
                "AwsSolutions-APIG6",
                "Execution logging needs the account-level API Gateway CloudWatch role (see APIG1); functions log "
                "every request themselves with Powertools.",
            ),
            Waiver(
                "AwsSolutions-APIG3",
                "WAF is attached per deployment (web ACLs are account/edge policy), and is not available locally.",
            ),
        )

        # Partner clients (server to server) call with an API key: a usage plan throttles each key and gives it a daily
        # quota. It applies to methods added with ``api_key=True``; the key's value is generated (read it with
        # `aws apigateway get-api-key --include-value`).
        self.partner_plan = self.rest_api.add_usage_plan(
            "PartnerPlan",
            name=constants.API_PARTNER_PLAN_NAME,
            description="Partner clients: per-key throttle and daily quota",
            throttle=apigw.ThrottleSettings(
                rate_limit=constants.API_PARTNER_RATE_LIMIT, burst_limit=constants.API_PARTNER_BURST_LIMIT
            ),
            quota=apigw.QuotaSettings(limit=constants.API_PARTNER_DAILY_QUOTA, period=apigw.Period.DAY),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.rest_api.deployment_stage)],
        )
        self.partner_key = apigw.ApiKey(
            self, "PartnerKey", api_key_name=constants.API_PARTNER_KEY_NAME, description="The example partner's key"
        )
        self.partner_plan.add_api_key(self.partner_key)

        self._routed: dict[str, lambda_.Function] = {}  # every function behind the API, by construct path
        self._flags: FeatureFlags | None = None
        self.mocked_services = _mocked_services(self.node.try_get_context(constants.MOCK_SERVICES_CONTEXT_KEY))
        self._services: set[str] = set()
        self.node.add_validation(_KnownServices(self))

        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self,
            "Authorizer",
            cognito_user_pools=[user_pool],
            authorizer_name="marquee-cognito",
            results_cache_ttl=Duration.minutes(5),
        )

    def add_route(
        self,
        http_method: str,
        path: str,
        function: lambda_.IFunction,
        *,
        public: bool = False,
        api_key: bool = False,
    ) -> apigw.Method:
        """Route ``http_method path`` to ``function`` (Lambda proxy; a MOCK maintenance answer if its service is in
        ``marquee:mockServices``); Cognito-authorized unless ``public``. ``api_key``: a partner route, which also needs
        an ``x-api-key`` of the partner usage plan (its per-key throttle and daily quota apply)."""
        service = self._behind_the_api(function)
        resource = self.rest_api.root.resource_for_path(path)
        options: dict[str, Any] = {}
        integration: apigw.Integration
        if service in self.mocked_services:
            integration = maintenance_mock(service)
            options["method_responses"] = [MAINTENANCE_METHOD_RESPONSE]
        else:
            integration = apigw.LambdaIntegration(
                function, proxy=True, allow_test_invoke=False, scope_permission_to_method=False
            )
        if api_key:
            options["api_key_required"] = True
        if not public:
            return resource.add_method(
                http_method,
                integration,
                authorizer=self.authorizer,
                authorization_type=apigw.AuthorizationType.COGNITO,
                **options,
            )
        method = resource.add_method(
            http_method, integration, authorization_type=apigw.AuthorizationType.NONE, **options
        )
        reason = f"{http_method} {path} is deliberately public (it must answer without a token)."
        waive(method, Waiver("AwsSolutions-APIG4", reason), Waiver("AwsSolutions-COG4", reason))
        return method

    def use_flags(self, flags: FeatureFlags) -> None:
        """Give every function behind the API, routed before or after this call, the flags' environment and read
        access: maintenance mode is checked on every request (docs/design/09-api-gateway.md)."""
        self._flags = flags
        for function in self._routed.values():
            _give_flags(function, flags)

    def _behind_the_api(self, function: lambda_.IFunction) -> str:
        """Register a routed function (the flags, maintenance mode); returns its service name."""
        target = function.version.lambda_ if isinstance(function, lambda_.Alias) else function
        if not isinstance(target, lambda_.Function):
            raise TypeError(f"{function.node.path}: routes go to functions defined in this app (maintenance mode)")
        service = service_of(target)
        if service is None:
            raise TypeError(f"{function.node.path}: routes go to PythonFunctions (they record their service name)")
        self._services.add(service)
        if target.node.path not in self._routed:
            self._routed[target.node.path] = target
            if self._flags is not None:
                _give_flags(target, self._flags)
        return service


def _give_flags(function: lambda_.Function, flags: FeatureFlags) -> None:
    for name, value in flags.environment_variables.items():
        function.add_environment(name, value)
    flags.grant_read(function)


MAINTENANCE_HEADERS = ("Content-Type", "Retry-After", "Cache-Control", "X-Request-Id")
MAINTENANCE_METHOD_RESPONSE = apigw.MethodResponse(
    status_code="503", response_parameters={f"method.response.header.{name}": True for name in MAINTENANCE_HEADERS}
)


def maintenance_mock(service: str) -> apigw.MockIntegration:
    """A MOCK integration answering what the kernel's maintenance mode answers (marquee.http.maintenance): 503
    problem+json, Retry-After, no-store and the request id. JSON requests only (the API takes nothing else): another
    Content-Type is API Gateway's 415."""
    retry = constants.MOCK_RETRY_AFTER_S
    body = json.dumps(
        {
            "type": "urn:marquee:problem:maintenance",
            "title": "Service under maintenance",
            "status": 503,
            "detail": f"The {service} service is under maintenance; retry after {retry} s.",
            "instance": "$context.path",
            "requestId": "$context.requestId",
        }
    )
    return apigw.MockIntegration(
        passthrough_behavior=apigw.PassthroughBehavior.NEVER,
        request_templates={"application/json": json.dumps({"statusCode": 503})},
        integration_responses=[
            apigw.IntegrationResponse(
                status_code="503",
                response_templates={"application/json": body},
                response_parameters={
                    "method.response.header.Content-Type": "'application/problem+json'",
                    "method.response.header.Retry-After": f"'{retry}'",
                    "method.response.header.Cache-Control": "'no-store'",
                    "method.response.header.X-Request-Id": "context.requestId",
                },
            )
        ],
    )


def _mocked_services(value: Any) -> frozenset[str]:
    if value is None or value == "":
        return frozenset()
    names = value if isinstance(value, list) else str(value).split(",")
    return frozenset(str(name).strip() for name in names if str(name).strip())


@jsii.implements(IValidation)
class _KnownServices:
    """Synthesis fails on a ``marquee:mockServices`` name that is no service behind the API (a typo must not deploy
    a stack that mocks nothing)."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def validate(self) -> list[str]:
        unknown = sorted(self.api.mocked_services - self.api._services)
        if not unknown:
            return []
        known = ", ".join(sorted(self.api._services))
        return [f"{constants.MOCK_SERVICES_CONTEXT_KEY}: no API service {', '.join(unknown)} (the services: {known})"]
