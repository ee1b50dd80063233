"""Outbox relay (challenge 12): DynamoDB stream (outbox INSERTs only, by filter) -> EventBridge, at least once.

A failed record is logged with its error type (PublishFailed is expected; anything else is counted as unexpected) and
reported with ReportBatchItemFailures; the mapping bisects and retries from it, and after its retries sends the
batch's position to the on-failure queue. Re-publishing is safe: consumers dedupe on event id.
"""

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core import aws
from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.messaging import FailureRecorder, RecordingBatchProcessor

from .logic import PublishFailed, publish
from .models import OutboxRecord, RelayEnv

env = load_env(RelayEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = RecordingBatchProcessor(
    EventType.DynamoDBStreams, FailureRecorder(logger, metrics, expected=(PublishFailed,))
)


@tracer.capture_method
def record_handler(record: DynamoDBRecord) -> str:
    image = record.dynamodb.new_image if record.dynamodb else {}
    outbox = OutboxRecord.model_validate(image)
    event_id = publish(outbox, env=env, events_client=aws.events())
    metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=1)
    logger.debug("published", extra={"event_id": event_id, "event_type": outbox.event_type})
    return event_id


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
