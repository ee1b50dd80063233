"""Webhook sender: one SQS message per delivery; signs, POSTs with a short timeout, retries with backoff.

Every failed record is logged with its error type (RecordingBatchProcessor); an unexpected error is also written to the
delivery's attempt log and retried on the delivery schedule (logic.record_crash)."""

# No `from __future__ import annotations` here, as in every handler module.
from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.messaging import FailureRecorder, RecordingBatchProcessor
from marquee.webhooks.models import DeliveryMessage
from marquee.webhooks.queue import DeliveryQueue
from marquee.webhooks.signing_secrets import SigningSecrets
from marquee.webhooks.store import WebhookStore

from .logic import DeliveryFailed, deliver, record_crash
from .models import SenderEnv

env = load_env(SenderEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
store = WebhookStore(env.table_name)
secrets = SigningSecrets(max_age=env.webhook_secret_max_age_s)
queue = DeliveryQueue(env.delivery_queue_url)
# Each failed record is reported alone (ReportBatchItemFailures) after its visibility was set to the backoff delay.
failures = FailureRecorder(logger, metrics, expected=(DeliveryFailed,))
processor = RecordingBatchProcessor(EventType.SQS, failures, raise_on_entire_batch_failure=False)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    message = DeliveryMessage.model_validate_json(record.body)
    logger.append_keys(delivery_id=message.delivery_id, endpoint_id=message.endpoint_id, tenant_id=message.tenant_id)
    receive_count = int(record.attributes.approximate_receive_count)
    try:
        outcome = deliver(
            message,
            receipt_handle=record.receipt_handle,
            receive_count=receive_count,
            env=env,
            store=store,
            secrets=secrets,
            queue=queue,
        )
    except DeliveryFailed:
        metrics.add_metric(name="WebhookAttemptsFailed", unit=MetricUnit.Count, value=1)
        raise
    except Exception as exc:  # unexpected: the processor logs it with its type; the delivery's log records it too
        note_crash(message, exc, receipt_handle=record.receipt_handle, receive_count=receive_count)
        raise
    if outcome.status is not None:
        metrics.add_metric(name=f"WebhookDeliveries{outcome.status.value.title()}", unit=MetricUnit.Count, value=1)
    if outcome.endpoint_disabled:
        logger.warning("Webhook endpoint disabled after consecutive failures")
        metrics.add_metric(name="WebhookEndpointsDisabled", unit=MetricUnit.Count, value=1)


def note_crash(message: DeliveryMessage, error: Exception, *, receipt_handle: str, receive_count: int) -> None:
    """Write an unexpected error to the delivery's attempt log; if that fails too, log it (never hide the error)."""
    try:
        record_crash(
            message,
            error,
            receipt_handle=receipt_handle,
            receive_count=receive_count,
            env=env,
            store=store,
            queue=queue,
        )
    except Exception as exc:  # noqa: BLE001 - logged; the original error still takes its retry path
        logger.exception("could not write a failure to the delivery log", extra={"error_type": type(exc).__name__})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
