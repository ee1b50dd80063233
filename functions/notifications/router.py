"""Notification router: EventBridge rule (booking events that notify) -> one SQS FIFO queue per channel.

EventBridge's SqsParameters.MessageGroupId is one constant per target, so the per-customer message group needs this
step: MessageGroupId = tenant#customer, MessageDeduplicationId = the event id (docs/decisions.md, 2026-11-22). Invoked
asynchronously: a failure is retried by Lambda, then lands in the router's on-failure queue, whose record carries
the error's type and message (responsePayload.errorType). Every failure is logged first, with its type and the event's
id, and counted in UnexpectedRecordErrors.
"""

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core import aws
from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.messaging import FailureRecorder
from marquee.messaging.events import Envelope

from .logic import route_event
from .models import RouterEnv

env = load_env(RouterEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
failures = FailureRecorder(logger, metrics)  # the router raises nothing on purpose: any failure is unexpected


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    with failures.recording(record_id=event.get("id"), detail_type=event.get("detail-type")):
        detail = parse(event=event, model=EventBridgeModel).detail
        envelope = Envelope.model_validate(detail)
        logger.append_keys(event_id=envelope.id, tenant_id=envelope.tenant_id, correlation_id=envelope.correlation_id)
        channels = route_event(envelope.model_dump(mode="json", by_alias=True), env=env, sqs=aws.sqs())
    metrics.add_metric(name="NotificationsRouted", unit=MetricUnit.Count, value=len(channels))
    return {"eventId": envelope.id, "channels": [c.value for c in channels]}
