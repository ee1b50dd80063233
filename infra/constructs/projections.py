"""CQRS read models (challenge 5): outbox events -> bus rule -> router -> SQS FIFO (group = tenant#aggregate, dedup =
event id) -> projector -> Aurora read models; the queries function serves GET /showtimes, GET /me/orders and
GET /reports/sales from them. The projector and the queries function reach the cluster only through the Data API, and
neither can read the DynamoDB tables: the read side cannot read the write side."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants
from infra.constructs.api import Api
from infra.constructs.bus_target import async_rule_target
from infra.constructs.database import Database
from infra.constructs.function import PythonFunction

CODE = "projector"


class Projections(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Api,
        layer: lambda_.ILayerVersion,
        target: str,
        database: Database,
        event_bus: events.IEventBus,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dlq = sqs.Queue(
            self,
            "DeadLetters",
            queue_name=constants.PROJECTIONS_DLQ_NAME,
            fifo=True,
            retention_period=constants.DLQ_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=constants.REMOVAL_POLICY,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=constants.PROJECTIONS_QUEUE_NAME,
            fifo=True,
            content_based_deduplication=False,  # the router sets MessageDeduplicationId = event id
            visibility_timeout=Duration.seconds(6 * constants.PROJECTOR_TIMEOUT.to_seconds()),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dlq, max_receive_count=constants.PROJECTIONS_MAX_RECEIVE_COUNT
            ),
            removal_policy=constants.REMOVAL_POLICY,
        )

        # ---- router: the rule's target; it sets the per-aggregate message group EventBridge cannot ---------------
        self.router = PythonFunction(
            self,
            "Router",
            name="projections_router",
            code=CODE,
            handler="handler.route",
            description="Projections router: a projected event -> the projections FIFO queue (group = aggregate)",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=Duration.seconds(10),
            environment={"QUEUE_URL": self.queue.queue_url},
        )
        self.queue.grant_send_messages(self.router.role)
        self.router_failures = async_rule_target(
            self,
            function=self.router,
            event_bus=event_bus,
            rule_id="ProjectedEvents",
            failures_id="RouterFailures",
            description="The events the read models are built from -> the projections router",
            detail_types=constants.PROJECTED_EVENT_TYPES,
        )

        # ---- projector --------------------------------------------------------------------------------------------
        self.projector = PythonFunction(
            self,
            "Projector",
            name="projector",
            code=CODE,
            handler="handler.project",
            description="Projector: each event applied once to every read model (Aurora, Data API), in one transaction",
            layer=layer,
            target=target,
            memory_size=512,
            timeout=constants.PROJECTOR_TIMEOUT,
            environment=database.environment,
        )
        database.grant_data_api(self.projector.function)
        self.projector.function.add_event_source(
            sources.SqsEventSource(self.queue, batch_size=10, report_batch_item_failures=True)
        )

        # ---- queries: the read side of the API ---------------------------------------------------------------------
        self.queries = PythonFunction(
            self,
            "Queries",
            name="queries",
            description="Read side: GET /showtimes (and /partner/showtimes), /me/orders, /reports/sales from read models",
            layer=layer,
            target=target,
            memory_size=512,
            timeout=Duration.seconds(29),
            environment=database.environment,
        )
        database.grant_data_api(self.queries.function)
        for path in ("/showtimes", "/me/orders", "/reports/sales"):
            api.add_route("GET", path, self.queries.function)
        # The same listing for partner clients (server to server): a tenant's token AND the partner's API key, so the
        # partner usage plan's per-key throttle and daily quota apply on top of the tenant's plan.
        api.add_route("GET", "/partner/showtimes", self.queries.function, api_key=True)
