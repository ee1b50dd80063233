"""Catalog: staff create cinemas, auditoriums, movies, showtimes; customers read seat maps (the listing is a read model:
GET /showtimes is the queries function's)."""

# No `from __future__ import annotations` here: Powertools reads the route annotations at run time.
from functools import cache
from typing import Annotated

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.cache import CacheAside
from marquee.cache.showtimes import NAMESPACE, SEAT_MAP_POLICY
from marquee.core.env import load_env
from marquee.http import ApiResolver, created_response
from marquee.ratelimit import valkey_request_limiter
from marquee.tenancy.tenant import current_tenant

from . import cached, logic
from .models import (
    AuditoriumRequest,
    AuditoriumResponse,
    CatalogEnv,
    CinemaRequest,
    CinemaResponse,
    MovieRequest,
    MovieResponse,
    ShowtimeDetail,
    ShowtimeRequest,
    ShowtimeSummary,
    SuggestionResponse,
)

env = load_env(CatalogEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = ApiResolver(rate_limit=valkey_request_limiter(env.cache_client))


@cache
def seat_maps() -> CacheAside:
    return CacheAside(env.cache_client(), namespace=NAMESPACE, policy=SEAT_MAP_POLICY)


ShowtimeId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
MovieId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


@app.post("/cinemas", responses={201: created_response(CinemaResponse)})
@tracer.capture_method
def post_cinema(body: CinemaRequest) -> tuple[CinemaResponse, int]:
    return logic.create_cinema(body, tenant=current_tenant(app), env=env), 201


@app.post("/auditoriums", responses={201: created_response(AuditoriumResponse)})
@tracer.capture_method
def post_auditorium(body: AuditoriumRequest) -> tuple[AuditoriumResponse, int]:
    return logic.create_auditorium(body, tenant=current_tenant(app), env=env), 201


@app.post("/movies", responses={201: created_response(MovieResponse)})
@tracer.capture_method
def post_movie(body: MovieRequest) -> tuple[MovieResponse, int]:
    return logic.create_movie(body, tenant=current_tenant(app), env=env), 201


@app.put("/movies/<movieId>")
@tracer.capture_method
def put_movie(movieId: MovieId, body: MovieRequest) -> MovieResponse:  # noqa: N803 - the route's parameter name
    return logic.update_movie(movieId, body, tenant=current_tenant(app), env=env)


@app.post("/showtimes", responses={201: created_response(ShowtimeSummary)})
@tracer.capture_method
def post_showtime(body: ShowtimeRequest) -> tuple[ShowtimeSummary, int]:
    return logic.create_showtime(body, tenant=current_tenant(app), env=env), 201


@app.get("/showtimes/<showtimeId>")
@tracer.capture_method
def get_showtime(showtimeId: ShowtimeId) -> ShowtimeDetail:  # noqa: N803 - the route's parameter name
    return cached.get_showtime(showtimeId, tenant=current_tenant(app), env=env, cache=seat_maps())


@app.get("/showtimes/<showtimeId>/suggestions")
@tracer.capture_method
def get_suggestions(
    showtimeId: ShowtimeId,  # noqa: N803 - the route's parameter name
    party: Annotated[int, Query(ge=1, le=10)] = 2,
) -> SuggestionResponse:
    return logic.suggest_seats(showtimeId, party, tenant=current_tenant(app), env=env)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
