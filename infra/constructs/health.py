"""Health capability: liveness (public) and the deep dependency check (staff only), with a read-only probe role."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import constants
from infra.constructs.api import Api
from infra.constructs.database import Database
from infra.constructs.function import PythonFunction


class Health(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Api,
        layer: lambda_.ILayerVersion,
        target: str,
        table: dynamodb.ITable,
        queue: sqs.IQueue,
        event_bus: events.IEventBus,
        secret: secretsmanager.ISecret,
        state_machine: sfn.IStateMachine,
        database: Database,
    ) -> None:
        super().__init__(scope, construct_id)

        self.handler = PythonFunction(
            self,
            "Handler",
            name="health",
            description="GET /health (liveness), /health/ready (dependencies, public verdict) and /health/deep (staff)",
            layer=layer,
            target=target,
            memory_size=256,
            # Probes run concurrently, each bounded by HEALTH_CHECK_TIMEOUT_MS: leave room for cold start + response.
            timeout=Duration.millis(
                max(constants.HEALTH_CHECK_TIMEOUT_MS, constants.DB_HEALTH_CHECK_TIMEOUT_MS) * 2 + 4000
            ),
            environment={
                "TABLE_NAME": table.table_name,
                "QUEUE_URL": queue.queue_url,
                "EVENT_BUS_NAME": event_bus.event_bus_name,
                "SECRET_ARN": secret.secret_arn,
                "STATE_MACHINE_ARN": state_machine.state_machine_arn,
                "HEALTH_CHECK_TIMEOUT_MS": str(constants.HEALTH_CHECK_TIMEOUT_MS),
                "HEALTH_CHECK_WARN_MS": str(constants.HEALTH_CHECK_WARN_MS),
                "DB_HEALTH_CHECK_TIMEOUT_MS": str(constants.DB_HEALTH_CHECK_TIMEOUT_MS),
                # The Valkey PING's own; the cache's address comes with Cache.place (the stack runs this in its VPC).
                "CACHE_HEALTH_CHECK_TIMEOUT_MS": str(constants.CACHE_HEALTH_CHECK_TIMEOUT_MS),
                **database.environment,
            },
        )

        # Describe-only permissions: the probe proves reachability and existence, never reads data or secret values.
        role = self.handler.role
        table.grant(role, "dynamodb:DescribeTable")
        queue.grant(role, "sqs:GetQueueAttributes")
        state_machine.grant(role, "states:DescribeStateMachine")
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["events:DescribeEventBus"], resources=[event_bus.event_bus_arn])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["secretsmanager:DescribeSecret"], resources=[secret.secret_arn])
        )

        database.grant_data_api(self.handler.function)  # SELECT 1; the secret is read by the Data API, not the code
        api.add_route("GET", "/health", self.handler.function, public=True)
        api.add_route("GET", "/health/ready", self.handler.function, public=True)
        api.add_route("GET", "/health/deep", self.handler.function)
        api.add_route("GET", "/openapi.json", self.handler.function, public=True)
