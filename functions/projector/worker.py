"""Projector: the projections FIFO queue -> the read models (Aurora PostgreSQL, Data API).

Powertools' SqsFifoPartialProcessor: one message per event, in its aggregate's order. Each event is applied once to
every read model in one transaction (``marquee.projections.projector``): a redelivery is recognised by the event log
and does nothing. A failed event fails the rest of its group (they come back in order after the visibility timeout);
after maxReceiveCount receives SQS moves it to the DLQ. Every failure is logged with its type and the message's id
and group first (``RecordingFifoProcessor``); a message that is not an event is a bug upstream and is logged as one.
Once an event is committed, AFTER_PROJECTION_FUNCTION (the cache invalidator) is invoked asynchronously with it.
"""

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core import aws
from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.messaging import FailureRecorder, RecordingFifoProcessor
from marquee.projections.projector import Outcome
from marquee.relational.client import data_api

from .logic import notify_applied, project_message
from .models import ProjectorEnv

env = load_env(ProjectorEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
failures = FailureRecorder(logger, metrics)
processor = RecordingFifoProcessor(failures, skip_group_on_error=True)


def record_handler(record: SQSRecord) -> str:
    event, outcome = project_message(record.body, api=data_api(env))
    if outcome is Outcome.APPLIED and env.after_projection_function:
        notify_applied(event, function_name=env.after_projection_function, client=aws.lambda_())
    if outcome is Outcome.DUPLICATE:
        logger.info("event projected before; nothing to do", extra={"record_id": record.message_id})
    metrics.add_metric(name=f"Events{outcome.value.title()}", unit=MetricUnit.Count, value=1)
    return outcome.value


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
