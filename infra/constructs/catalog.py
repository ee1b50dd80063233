"""Catalog capability: cinemas, auditoriums, movies, showtimes (+ seat items) and seat maps, tenant-scoped. Every write
also writes its event to the outbox; listings and search are read models built from them (infra/constructs/projections.py)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import constants
from infra.constructs.api import Api
from infra.constructs.feature_flags import FeatureFlags
from infra.constructs.function import PythonFunction
from infra.constructs.tenant_access import TenantAccess


class Catalog(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Api,
        layer: lambda_.ILayerVersion,
        target: str,
        tenant_access: TenantAccess,
        flags: FeatureFlags,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = PythonFunction(
            self,
            "Handler",
            name="catalog",
            description="Catalog: staff create cinemas/auditoriums/movies/showtimes; anyone reads seat maps",
            layer=layer,
            target=target,
            memory_size=512,
            timeout=Duration.seconds(29),  # a 1300-seat showtime is 52 BatchWriteItem calls
            environment={
                "DEFAULT_HOLD_LEASE_SECONDS": str(constants.HOLD_LEASE_DEFAULT_SECONDS),
                **flags.environment_variables,  # seat_suggestions_v2: a percentage rollout per customer
            },
        )
        tenant_access.grant_to(self.handler)
        flags.grant_read(self.handler.function)
        for method, path in (
            ("POST", "/cinemas"),
            ("POST", "/auditoriums"),
            ("POST", "/movies"),
            ("PUT", "/movies/{movieId}"),
            ("POST", "/showtimes"),
            ("GET", "/showtimes/{showtimeId}"),
            ("GET", "/showtimes/{showtimeId}/suggestions"),
            # challenge 8: soft delete, restore, history, as-of, retention and legal hold, profile, erasure
            ("GET", "/movies/{movieId}"),
            ("DELETE", "/movies/{movieId}"),
            ("POST", "/movies/{movieId}/restore"),
            ("GET", "/movies/{movieId}/history"),
            ("GET", "/cinemas/{cinemaId}"),
            ("DELETE", "/cinemas/{cinemaId}"),
            ("POST", "/cinemas/{cinemaId}/restore"),
            ("GET", "/cinemas/{cinemaId}/history"),
            ("DELETE", "/showtimes/{showtimeId}"),
            ("POST", "/showtimes/{showtimeId}/restore"),
            ("GET", "/showtimes/{showtimeId}/history"),
            ("GET", "/settings/audit"),
            ("PUT", "/settings/audit"),
            ("GET", "/me/profile"),
            ("PUT", "/me/profile"),
            ("POST", "/customers/{customerId}/erasure"),
            # design question 7: a staff read of a customer's personal data, recorded in the access trail
            ("GET", "/customers/{customerId}/profile"),
        ):
            api.add_route(method, path, self.handler.function)
