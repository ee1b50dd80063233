"""Webhooks (challenge 10): staff-registered endpoints, signed outbound deliveries with retries, inbound provider
webhooks.

    bus (source marquee.booking) --rule--> fan-out queue --> webhooks_fanout --> delivery queue --> webhooks_sender --> POST
                                          (DLQ)                                  (DLQ after WEBHOOK_MAX_ATTEMPTS receives)
    API: webhooks_api (staff, Cognito)       POST /webhooks/inbound/payments: webhooks_inbound (public, signature-checked)

The retry schedule is the delivery queue's: the sender sets each failed message's visibility to the next delay. Only
the local target gets a short schedule and loopback URLs (so tests run a receiver on 127.0.0.1); everything else is
the same template.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants
from infra.constructs.api import Api
from infra.constructs.function import PythonFunction
from infra.constructs.tenant_access import TenantAccess
from infra.nag import Waiver, waive

SENDER_TIMEOUT = Duration.seconds(60)
FANOUT_TIMEOUT = Duration.seconds(30)


def _queue(scope: Construct, construct_id: str, **kwargs: object) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        removal_policy=constants.REMOVAL_POLICY,
        **kwargs,  # type: ignore[arg-type]
    )


class Webhooks(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Api,
        layer: lambda_.ILayerVersion,
        target: str,
        table: dynamodb.ITable,
        inbox_table: dynamodb.ITable,
        event_bus: events.IEventBus,
        tenant_access: TenantAccess,
    ) -> None:
        super().__init__(scope, construct_id)
        local = target == constants.TARGET_LOCAL
        delays = constants.WEBHOOK_LOCAL_RETRY_DELAYS_S if local else constants.WEBHOOK_RETRY_DELAYS_S
        delivery = {
            "WEBHOOK_ALLOW_LOOPBACK": "true" if local else "false",
            "WEBHOOK_SECRET_MAX_AGE_S": str(constants.WEBHOOK_SECRET_MAX_AGE_S),
        }

        # -- queues: the event fan-out, and one message per (endpoint, event) delivery, each with its DLQ
        self.fanout_dlq = _queue(self, "FanoutDlq", retention_period=constants.DLQ_RETENTION)
        self.fanout_queue = _queue(
            self,
            "FanoutQueue",
            visibility_timeout=Duration.seconds(FANOUT_TIMEOUT.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.fanout_dlq, max_receive_count=constants.QUEUE_MAX_RECEIVE_COUNT
            ),
        )
        self.delivery_dlq = _queue(self, "DeliveryDlq", retention_period=constants.DLQ_RETENTION)
        self.delivery_queue = _queue(
            self,
            "DeliveryQueue",
            visibility_timeout=Duration.seconds(
                SENDER_TIMEOUT.to_seconds() * 2
            ),  # a crashed sender's batch comes back after 2 minutes
            retention_period=constants.DLQ_RETENTION,  # longer than the whole retry schedule
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.delivery_dlq, max_receive_count=constants.WEBHOOK_MAX_ATTEMPTS
            ),
        )

        events.Rule(
            self,
            "BookingEventsRule",
            description="Every booking event goes to the webhook fan-out",
            event_bus=event_bus,
            event_pattern=events.EventPattern(source=[constants.OUTBOX_EVENT_SOURCE]),
            targets=[targets.SqsQueue(self.fanout_queue, dead_letter_queue=self.fanout_dlq)],
        )

        # -- the endpoint secrets: one per endpoint, created at run time under this prefix
        endpoint_secrets = (
            f"arn:{Aws.PARTITION}:secretsmanager:{Aws.REGION}:{Aws.ACCOUNT_ID}:secret:"
            f"{constants.WEBHOOK_SECRET_PREFIX}*"
        )
        secrets_waiver = Waiver(
            "AwsSolutions-IAM5",
            "Endpoint secrets are created at run time, one per endpoint, under the webhook prefix; the prefix is the "
            "narrowest resource the role can name.",
            finding=(
                "Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:"
                f"{constants.WEBHOOK_SECRET_PREFIX}*"
            ),
        )

        # -- staff API
        self.api_function = PythonFunction(
            self,
            "Api",
            name="webhooks_api",
            description="Webhook endpoints: register (secret shown once), rotate, enable, deliveries, redeliver",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=Duration.seconds(15),
            environment={
                **delivery,
                "DELIVERY_QUEUE_URL": self.delivery_queue.queue_url,
                "WEBHOOK_SECRET_PREFIX": constants.WEBHOOK_SECRET_PREFIX,
                "WEBHOOK_ROTATION_OVERLAP_S": str(constants.WEBHOOK_ROTATION_OVERLAP_S),
            },
        )
        # Tenant-facing (a tenant's staff): endpoints and deliveries through the tenant-access role, narrowed per request.
        tenant_access.grant_to(self.api_function)
        self.delivery_queue.grant_send_messages(self.api_function.role)
        self.api_function.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "secretsmanager:CreateSecret",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:DeleteSecret",
                ],
                resources=[endpoint_secrets],
            )
        )
        waive(self.api_function.role, secrets_waiver)
        for method, path in (
            ("POST", "/webhooks/endpoints"),
            ("GET", "/webhooks/endpoints"),
            ("GET", "/webhooks/endpoints/{endpoint_id}"),
            ("DELETE", "/webhooks/endpoints/{endpoint_id}"),
            ("POST", "/webhooks/endpoints/{endpoint_id}/rotate-secret"),
            ("POST", "/webhooks/endpoints/{endpoint_id}/enable"),
            ("GET", "/webhooks/endpoints/{endpoint_id}/deliveries"),
            ("POST", "/webhooks/endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver"),
        ):
            api.add_route(method, path, self.api_function.function)

        # -- fan-out
        self.fanout_function = PythonFunction(
            self,
            "Fanout",
            name="webhooks_fanout",
            description="Booking event -> one delivery per subscribed webhook endpoint of the tenant",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=FANOUT_TIMEOUT,
            environment={"TABLE_NAME": table.table_name, "DELIVERY_QUEUE_URL": self.delivery_queue.queue_url},
        )
        table.grant_read_write_data(self.fanout_function.role)
        self.delivery_queue.grant_send_messages(self.fanout_function.role)
        self.fanout_function.function.add_event_source(
            sources.SqsEventSource(self.fanout_queue, batch_size=10, report_batch_item_failures=True)
        )

        # -- sender
        self.sender_function = PythonFunction(
            self,
            "Sender",
            name="webhooks_sender",
            description="Signs (Standard Webhooks) and POSTs one delivery; retries with backoff via message visibility",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=SENDER_TIMEOUT,
            environment={
                **delivery,
                "TABLE_NAME": table.table_name,
                "DELIVERY_QUEUE_URL": self.delivery_queue.queue_url,
                "WEBHOOK_RETRY_DELAYS_S": ",".join(str(d) for d in delays),
                "WEBHOOK_MAX_ATTEMPTS": str(constants.WEBHOOK_MAX_ATTEMPTS),
                "WEBHOOK_DISABLE_AFTER_FAILURES": str(
                    constants.WEBHOOK_LOCAL_DISABLE_AFTER_FAILURES
                    if local
                    else constants.WEBHOOK_DISABLE_AFTER_FAILURES
                ),
                "WEBHOOK_TIMEOUT_MS": str(constants.WEBHOOK_TIMEOUT_MS),
            },
        )
        table.grant_read_write_data(self.sender_function.role)
        self.sender_function.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[endpoint_secrets])
        )
        waive(self.sender_function.role, secrets_waiver)
        # Batches of 5 at a 5 s timeout each stay well inside the function's 60 s.
        self.sender_function.function.add_event_source(
            sources.SqsEventSource(self.delivery_queue, batch_size=5, report_batch_item_failures=True)
        )

        # -- inbound provider webhooks (public: the signature is the authentication)
        self.inbound_secret = secretsmanager.Secret(
            self,
            "InboundPaymentsSecret",
            description="Signing secret of the payment provider's webhooks (Standard Webhooks, base64). Replace the "
            "generated value with the provider's. Read at run time only.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=44,  # 44 base64 characters = 33 key bytes
                exclude_punctuation=True,
                include_space=False,
            ),
            removal_policy=constants.REMOVAL_POLICY,
        )
        waive(
            self.inbound_secret,
            Waiver(
                "AwsSolutions-SMG4",
                "The payment provider issues and rotates its webhook signing secret; it is then stored here. There is "
                "no rotation Lambda that could rotate it on our side.",
            ),
        )
        self.inbound_function = PythonFunction(
            self,
            "Inbound",
            name="webhooks_inbound",
            description="POST /webhooks/inbound/payments: signed provider refunds and chargebacks, replays dropped",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=Duration.seconds(15),
            environment={
                "TABLE_NAME": table.table_name,
                "INBOX_TABLE_NAME": inbox_table.table_name,
                "INBOUND_SECRET_NAME": self.inbound_secret.secret_arn,
                "WEBHOOK_SECRET_MAX_AGE_S": str(constants.WEBHOOK_SECRET_MAX_AGE_S),
            },
        )
        table.grant_read_write_data(self.inbound_function.role)
        inbox_table.grant_write_data(self.inbound_function.role)
        self.inbound_secret.grant_read(self.inbound_function.role)
        api.add_route("POST", "/webhooks/inbound/payments", self.inbound_function.function, public=True)
