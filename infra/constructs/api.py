"""The public API: one REST API (v1: LocalStack's free tier has no HTTP APIs), one stage, one Cognito authorizer."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import constants
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
            deploy_options=apigw.StageOptions(stage_name=constants.API_STAGE_NAME, tracing_enabled=True),
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

        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self,
            "Authorizer",
            cognito_user_pools=[user_pool],
            authorizer_name="marquee-cognito",
            results_cache_ttl=Duration.minutes(5),
        )

    def add_route(
        self, http_method: str, path: str, function: lambda_.IFunction, *, public: bool = False
    ) -> apigw.Method:
        """Route ``http_method path`` to ``function`` (Lambda proxy); Cognito-authorized unless ``public``."""
        resource = self.rest_api.root.resource_for_path(path)
        integration = apigw.LambdaIntegration(function, proxy=True, allow_test_invoke=False)
        if not public:
            return resource.add_method(
                http_method,
                integration,
                authorizer=self.authorizer,
                authorization_type=apigw.AuthorizationType.COGNITO,
            )
        method = resource.add_method(http_method, integration, authorization_type=apigw.AuthorizationType.NONE)
        reason = f"{http_method} {path} is deliberately public (it must answer without a token)."
        waive(method, Waiver("AwsSolutions-APIG4", reason), Waiver("AwsSolutions-COG4", reason))
        return method
