"""Notifications (challenge 6, design question 10): booking events -> router -> one SQS FIFO queue per channel (group =
customer, deduplication = event id) -> one worker per channel (Powertools FIFO partial batches) -> a primary or a
backup provider behind circuit breakers. Each queue has a FIFO DLQ (maxReceiveCount) and a visibility timeout of
6 x its worker's timeout. The API: preferences, the delivery log, staff messages and DLQ redrive."""

from __future__ import annotations

import json

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants
from infra.constructs.api import Api
from infra.constructs.bus_target import async_rule_target
from infra.constructs.feature_flags import FeatureFlags
from infra.constructs.function import PythonFunction
from infra.constructs.tenant_access import TenantAccess
from infra.nag import Waiver, waive

CODE = "notifications"


class Notifications(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Api,
        layer: lambda_.ILayerVersion,
        target: str,
        table: dynamodb.ITable,
        ops_table: dynamodb.ITable,
        event_bus: events.IEventBus,
        flags: FeatureFlags,
        tenant_access: TenantAccess,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = constants.NOTIFICATIONS_BY_TARGET[target]
        worker_timeout = Duration.seconds(int(settings["worker_timeout_s"]))
        visibility = Duration.seconds(6 * int(settings["worker_timeout_s"]))
        tuning = {k: str(v) for k, v in settings.items() if k.isupper()}

        self.queues: dict[str, sqs.Queue] = {}
        self.dlqs: dict[str, sqs.Queue] = {}
        for channel in constants.NOTIFICATION_CHANNELS:
            title = channel.title()
            self.dlqs[channel] = sqs.Queue(
                self,
                f"{title}DeadLetters",
                queue_name=f"{constants.NOTIFICATION_QUEUE_PREFIX}{channel}-dlq.fifo",
                fifo=True,
                retention_period=constants.DLQ_RETENTION,
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                removal_policy=constants.REMOVAL_POLICY,
            )
            self.queues[channel] = sqs.Queue(
                self,
                f"{title}Queue",
                queue_name=f"{constants.NOTIFICATION_QUEUE_PREFIX}{channel}.fifo",
                fifo=True,
                content_based_deduplication=False,  # the router sets MessageDeduplicationId = event id
                visibility_timeout=visibility,
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                dead_letter_queue=sqs.DeadLetterQueue(
                    queue=self.dlqs[channel], max_receive_count=int(settings["max_receive_count"])
                ),
                removal_policy=constants.REMOVAL_POLICY,
            )
        queue_env = {f"{c.upper()}_QUEUE_URL": q.queue_url for c, q in self.queues.items()}
        queue_env.update({f"{c.upper()}_DLQ_URL": q.queue_url for c, q in self.dlqs.items()})

        # ---- router: the rule's target; it sets the per-customer message group EventBridge cannot -------------------
        self.router = PythonFunction(
            self,
            "Router",
            name="notifications_router",
            code=CODE,
            handler="handler.route",
            description="Notification router: a booking event -> one message per channel FIFO queue (group = customer)",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=Duration.seconds(10),
            environment=queue_env,
        )
        for queue in self.queues.values():
            queue.grant_send_messages(self.router.role)
        self.router_failures = async_rule_target(
            self,
            function=self.router,
            event_bus=event_bus,
            rule_id="NotifyingEvents",
            failures_id="RouterFailures",
            description="Booking events that notify the customer -> the notification router",
            detail_types=constants.NOTIFICATION_EVENT_TYPES,
        )

        # ---- one worker per channel ----------------------------------------------------------------------------------
        self.secrets: dict[str, secretsmanager.Secret] = {}
        self.workers: dict[str, PythonFunction] = {}
        for channel in constants.NOTIFICATION_CHANNELS:
            secrets = {role: self._provider_secret(channel, role) for role in constants.NOTIFICATION_PROVIDER_ROLES}
            environment = {
                "TABLE_NAME": table.table_name,
                "OPS_TABLE_NAME": ops_table.table_name,
                "CHANNEL": channel,
                "QUEUE_URL": self.queues[channel].queue_url,
                "DLQ_URL": self.dlqs[channel].queue_url,
                "MAX_RECEIVE_COUNT": str(settings["max_receive_count"]),  # the queue's redrive policy, above
                "PRIMARY_SECRET_ID": secrets["primary"].secret_arn,
                "BACKUP_SECRET_ID": secrets["backup"].secret_arn,
                **constants.NOTIFICATIONS_SETTINGS,
                **tuning,
            }
            if channel == "sms":
                environment.update(flags.environment_variables)  # the sms_notifications flag gates the channel
            worker = PythonFunction(
                self,
                f"{channel.title()}Worker",
                name=f"notifications_{channel}",
                code=CODE,
                handler="handler.work",
                description=f"Notification worker for {channel}: FIFO partial batches, backoff, DLQ, provider failover",
                layer=layer,
                target=target,
                memory_size=256,
                timeout=worker_timeout,
                environment=environment,
            )
            table.grant_read_write_data(worker.role)
            ops_table.grant_read_write_data(worker.role)
            for secret in secrets.values():
                secret.grant_read(worker.role)
            self.dlqs[channel].grant_send_messages(worker.role)
            if channel == "sms":
                flags.grant_read(worker.function)
            worker.function.add_event_source(
                sources.SqsEventSource(self.queues[channel], batch_size=10, report_batch_item_failures=True)
            )
            self.workers[channel] = worker

        # ---- API ------------------------------------------------------------------------------------------------------
        self.api_function = PythonFunction(
            self,
            "Api",
            name="notifications",
            code=CODE,
            handler="handler.api",
            description="Notification preferences, delivery log, staff messages and DLQ redrive",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=Duration.seconds(29),
            environment={
                **queue_env,
                "NOTIFICATIONS_LOG_PAGE_SIZE": str(constants.NOTIFICATIONS_LOG_PAGE_SIZE),
            },
        )
        # Tenant-facing: preferences and the delivery log through the tenant-access role, narrowed per request.
        tenant_access.grant_to(self.api_function)
        for channel in constants.NOTIFICATION_CHANNELS:
            self.queues[channel].grant_send_messages(self.api_function.role)
            self.dlqs[channel].grant_consume_messages(self.api_function.role)
            self.queues[channel].grant(self.api_function.role, "sqs:GetQueueAttributes")
        # Redrive: SQS's message move task reads the DLQ and writes to its source queue (both granted above).
        self.api_function.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks", "sqs:CancelMessageMoveTask"],
                resources=[q.queue_arn for q in self.dlqs.values()],
            )
        )
        for method, path in (
            ("GET", "/me/notification-preferences"),
            ("PUT", "/me/notification-preferences"),
            ("GET", "/me/notifications"),
            ("GET", "/notifications"),
            ("POST", "/notifications"),
            ("GET", "/notifications/dlq"),
            ("POST", "/notifications/dlq/{channel}/redrive"),
        ):
            api.add_route(method, path, self.api_function.function)

    def _provider_secret(self, channel: str, role: str) -> secretsmanager.Secret:
        name = f"{channel}-{role}"
        url = self.node.try_get_context(f"{constants.NOTIFICATION_PROVIDER_URL_CONTEXT_PREFIX}{name}")
        secret = secretsmanager.Secret(
            self,
            f"{channel.title()}{role.title()}Provider",
            secret_name=f"{constants.NOTIFICATION_SECRET_PREFIX}{name}",
            description=f"Notification provider {name}: endpoint and API key ({{url, apiKey}}). Read at run time only.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"url": str(url or constants.NOTIFICATION_PROVIDER_PLACEHOLDER_URL)}),
                generate_string_key="apiKey",
                exclude_punctuation=True,
                password_length=40,
            ),
            removal_policy=constants.REMOVAL_POLICY,
        )
        waive(
            secret,
            Waiver(
                "AwsSolutions-SMG4",
                "The provider issues and rotates its API keys; the new key is stored here out of band, and the "
                "provider accepts the previous key meanwhile.",
            ),
        )
        self.secrets[name] = secret
        return secret
