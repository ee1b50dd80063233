"""Search capability (challenge 14): GET /search and PUT /search/settings on the Aurora cluster, via the Data API."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs.api import Api
from infra.constructs.database import Database
from infra.constructs.function import PythonFunction


class Search(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Api,
        layer: lambda_.ILayerVersion,
        target: str,
        database: Database,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = PythonFunction(
            self,
            "Handler",
            name="search",
            description="Search: full text over the tenant's movies, showtimes and cinemas (Aurora, Data API)",
            layer=layer,
            target=target,
            memory_size=512,
            timeout=Duration.seconds(29),
            environment=database.environment,
        )
        database.grant_data_api(self.handler.function)
        api.add_route("GET", "/search", self.handler.function)
        api.add_route("PUT", "/search/settings", self.handler.function)
