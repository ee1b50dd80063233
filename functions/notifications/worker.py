"""A channel worker (one function per channel, CHANNEL=email|sms|push): SQS FIFO -> providers, at most once.

Powertools' SqsFifoPartialProcessor with ``skip_group_on_error``: a failed message fails only the rest of ITS group
(one customer), other customers' groups go on. Each failed message's visibility is then set to its retry delay:
exponential backoff with jitter, or the end of the customer's quiet hours; the rest of its group gets the same delay,
so the group comes back in order. After maxReceiveCount receives SQS moves it to the DLQ. A message that can never be
delivered (unparseable, refused by the provider) is moved to the DLQ by the worker at once, with its error as message
attributes, so it never holds its group back.

Nothing fails silently: an UNEXPECTED exception (a bug, anything but the outcomes above) is logged with its type and
the message's id and group, counted (UnexpectedRecordErrors), written to the delivery log, and retried with backoff
like a transient failure. On the queue's last allowed receive (MAX_RECEIVE_COUNT) the worker dead-letters it itself,
with ErrorType and ErrorMessage, instead of leaving SQS to move it there with no error at all.
"""

from collections.abc import Sequence
from functools import cache
from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse, PartialItemFailures
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from marquee.core import aws
from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.messaging import FailureRecorder, RecordingFifoProcessor, record_ref
from marquee.notifications.channels import SMS_FLAG, Notification, backoff_seconds
from marquee.notifications.providers import ChannelSender, ProviderClient, Route
from marquee.notifications.store import NotificationStore
from marquee.resilience.breaker import BreakerConfig, CircuitBreaker, DynamoDBBreakerStore
from marquee.tenancy.tenant import TenantContext

from .logic import Deferred, PermanentFailure, TransientFailure, WorkerDeps, deliver, record_failure
from .models import WorkerEnv

env = load_env(WorkerEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
failures = FailureRecorder(logger, metrics, expected=(Deferred, TransientFailure))
# A batch whose every record failed still answers with its batchItemFailures (instead of raising), so that each
# failed message gets its own retry delay below rather than the queue's whole visibility timeout.
processor = RecordingFifoProcessor(failures, skip_group_on_error=True, raise_on_entire_batch_failure=False)
retry_in: dict[str, int] = {}  # message id -> seconds until its retry (this batch)


def _sms_enabled(tenant_id: str, customer_id: str) -> bool:
    from marquee.core.flags import is_enabled

    return is_enabled(SMS_FLAG, TenantContext(tenant_id=tenant_id, user_id=customer_id))


@cache
def deps() -> WorkerDeps:
    config = BreakerConfig.from_env(env)
    breakers = DynamoDBBreakerStore(env.ops_table_name)
    routes = [
        Route(
            ProviderClient(
                f"{env.channel.value}-{role}",
                secret_id,
                connect_timeout_ms=env.notify_connect_timeout_ms,
                read_timeout_ms=env.notify_read_timeout_ms,
                secret_max_age_s=env.notify_secret_max_age_s,
            ),
            CircuitBreaker(f"notifications-{env.channel.value}-{role}", config, breakers),
        )
        for role, secret_id in (("primary", env.primary_secret_id), ("backup", env.backup_secret_id))
    ]
    return WorkerDeps(
        channel=env.channel,
        store=NotificationStore(env.table_name),
        sender=ChannelSender(routes),
        sms_enabled=_sms_enabled,
        claim_lease_ms=env.notify_claim_lease_ms,
    )


def dead_letter(record: SQSRecord, error: Exception) -> None:
    """Move a message that can never be delivered to the DLQ now, with its error; its group goes on."""
    attributes = {
        "ErrorType": {"DataType": "String", "StringValue": type(error).__name__},
        "ErrorMessage": {"DataType": "String", "StringValue": str(error)[:1000] or "-"},
        "Attempts": {"DataType": "Number", "StringValue": record.attributes.approximate_receive_count},
    }
    aws.sqs().send_message(
        QueueUrl=env.dlq_url,
        MessageBody=record.body,
        MessageGroupId=record.attributes.message_group_id or "unknown",
        MessageDeduplicationId=record.message_id,
        MessageAttributes=attributes,
    )
    metrics.add_metric(name="NotificationsDeadLettered", unit=MetricUnit.Count, value=1)
    logger.warning(
        "dead-lettered",
        extra={
            "message_id": record.message_id,
            "message_group": record.attributes.message_group_id,
            "error_type": type(error).__name__,
            "error": str(error)[:1000],
        },
    )


def note_failure(message: Notification, error: Exception, attempt: int, *, dead_lettered: bool) -> None:
    """Write the failure to the delivery log; if that fails too, log it: it must never hide the error itself."""
    try:
        record_failure(message, error, attempt=attempt, dead_lettered=dead_lettered, deps=deps())
    except Exception as exc:  # noqa: BLE001 - logged; the original error still takes its retry or DLQ path
        logger.exception("could not write a failure to the delivery log", extra={"error_type": type(exc).__name__})


@tracer.capture_method
def record_handler(record: SQSRecord) -> str:
    attempt = int(record.attributes.approximate_receive_count)
    try:
        message = Notification.model_validate_json(record.body)
    except ValidationError as exc:
        dead_letter(record, exc)
        return "dead-lettered"
    try:
        status = deliver(message, attempt=attempt, deps=deps())
    except Deferred as exc:
        retry_in[record.message_id] = exc.seconds
        raise
    except PermanentFailure as exc:
        dead_letter(record, exc)
        note_failure(message, exc, attempt, dead_lettered=True)
        return "dead-lettered"
    except TransientFailure:
        retry_in[record.message_id] = backoff_seconds(
            attempt, base_s=env.notify_backoff_base_s, cap_s=env.notify_backoff_cap_s
        )
        raise
    except Exception as exc:  # unexpected: a bug. Retried with backoff; dead-lettered with its type on the last receive
        if attempt < env.max_receive_count:
            note_failure(message, exc, attempt, dead_lettered=False)
            retry_in[record.message_id] = backoff_seconds(
                attempt, base_s=env.notify_backoff_base_s, cap_s=env.notify_backoff_cap_s
            )
            raise  # the processor logs it with its type and counts it
        failures.unexpected(exc, record_ref(record))
        dead_letter(record, exc)
        note_failure(message, exc, attempt, dead_lettered=True)
        return "dead-lettered"
    metrics.add_metric(name=f"Notifications{status.value.title()}", unit=MetricUnit.Count, value=1)
    return status.value


def schedule_retries(event: dict, failures: Sequence[PartialItemFailures]) -> None:
    """Move each failed message's visibility to its retry delay; skipped messages take their group's delay."""
    failed = {f["itemIdentifier"] for f in failures}
    group_delay: dict[str, int] = {}
    entries: list[dict[str, Any]] = []
    for record in event.get("Records", []):
        message_id = record["messageId"]
        group = record.get("attributes", {}).get("MessageGroupId", "")
        if message_id not in failed:
            continue
        delay = retry_in.get(message_id) or group_delay.get(group) or env.notify_backoff_base_s
        group_delay.setdefault(group, delay)
        entries.append({"Id": str(len(entries)), "ReceiptHandle": record["receiptHandle"], "VisibilityTimeout": delay})
    for start in range(0, len(entries), 10):
        aws.sqs().change_message_visibility_batch(QueueUrl=env.queue_url, Entries=entries[start : start + 10])


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    retry_in.clear()
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    schedule_retries(event, response.get("batchItemFailures", []))
    return response
