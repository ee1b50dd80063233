"""Recommendations: an EventBridge rule (orders, showtimes, movies) -> Valkey signals; a direct invoke from the
aggregator (functions/overview) -> one customer's recommendations, each with its reason."""

from collections.abc import Mapping
from functools import cache
from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.aggregation import InternalRouter
from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.recommendations import RecommendationStore
from marquee.tenancy.tenant import TenantContext

from . import logic
from .models import RecommendationsEnv

env = load_env(RecommendationsEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
internal = InternalRouter(chaos_service="recommendations")


@cache
def store() -> RecommendationStore:
    return RecommendationStore(env.cache_client())


@internal.op("recommend")
def recommend(tenant: TenantContext, params: Mapping[str, Any]) -> dict[str, Any]:
    return logic.recommend(tenant, params, store=store())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    if internal.owns(event):
        return internal.resolve(event)
    raw = event.get("detail")
    detail: dict = raw if isinstance(raw, dict) else {}
    outcome = logic.record(detail, store=store())
    metrics.add_metric(name=f"Recommendations{outcome.title()}", unit=MetricUnit.Count, value=1)
    logger.info("signal recorded", extra={"event_id": detail.get("id"), "type": detail.get("type"), "outcome": outcome})
    return {"eventId": detail.get("id"), "outcome": outcome}
