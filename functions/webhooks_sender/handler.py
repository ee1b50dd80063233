"""Webhook sender: one SQS message per delivery; signs, POSTs with a short timeout, retries with backoff."""

# No `from __future__ import annotations` here, as in every handler module.
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.env import load_env
from marquee.webhooks import DeliveryMessage, DeliveryQueue, SigningSecrets, WebhookStore

from logic import DeliveryFailed, deliver
from models import SenderEnv

env = load_env(SenderEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
store = WebhookStore(env.table_name)
secrets = SigningSecrets(max_age=env.webhook_secret_max_age_s)
queue = DeliveryQueue(env.delivery_queue_url)
# Each failed record is reported alone (ReportBatchItemFailures) after its visibility was set to the backoff delay.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    message = DeliveryMessage.model_validate_json(record.body)
    logger.append_keys(delivery_id=message.delivery_id, endpoint_id=message.endpoint_id, tenant_id=message.tenant_id)
    try:
        outcome = deliver(
            message,
            receipt_handle=record.receipt_handle,
            receive_count=int(record.attributes.approximate_receive_count),
            env=env,
            store=store,
            secrets=secrets,
            queue=queue,
        )
    except DeliveryFailed:
        metrics.add_metric(name="WebhookAttemptsFailed", unit=MetricUnit.Count, value=1)
        raise
    if outcome.status is not None:
        metrics.add_metric(name=f"WebhookDeliveries{outcome.status.value.title()}", unit=MetricUnit.Count, value=1)
    if outcome.endpoint_disabled:
        logger.warning("Webhook endpoint disabled after consecutive failures")
        metrics.add_metric(name="WebhookEndpointsDisabled", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
