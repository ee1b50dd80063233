"""Search (challenge 14): GET /search over the tenant's movies, showtimes and cinemas; PUT /search/settings (staff)."""

# No `from __future__ import annotations` here: Powertools reads the route annotations at run time.
from typing import Annotated, Literal

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.core.models import IsoDay as Day
from marquee.http import ApiResolver
from marquee.ratelimit import valkey_request_limiter
from marquee.search.query import MAX_CHARS
from marquee.tenancy.tenant import current_tenant

from . import logic
from .models import SearchEnv, SearchResponse, SearchSettingsRequest, SearchSettingsResponse

env = load_env(SearchEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
# Rate-limited per tenant plan and user (GCRA in Valkey, docs/patterns/01-rate-limiting.md).
app = ApiResolver(rate_limit=valkey_request_limiter(env.cache_client))

Text = Annotated[
    str, Query(min_length=1, max_length=MAX_CHARS, description='websearch syntax: words, "a phrase", or, -word')
]
Filter = Annotated[str | None, Query(min_length=1, max_length=64)]


@app.get("/search")
@tracer.capture_method
def get_search(
    q: Text,
    kind: Annotated[Literal["movie", "showtime", "cinema"] | None, Query()] = None,
    city: Filter = None,
    genre: Annotated[str | None, Query(pattern=r"^[a-z][a-z-]{0,31}$")] = None,
    from_: Annotated[Day | None, Query(alias="from", description="First day (UTC) of showtimes")] = None,
    to: Annotated[Day | None, Query(description="Last day (UTC) of showtimes, inclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    cursor: Annotated[str | None, Query(min_length=1, max_length=300)] = None,
) -> SearchResponse:
    return logic.search(
        tenant=current_tenant(app),
        env=env,
        q=q,
        kind=kind,
        city=city,
        genre=genre,
        date_from=from_,
        date_to=to,
        limit=limit,
        cursor=cursor,
    )


@app.put("/search/settings")
@tracer.capture_method
def put_settings(body: SearchSettingsRequest) -> SearchSettingsResponse:
    return logic.set_settings(body, tenant=current_tenant(app), env=env)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
