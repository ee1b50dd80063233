"""Me capability: GET /me answers who the verified token says the caller is. It touches no AWS resource."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs.api import Api
from infra.constructs.feature_flags import FeatureFlags
from infra.constructs.function import PythonFunction


class Me(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Api,
        layer: lambda_.ILayerVersion,
        target: str,
        flags: FeatureFlags,
    ):
        super().__init__(scope, construct_id)
        self.handler = PythonFunction(
            self,
            "Handler",
            name="me",
            description="GET /me: tenant, user, username and groups from the authorizer's verified claims",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=Duration.seconds(10),
            environment=flags.environment_variables,
        )
        flags.grant_read(self.handler.function)
        api.add_route("GET", "/me", self.handler.function)
        api.add_route("GET", "/me/features", self.handler.function)
