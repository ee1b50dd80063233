"""The Marquee stack: composes one construct per capability and publishes the outputs clients need."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, Fn, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import constants
from infra.constructs.access_audit import AccessAudit
from infra.constructs.api import Api
from infra.constructs.cache import Cache
from infra.constructs.catalog import Catalog
from infra.constructs.common_layer import CommonLayer
from infra.constructs.database import Database
from infra.constructs.feature_flags import FeatureFlags
from infra.constructs.health import Health
from infra.constructs.identity import Identity
from infra.constructs.imports import Imports
from infra.constructs.integrity import Integrity
from infra.constructs.me import Me
from infra.constructs.notifications import Notifications
from infra.constructs.orders import Orders
from infra.constructs.outbox import Outbox
from infra.constructs.overview import Overview
from infra.constructs.payments import Payments
from infra.constructs.platform import Platform
from infra.constructs.projections import Projections
from infra.constructs.search import Search
from infra.constructs.seat_holds import SeatHolds
from infra.constructs.secret_rotation import SecretRotation
from infra.constructs.sharding import Sharding
from infra.constructs.tenant_access import TenantAccess
from infra.constructs.webhooks import Webhooks
from infra.regions import Regions


class MarqueeStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, target: str, regions: Regions | None = None, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)

        identity = Identity(self, "Identity")
        platform = Platform(self, "Platform", regions=regions)
        layer = CommonLayer(self, "CommonLayer", target=target).layer
        api = Api(self, "Api", user_pool=identity.user_pool)
        # Aurora PostgreSQL (Data API only): the read models (challenge 5) and the search documents (challenge 14), built
        # by the projector from the outbox events; read by the queries and search functions; probed by deep health.
        database = Database(self, "Database", layer=layer, target=target)

        health = Health(
            self,
            "Health",
            api=api,
            layer=layer,
            target=target,
            table=platform.table,
            queue=platform.queue,
            event_bus=platform.event_bus,
            secret=platform.secret,
            state_machine=platform.state_machine,
            database=database,
        )
        flags = FeatureFlags(self, "FeatureFlags")
        api.use_flags(flags)  # every function behind the API checks maintenance mode (the maintenance_mode flag)
        me = Me(self, "Me", api=api, layer=layer, target=target, flags=flags)

        # Tenant isolation (challenge 19): the role tenant-facing functions assume per request, narrowed to one tenant.
        tenant_access = TenantAccess(self, "TenantAccess", table=platform.table)

        payments = Payments(
            self,
            "Payments",
            api=api,
            layer=layer,
            target=target,
            table=platform.table,
            idempotency_table=platform.idempotency_table,
            ops_table=platform.ops_table,
            flags=flags,
            tenant_access=tenant_access,
        )

        orders = Orders(
            self,
            "Orders",
            api=api,
            layer=layer,
            target=target,
            table=platform.table,
            payments_environment=payments.charging_environment,
            grant_payments=payments.grant_charging,
            tenant_access=tenant_access,
            event_bus=platform.event_bus,
        )

        # Cross-service integrity (design question 8): a scheduled reconciler of orders, seats, payments and ledgers.
        Integrity(
            self,
            "Integrity",
            layer=layer,
            target=target,
            payments_environment=payments.charging_environment,
            grant_payments=payments.grant_charging,
        )

        search = Search(self, "Search", api=api, layer=layer, target=target, database=database)
        # Imports (challenge 15): presigned multipart uploads to S3; ObjectCreated starts the streamed validation.
        Imports(self, "Imports", api=api, layer=layer, target=target, tenant_access=tenant_access)
        projections = Projections(
            self, "Projections", api=api, layer=layer, target=target, database=database, event_bus=platform.event_bus
        )

        # Booking core: catalog and seat holds use tenant-scoped sessions too; the outbox relays every booking event.
        catalog = Catalog(
            self,
            "Catalog",
            api=api,
            layer=layer,
            target=target,
            tenant_access=tenant_access,
            flags=flags,
        )
        # The edge (challenges 1 and 7): Valkey in the database's VPC. The functions that cache and rate-limit run there.
        cache = Cache(self, "Cache", vpc=database.vpc, layer=layer, target=target, event_bus=platform.event_bus)
        cache.place(catalog.handler)
        cache.place(health.handler)  # deep health PINGs Valkey
        cache.place(projections.queries, flags=flags)
        # A cached listing is dropped after its read model changed: the projector invokes the invalidator on commit.
        projections.projector.function.add_environment(
            "AFTER_PROJECTION_FUNCTION", cache.invalidator.function.function_name
        )
        projections.projector.role.add_to_principal_policy(  # unqualified only (grant_invoke adds "ARN:*")
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[cache.invalidator.function.function_arn])
        )
        # The API aggregator (challenge 17) and real-time recommendations (design question 5), in the cache's VPC.
        Overview(
            self,
            "Overview",
            api=api,
            layer=layer,
            target=target,
            cache=cache,
            flags=flags,
            event_bus=platform.event_bus,
            catalog=catalog.handler,
            queries=projections.queries,
        )
        seat_holds = SeatHolds(self, "SeatHolds", api=api, layer=layer, target=target, tenant_access=tenant_access)
        cache.place(seat_holds.handler, flags=flags)  # rate-limited, and invalidates seat maps as it writes
        outbox = Outbox(
            self,
            "Outbox",
            layer=layer,
            target=target,
            table=platform.table,
            event_bus=platform.event_bus,
            inbox_table=platform.inbox_table,
        )

        webhooks = Webhooks(
            self,
            "Webhooks",
            api=api,
            layer=layer,
            target=target,
            table=platform.table,
            inbox_table=platform.inbox_table,
            event_bus=platform.event_bus,
            tenant_access=tenant_access,
        )

        # Notifications (challenge 6): booking events -> per-channel FIFO queues -> workers -> providers.
        notifications = Notifications(
            self,
            "Notifications",
            api=api,
            layer=layer,
            target=target,
            table=platform.table,
            ops_table=platform.ops_table,
            event_bus=platform.event_bus,
            flags=flags,
            tenant_access=tenant_access,
        )

        # Rate limits (challenge 1) on more of the API: these functions join the cache's VPC for the limiter. Not:
        # payments (its providers are on the internet), imports and the access trail (no S3 or KMS endpoint).
        for limited in (
            me.handler,
            search.handler,
            webhooks.api_function,
            notifications.api_function,
            orders.api_function,
        ):
            cache.place(limited)

        # Sensitive-data audit (design question 7): staff reads of personal data -> the encrypted access trail.
        access_audit = AccessAudit(
            self, "AccessAudit", api=api, layer=layer, target=target, alert_queue=notifications.queues["email"]
        )
        for name, value in access_audit.grant_record(catalog.handler.role).items():
            catalog.handler.function.add_environment(name, value)

        # Secrets (challenge 16): every provider API key (payments and notifications) rotates through the four-step
        # protocol, with one rotation function.
        SecretRotation(
            self,
            "SecretRotation",
            layer=layer,
            target=target,
            provider_secrets=[payments.primary_secret, payments.secondary_secret, *notifications.secrets.values()],
        )

        # Tenant sharding (challenge 9): the main table is shard s0; s1.. have the same shape and their own streams, each
        # relayed like the main table's. Last: every function whose TABLE_NAME is the main table is routed, and gets on
        # the shards exactly the statements it has on the main table (as does the tenant-access role). A multi-region
        # cell is not sharded: its shards would have to be global tables too (not built, docs/decisions.md).
        sharding = Sharding(self, "Sharding", main_table=platform.table) if regions is None else None
        if sharding is not None:
            for shard_table in sharding.extra_tables:
                outbox.relay_from(shard_table)
            sharding.route_main_table_functions(self, roles=[tenant_access.role])
            # each shard's read models live in the shard's own schema: the projector asks the map where a tenant is
            sharding.read_map(projections.projector)

        outputs = {
            constants.OUTPUT_API_ID: api.rest_api.rest_api_id,
            constants.OUTPUT_API_URL: api.rest_api.url,
            constants.OUTPUT_STAGE_NAME: api.rest_api.deployment_stage.stage_name,
            constants.OUTPUT_TABLE_NAME: platform.table.table_name,
            constants.OUTPUT_QUEUE_URL: platform.queue.queue_url,
            constants.OUTPUT_DLQ_URL: platform.dlq.queue_url,
            constants.OUTPUT_EVENT_BUS_NAME: platform.event_bus.event_bus_name,
            constants.OUTPUT_SECRET_ARN: platform.secret.secret_arn,
            constants.OUTPUT_STATE_MACHINE_ARN: platform.state_machine.state_machine_arn,
            constants.OUTPUT_USER_POOL_ID: identity.user_pool.user_pool_id,
            constants.OUTPUT_USER_POOL_CLIENT_ID: identity.client.user_pool_client_id,
            constants.OUTPUT_REGION: Aws.REGION,
            constants.OUTPUT_WEBHOOK_DLQ_URL: webhooks.delivery_dlq.queue_url,
            constants.OUTPUT_WEBHOOK_INBOUND_SECRET_ARN: webhooks.inbound_secret.secret_arn,
            constants.OUTPUT_ORDER_SAGA_ARN: orders.state_machine.state_machine_arn,
            constants.OUTPUT_DB_CLUSTER_ARN: database.cluster.cluster_arn,
            constants.OUTPUT_DB_SECRET_ARN: database.secret.secret_arn,
            constants.OUTPUT_DB_NAME: constants.DB_NAME,
            constants.OUTPUT_PROJECTIONS_DLQ_URL: projections.dlq.queue_url,
            constants.OUTPUT_MIGRATE_FUNCTION_NAME: database.migrate.function.function_name,
            constants.OUTPUT_OPS_TABLE_NAME: platform.ops_table.table_name,
        }
        if sharding is not None:
            outputs[constants.OUTPUT_SHARD_CONTROL_TABLE_NAME] = sharding.control_table.table_name
            outputs[constants.OUTPUT_SHARD_TABLE_NAMES] = sharding.table_names
            outputs[constants.OUTPUT_SHARD_RING_SIZE] = str(sharding.ring_size)
            outputs[constants.OUTPUT_SHARD_OPERATOR_POLICY_ARN] = sharding.operator_policy.managed_policy_arn
        local_endpoint = self.node.try_get_context(constants.LOCAL_ENDPOINT_CONTEXT_KEY)
        if local_endpoint:
            # The API on the emulator the stack was deployed to, at LocalStack's URL (the local cloud serves it too).
            outputs[constants.OUTPUT_LOCAL_API_URL] = Fn.join(
                "/",
                [
                    str(local_endpoint).rstrip("/"),
                    "_aws/execute-api",
                    api.rest_api.rest_api_id,
                    api.rest_api.deployment_stage.stage_name,
                ],
            )
        for name, value in outputs.items():
            output = CfnOutput(self, f"Output{name}", value=value)
            output.override_logical_id(name)
