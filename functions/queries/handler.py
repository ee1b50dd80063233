"""Queries, the CQRS read side (challenge 5): GET /showtimes (with availability), GET /me/orders, GET /reports/sales
(staff). Every answer comes from a read model on Aurora (Data API); this function cannot read DynamoDB."""

# No `from __future__ import annotations` here: Powertools reads the route annotations at run time.
from functools import cache
from typing import Annotated

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.cache import CacheAside
from marquee.cache.showtimes import LISTING_POLICY, NAMESPACE
from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.core.models import IsoDay
from marquee.http import ApiResolver
from marquee.ratelimit import valkey_request_limiter
from marquee.tenancy.tenant import current_tenant

from . import logic
from .internal import router as internal_router
from .models import OrderHistory, QueriesEnv, SalesReport, ShowtimePage

env = load_env(QueriesEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = ApiResolver(rate_limit=valkey_request_limiter(env.cache_client))


@cache
def listings() -> CacheAside:
    return CacheAside(env.cache_client(), namespace=NAMESPACE, policy=LISTING_POLICY)


Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(min_length=1, max_length=300)]


@app.get("/showtimes")
@tracer.capture_method
def get_showtimes(limit: Limit = 50, cursor: Cursor = None) -> ShowtimePage:
    return logic.list_showtimes(tenant=current_tenant(app), env=env, limit=limit, cursor=cursor, cache=listings())


@app.get("/partner/showtimes")
@tracer.capture_method
def get_partner_showtimes(limit: Limit = 50, cursor: Cursor = None) -> ShowtimePage:
    """The listing for a partner client: API Gateway has checked its API key (the partner usage plan) as well as the
    tenant's token, so this answers exactly what GET /showtimes does."""
    return logic.list_showtimes(tenant=current_tenant(app), env=env, limit=limit, cursor=cursor, cache=listings())


@app.get("/me/orders")
@tracer.capture_method
def get_my_orders(limit: Limit = 20, cursor: Cursor = None) -> OrderHistory:
    return logic.my_orders(tenant=current_tenant(app), env=env, limit=limit, cursor=cursor)


@app.get("/reports/sales")
@tracer.capture_method
def get_sales(
    from_: Annotated[IsoDay, Query(alias="from", description="First day (UTC) of sales")],
    to: Annotated[IsoDay, Query(description="Last day (UTC) of sales, inclusive; at most 366 days after 'from'")],
) -> SalesReport:
    return logic.sales_report(tenant=current_tenant(app), env=env, from_day=from_, to_day=to)


internal = internal_router(env)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    if internal.owns(event):  # a direct invoke from the aggregator (functions/overview), never API Gateway's event
        return internal.resolve(event)
    return app.resolve(event, context)
