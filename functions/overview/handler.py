"""GET /showtimes/{showtimeId}/overview: the catalog, availability, recommendations and the caller's own orders for
one showtime, fetched at once by direct invokes; a failed or slow section is degraded, never the whole answer."""

# No `from __future__ import annotations` here: Powertools reads the route annotations at run time.
from functools import cache
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.aggregation import FanOut
from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.http import ApiResolver, ok_response
from marquee.ratelimit import valkey_request_limiter
from marquee.tenancy.tenant import current_tenant

from . import logic
from .models import Overview, OverviewEnv

env = load_env(OverviewEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = ApiResolver(rate_limit=valkey_request_limiter(env.cache_client))
fan_out = FanOut()  # the sections' breakers live as long as this instance

ShowtimeId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


@cache
def section_caches() -> logic.SectionCaches:
    return logic.SectionCaches.on(env.cache_client())


@app.get("/showtimes/<showtimeId>/overview", responses={200: ok_response(Overview, "The overview; see degraded")})
@tracer.capture_method
def get_overview(showtimeId: ShowtimeId) -> Response[str]:  # noqa: N803 - the route's parameter name
    answer = logic.overview(
        showtimeId,
        tenant=current_tenant(app),
        backends=logic.Backends.of(env),
        fan_out=fan_out,
        caches=section_caches(),
        request_id=app.current_event.request_context.request_id,
    )
    for name in answer.overview.degraded:
        metrics.add_metric(name=f"OverviewDegraded_{name}", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=HTTPStatus.OK,
        content_type="application/json",
        body=answer.overview.model_dump_json(by_alias=True),
        headers={"Server-Timing": answer.server_timing(), "Cache-Control": "private, no-store"},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
