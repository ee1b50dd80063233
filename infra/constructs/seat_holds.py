"""Seat holds capability (challenge 3): all-or-none holds with fencing tokens and leases, tenant-scoped."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs.api import Api
from infra.constructs.function import PythonFunction
from infra.constructs.tenant_access import TenantAccess


class SeatHolds(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Api,
        layer: lambda_.ILayerVersion,
        target: str,
        tenant_access: TenantAccess,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = PythonFunction(
            self,
            "Handler",
            name="holds",
            description="Seat holds: POST /showtimes/{id}/holds (all or none), GET and DELETE /holds/{id} (owner)",
            layer=layer,
            target=target,
            memory_size=512,
            timeout=Duration.seconds(10),
            environment={},
        )
        tenant_access.grant_to(self.handler)
        api.add_route("POST", "/showtimes/{showtimeId}/holds", self.handler.function)
        api.add_route("GET", "/holds/{holdId}", self.handler.function)
        api.add_route("DELETE", "/holds/{holdId}", self.handler.function)
