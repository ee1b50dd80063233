"""The order saga's steps, one Lambda function each (handler ``handler.<step>``), all from this one code folder.

Each handler parses the task input and calls one logic function. Errors keep their class names: Step Functions
matches Retry and Catch on them (PaymentDeclined, HoldExpired and ShowtimeStarted compensate, ProviderUnavailable is
retried).
"""

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.booking import hold_shape
from marquee.booking.orders import OrderStore
from marquee.core.env import load_env
from marquee.core.logs import Logger

from . import logic
from .models import SagaEnv, SagaTask

env = load_env(SagaEnv)
hold_shape.use_phase(env.hold_shape_phase)  # which phase of the hold item's shape change is live
logger = Logger()
tracer = Tracer()
metrics = Metrics()
store = OrderStore(env.table_name)


def _run(step: Any, event: dict, **settings: Any) -> dict:
    task = SagaTask.model_validate(event)
    logger.append_keys(order_id=task.order_id, tenant_id=task.tenant_id)
    result = step(task, store, **settings)
    metrics.add_metric(name=f"{result.step.value}{result.status.value.title()}", unit=MetricUnit.Count, value=1)
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def reserve_seats(event: dict, context: LambdaContext) -> dict:
    return _run(logic.reserve_seats, event)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def charge_payment(event: dict, context: LambdaContext) -> dict:
    return _run(logic.charge_payment, event)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def confirm_order(event: dict, context: LambdaContext) -> dict:
    return _run(logic.confirm_order, event)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def refund_payment(event: dict, context: LambdaContext) -> dict:
    return _run(logic.refund_payment, event, charge_settle_ms=env.charge_settle_seconds * 1000)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def release_seats(event: dict, context: LambdaContext) -> dict:
    return _run(logic.release_seats, event)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def mark_failed(event: dict, context: LambdaContext) -> dict:
    return _run(logic.mark_failed, event)
