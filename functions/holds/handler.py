"""Seat holds: POST /showtimes/{showtimeId}/holds, GET /holds/{holdId}, DELETE /holds/{holdId} (owner only)."""

# No `from __future__ import annotations` here: Powertools reads the route annotations at run time.
from functools import cache
from typing import Annotated

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from valkey.exceptions import ValkeyError

from marquee.booking import hold_shape
from marquee.cache import CacheAside
from marquee.cache.showtimes import NAMESPACE, showtime_key
from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.http import ApiResolver, created_response
from marquee.ratelimit import valkey_request_limiter
from marquee.tenancy.tenant import current_tenant

from . import logic
from .models import MAX_BODY_BYTES, HoldRequest, HoldResponse, HoldsEnv

env = load_env(HoldsEnv)
hold_shape.use_phase(env.hold_shape_phase)  # which phase of the hold item's shape change is live
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = ApiResolver(max_body_bytes=MAX_BODY_BYTES, rate_limit=valkey_request_limiter(env.cache_client))


@cache
def edge_cache() -> CacheAside:
    return CacheAside(env.cache_client(), namespace=NAMESPACE)


def _seat_map_changed(showtime_id: str) -> None:
    """Write-path invalidation: the holder's next read, and everyone's, sees the change at once. The event path
    (functions/cache_invalidator) bumps it again; if Valkey is down, the entry's 2 s TTL is the bound."""
    try:
        edge_cache().invalidate(showtime_key(current_tenant(app).tenant_id, showtime_id))
    except ValkeyError:
        logger.warning(
            "seat map not invalidated (Valkey unreachable); its 2 s TTL bounds it", extra={"showtime_id": showtime_id}
        )


EntityId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _correlation_id() -> str | None:
    return app.current_event.request_context.request_id


@app.post("/showtimes/<showtimeId>/holds", responses={201: created_response(HoldResponse)})
@tracer.capture_method
def post_hold(showtimeId: EntityId, body: HoldRequest) -> tuple[HoldResponse, int]:  # noqa: N803
    hold = logic.place_hold(showtimeId, body, tenant=current_tenant(app), env=env, correlation_id=_correlation_id())
    metrics.add_metric(name="SeatsHeld", unit=MetricUnit.Count, value=len(hold.seats))
    _seat_map_changed(showtimeId)
    return hold, 201


@app.get("/holds/<holdId>")
@tracer.capture_method
def get_hold(holdId: EntityId) -> HoldResponse:  # noqa: N803
    return logic.read_hold(holdId, tenant=current_tenant(app), env=env)


@app.delete("/holds/<holdId>")
@tracer.capture_method
def delete_hold(holdId: EntityId) -> HoldResponse:  # noqa: N803
    released = logic.release(holdId, tenant=current_tenant(app), env=env, correlation_id=_correlation_id())
    _seat_map_changed(released.showtime_id)
    return released


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
