"""Transactional outbox (challenge 12): the stream relay to the bus, and the audit log consumer behind a queue.

- relay: DynamoDB stream ESM on the main table and on each shard table (``relay_from``), filtered to outbox INSERTs
  (``sk = OUTBOX``) written in its own region (``origin_region``: a global table's stream also carries the other
  regions' items), bisect on error, bounded retries, on-failure SQS queue, ReportBatchItemFailures; PutEvents to the
  bus;
- audit log: an EventBridge rule (source ``marquee.booking``) -> standard SQS queue (DLQ after 5 receives) -> the
  audit function (partial batch failures), which dedupes on event id through the inbox table.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants
from infra.constructs.function import PythonFunction
from infra.nag import Waiver, waive


class Outbox(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        layer: lambda_.ILayerVersion,
        target: str,
        table: dynamodb.ITable,
        event_bus: events.IEventBus,
        inbox_table: dynamodb.ITable,
    ) -> None:
        super().__init__(scope, construct_id)

        self.relay_failures = sqs.Queue(
            self,
            "RelayFailures",
            retention_period=constants.DLQ_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=constants.REMOVAL_POLICY,
        )
        waive(
            self.relay_failures,
            Waiver(
                "AwsSolutions-SQS3",
                "This queue IS a dead-letter destination: the stream mapping's on-failure destination (SQS3 only "
                "recognises queues named in another queue's redrive policy).",
            ),
        )
        self.relay = PythonFunction(
            self,
            "Relay",
            name="outbox_relay",
            description="Outbox relay: outbox INSERTs from the table's stream -> EventBridge (at least once)",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=Duration.seconds(30),
            environment={"EVENT_BUS_NAME": event_bus.event_bus_name, "EVENT_SOURCE": constants.OUTBOX_EVENT_SOURCE},
        )
        event_bus.grant_put_events_to(self.relay.role)
        self.relay_from(table)

        self.audit_dlq = sqs.Queue(
            self,
            "AuditDeadLetters",
            retention_period=constants.DLQ_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=constants.REMOVAL_POLICY,
        )
        self.audit_queue = sqs.Queue(
            self,
            "AuditQueue",
            visibility_timeout=constants.QUEUE_VISIBILITY_TIMEOUT,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.audit_dlq, max_receive_count=constants.QUEUE_MAX_RECEIVE_COUNT
            ),
            removal_policy=constants.REMOVAL_POLICY,
        )
        self.rule = events.Rule(
            self,
            "BookingEvents",
            event_bus=event_bus,
            description="Every booking event to the audit log queue",
            event_pattern=events.EventPattern(source=[constants.OUTBOX_EVENT_SOURCE]),
            targets=[targets.SqsQueue(self.audit_queue)],
        )
        self.audit = PythonFunction(
            self,
            "AuditLog",
            name="audit_log",
            description="Audit log: booking events appended once per event id (inbox dedupe in the same transaction)",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=Duration.seconds(30),
            environment={
                "TABLE_NAME": table.table_name,
                "INBOX_TABLE_NAME": inbox_table.table_name,
                "INBOX_TTL_DAYS": str(constants.INBOX_TTL_DAYS),
            },
        )
        # Appends only: a Put on the table (audit entries) and on the inbox; no read, update or delete.
        self.audit.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["dynamodb:PutItem"], resources=[table.table_arn, inbox_table.table_arn])
        )
        self.audit.function.add_event_source(
            sources.SqsEventSource(self.audit_queue, batch_size=10, report_batch_item_failures=True)
        )

    def relay_from(self, table: dynamodb.ITable) -> None:
        """Attach the relay to ``table``'s stream (the main table; each shard table, challenge 9): outbox INSERTs only.

        A tenant's events are published from the stream of the shard that holds it; a move copies no outbox item, so
        each event is inserted, and published, once."""
        self.relay.function.add_event_source(
            sources.DynamoEventSource(
                table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=constants.OUTBOX_RELAY_BATCH_SIZE,
                bisect_batch_on_error=True,
                retry_attempts=constants.OUTBOX_RELAY_MAX_RETRIES,
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.relay_failures),
                # Only outbox items written in this region (origin_region, marquee/messaging/outbox.py): with global
                # tables every region's stream carries every region's items, and each event must be published once,
                # by the region that took the write. Items from before the attribute existed pass the second filter.
                filters=[
                    lambda_.FilterCriteria.filter(
                        {
                            "eventName": lambda_.FilterRule.is_equal("INSERT"),
                            "dynamodb": {
                                "Keys": {"sk": {"S": lambda_.FilterRule.is_equal("OUTBOX")}},
                                "NewImage": {"origin_region": {"S": origin}},
                            },
                        }
                    )
                    for origin in (lambda_.FilterRule.is_equal(Aws.REGION), lambda_.FilterRule.not_exists())
                ],
            )
        )
