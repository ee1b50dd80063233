"""Audit log: booking events from the bus (rule -> SQS queue -> this function), each appended once per event id."""

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core import aws
from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.messaging import FailureRecorder, RecordingBatchProcessor
from marquee.messaging.events import Envelope

from .logic import append_once
from .models import AuditEnv

env = load_env(AuditEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
# A failed record is logged with its error type and retried by the queue (then its DLQ); a duplicate is not a failure.
processor = RecordingBatchProcessor(EventType.SQS, FailureRecorder(logger, metrics))


@tracer.capture_method
def record_handler(record: SQSRecord) -> bool:
    bridge = EventBridgeModel.model_validate_json(record.body)
    event = Envelope.model_validate(bridge.detail)
    appended = append_once(event, env=env, client=aws.dynamodb())
    metrics.add_metric(name="AuditAppended" if appended else "AuditDuplicate", unit=MetricUnit.Count, value=1)
    return appended


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
