"""Projections router: EventBridge rule (every projected event type) -> the projections FIFO queue.

EventBridge's SqsParameters.MessageGroupId is one constant per target, so the per-aggregate message group needs this
step, as the notification router does (docs/decisions.md): MessageGroupId = tenant#aggregate id,
MessageDeduplicationId = the event id. Invoked asynchronously: Lambda retries a failure, then sends the event to the
router's on-failure queue with the error's type and message. Every failure is logged first, with the event's id.
"""

import json

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core import aws
from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.messaging import FailureRecorder

from .logic import route_event
from .models import RouterEnv

env = load_env(RouterEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
failures = FailureRecorder(logger, metrics)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    with failures.recording(record_id=event.get("id"), detail_type=event.get("detail-type")):
        detail = json.dumps(parse(event=event, model=EventBridgeModel).detail)
        group = route_event(detail, queue_url=env.queue_url, sqs=aws.sqs())
    if group is not None:
        metrics.add_metric(name="ProjectionEventsRouted", unit=MetricUnit.Count, value=1)
    return {"eventId": event.get("id"), "group": group}
