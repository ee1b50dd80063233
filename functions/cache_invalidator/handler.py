"""Cache invalidator: an EventBridge rule (the events that change showtimes) -> bump their cache generations."""

from functools import cache

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.cache import CacheAside
from marquee.cache.showtimes import NAMESPACE
from marquee.core.env import load_env
from marquee.core.logs import Logger

from .logic import invalidate
from .models import InvalidatorEnv

env = load_env(InvalidatorEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()


@cache
def edge_cache() -> CacheAside:
    return CacheAside(env.cache_client(), namespace=NAMESPACE)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    raw = event.get("detail")
    detail: dict = raw if isinstance(raw, dict) else {}  # the envelope; invalidate() checks its fields
    bumped = invalidate(detail, cache=edge_cache())
    if bumped:
        metrics.add_metric(name="CacheInvalidations", unit=MetricUnit.Count, value=len(bumped))
    logger.info("cache entries invalidated", extra={"event_id": detail.get("id"), "entities": bumped})
    return {"eventId": event.get("id"), "invalidated": bumped}
