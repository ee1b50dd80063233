"""Platform: the shared stateful resources every capability builds on.

One DynamoDB table (single-table design, tenant-prefixed keys), a work queue with its DLQ, the domain event bus, the
provider-credentials secret and the health-probe state machine.

Multi-region (``regions``, design question 1): the main table and the idempotency table are global tables. The home
region's stack declares them (CDK ``TableV2`` with a replica per other region: ``AWS::DynamoDB::GlobalTable``); every
other region's stack refers to its replica by the tables' fixed names, and to the main table's replica stream by the
ARN its deploy passes as context. The ops table (circuit breakers: each region's own view of its providers) and the
inbox (each region's consumers dedupe what its own bus delivers) stay regional.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import constants
from infra.asl import definition_from_file
from infra.nag import Waiver, waive
from infra.regions import Regions


class MissingReplicaStreamError(ValueError):
    """A non-home region's synth without the main table's replica stream ARN in context."""


class Platform(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, regions: Regions | None = None) -> None:
        super().__init__(scope, construct_id)

        self.table: dynamodb.ITable
        self.idempotency_table: dynamodb.ITable
        if regions is None:
            self._regional_tables()
        elif regions.is_home:
            self._global_tables(regions)
        else:
            self._replicas(regions)
        self._regional_state()

    def _global_tables(self, regions: Regions) -> None:
        replicas = [dynamodb.ReplicaTableProps(region=r) for r in regions.all if r != regions.this]
        pitr = dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True)
        self.table = dynamodb.TableV2(
            self,
            "Table",
            table_name=constants.GLOBAL_TABLE_NAME,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=pitr,
            dynamo_stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,  # what replication needs, and the outbox reads
            time_to_live_attribute=constants.TABLE_TTL_ATTRIBUTE,
            removal_policy=constants.REMOVAL_POLICY,
            replicas=replicas,
        )
        self.idempotency_table = dynamodb.TableV2(
            self,
            "IdempotencyTable",
            table_name=constants.GLOBAL_IDEMPOTENCY_TABLE_NAME,
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=pitr,
            dynamo_stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            time_to_live_attribute=constants.IDEMPOTENCY_TTL_ATTRIBUTE,
            removal_policy=constants.REMOVAL_POLICY,
            replicas=replicas,
        )

    def _replicas(self, regions: Regions) -> None:
        stream_arn = self.node.try_get_context(constants.MAIN_TABLE_STREAM_ARN_CONTEXT_KEY)
        if not stream_arn:
            raise MissingReplicaStreamError(
                f"region {regions.this} uses the replica of the global table {constants.GLOBAL_TABLE_NAME} deployed "
                f"from {regions.home}: deploy {regions.home} first, then pass the replica's stream ARN (DescribeTable "
                f"LatestStreamArn in {regions.this}) as -c {constants.MAIN_TABLE_STREAM_ARN_CONTEXT_KEY}=..."
            )
        self.table = dynamodb.TableV2.from_table_attributes(
            self, "Table", table_name=constants.GLOBAL_TABLE_NAME, table_stream_arn=str(stream_arn)
        )
        self.idempotency_table = dynamodb.TableV2.from_table_name(
            self, "IdempotencyTable", constants.GLOBAL_IDEMPOTENCY_TABLE_NAME
        )

    def _regional_tables(self) -> None:
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            time_to_live_attribute=constants.TABLE_TTL_ATTRIBUTE,
            removal_policy=constants.REMOVAL_POLICY,
        )

        # Booking core tables (docs/booking-data-model.md): Powertools idempotency records, tenant-less platform state
        # (circuit breakers) and the consumers' inbox (dedupe on event id). All three expire their items by TTL.
        self.idempotency_table = dynamodb.Table(
            self,
            "IdempotencyTable",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=constants.IDEMPOTENCY_TTL_ATTRIBUTE,
            removal_policy=constants.REMOVAL_POLICY,
        )

    def _regional_state(self) -> None:
        self.ops_table = dynamodb.Table(
            self,
            "OpsTable",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=constants.TABLE_TTL_ATTRIBUTE,
            removal_policy=constants.REMOVAL_POLICY,
        )
        self.inbox_table = dynamodb.Table(
            self,
            "InboxTable",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=constants.TABLE_TTL_ATTRIBUTE,
            removal_policy=constants.REMOVAL_POLICY,
        )

        self.dlq = sqs.Queue(
            self,
            "DeadLetterQueue",
            retention_period=constants.DLQ_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=constants.REMOVAL_POLICY,
        )
        self.queue = sqs.Queue(
            self,
            "WorkQueue",
            visibility_timeout=constants.QUEUE_VISIBILITY_TIMEOUT,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=constants.QUEUE_MAX_RECEIVE_COUNT),
            removal_policy=constants.REMOVAL_POLICY,
        )

        self.event_bus = events.EventBus(self, "EventBus")

        self.secret = secretsmanager.Secret(
            self,
            "ProviderCredentials",
            description="Payment/notification provider credentials (placeholder generated at deploy; set the real "
            "value out of band). Fetched at run time only, never put in environment variables.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template='{"username": "marquee"}',  # noqa: S106 - a template; the value is generated
                generate_string_key="apiKey",
                exclude_punctuation=True,
                password_length=40,
            ),
            removal_policy=constants.REMOVAL_POLICY,
        )
        waive(
            self.secret,
            Waiver(
                "AwsSolutions-SMG4",
                "Third-party provider credentials are rotated by the provider, then stored here; there is no "
                "rotation Lambda that could rotate them on our side.",
            ),
        )

        state_machine_logs = logs.LogGroup(
            self,
            "HealthProbeLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=constants.REMOVAL_POLICY,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "HealthProbe",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=definition_from_file(constants.HEALTH_PROBE_ASL),
            logs=sfn.LogOptions(destination=state_machine_logs, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
            removal_policy=constants.REMOVAL_POLICY,
        )
        waive(
            self.state_machine.role,
            Waiver(
                "AwsSolutions-IAM5",
                "CloudWatch Logs vended delivery and X-Ray APIs do not support resource-level permissions; CDK "
                "grants them on '*' as AWS documents.",
                finding="Resource::*",
            ),
        )
