"""Webhook fan-out: booking events (EventBridge rule -> SQS) become one delivery message per subscribed endpoint."""

# No `from __future__ import annotations` here, as in every handler module.
from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.messaging import FailureRecorder, RecordingBatchProcessor
from marquee.messaging.events import Envelope
from marquee.webhooks.queue import DeliveryQueue
from marquee.webhooks.store import WebhookStore

from .logic import fan_out
from .models import FanoutEnv

env = load_env(FanoutEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
store = WebhookStore(env.table_name)
queue = DeliveryQueue(env.delivery_queue_url)
# A failed record is logged with its error type and reported alone (ReportBatchItemFailures); the rest of the batch
# is deleted. fan_out raises nothing on purpose: every failure is unexpected.
processor = RecordingBatchProcessor(
    EventType.SQS, FailureRecorder(logger, metrics), raise_on_entire_batch_failure=False
)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    bus_event = EventBridgeModel.model_validate_json(record.body)
    event = Envelope.model_validate(bus_event.detail)
    logger.append_keys(event_id=event.id, event_type=event.type, tenant_id=event.tenant_id)
    enqueued = fan_out(event, store, queue)
    metrics.add_metric(name="WebhookDeliveriesEnqueued", unit=MetricUnit.Count, value=enqueued)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
