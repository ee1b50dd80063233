"""Catalog: staff create cinemas, auditoriums, movies, showtimes; customers read seat maps (the listing is a read model:
GET /showtimes is the queries function's). Challenge 8: staff soft-delete and restore movies, cinemas and showtimes,
read any entity's history and a movie as it was at any time, set the tenant's retention and legal hold, and erase a
customer's personal data; customers keep a versioned profile (GET/PUT /me/profile). Design question 7: a staff read
of a customer's profile leaves an access record in the audit trail."""

# No `from __future__ import annotations` here: Powertools reads the route annotations at run time.
from functools import cache
from typing import Annotated

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.audit.access import AccessTrail, Origin
from marquee.cache import CacheAside
from marquee.cache.showtimes import NAMESPACE, SEAT_MAP_POLICY
from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.history.versions import Actor
from marquee.http import ApiResolver, created_response
from marquee.ratelimit import valkey_request_limiter
from marquee.tenancy.tenant import TenantContext, current_tenant

from . import cached, logic
from .internal import router as internal_router
from .models import (
    AuditoriumRequest,
    AuditoriumResponse,
    AuditSettingsRequest,
    AuditSettingsResponse,
    CatalogEnv,
    CinemaRead,
    CinemaRequest,
    CinemaResponse,
    ErasureResponse,
    HistoryPage,
    LifecycleResponse,
    MovieRead,
    MovieRequest,
    MovieResponse,
    ProfileRequest,
    ProfileResponse,
    ShowtimeAsOf,
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
trail = AccessTrail(env.access_trail_queue_url)  # staff reads of personal data (design question 7)


@cache
def seat_maps() -> CacheAside:
    return CacheAside(env.cache_client(), namespace=NAMESPACE, policy=SEAT_MAP_POLICY)


ShowtimeId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
MovieId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
CinemaId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
CustomerId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$")]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(min_length=1, max_length=300)]
AsOf = Annotated[
    str | None,
    Query(
        alias="asOf",
        min_length=10,
        max_length=40,
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})$",
        description="Staff: the entity as it was at this time (ISO 8601 with a zone), from its versions",
    ),
]


def caller() -> tuple[TenantContext, Actor]:
    """The verified tenant context, and who is changing what in which request (for the version items)."""
    tenant = current_tenant(app)
    return tenant, Actor.of(tenant, app.current_event.request_context.request_id or "unknown")


@app.post("/cinemas", responses={201: created_response(CinemaResponse)})
@tracer.capture_method
def post_cinema(body: CinemaRequest) -> tuple[CinemaResponse, int]:
    tenant, actor = caller()
    return logic.create_cinema(body, tenant=tenant, actor=actor, env=env), 201


@app.post("/auditoriums", responses={201: created_response(AuditoriumResponse)})
@tracer.capture_method
def post_auditorium(body: AuditoriumRequest) -> tuple[AuditoriumResponse, int]:
    return logic.create_auditorium(body, tenant=current_tenant(app), env=env), 201


@app.post("/movies", responses={201: created_response(MovieResponse)})
@tracer.capture_method
def post_movie(body: MovieRequest) -> tuple[MovieResponse, int]:
    tenant, actor = caller()
    return logic.create_movie(body, tenant=tenant, actor=actor, env=env), 201


@app.put("/movies/<movieId>")
@tracer.capture_method
def put_movie(movieId: MovieId, body: MovieRequest) -> MovieResponse:  # noqa: N803 - the route's parameter name
    tenant, actor = caller()
    return logic.update_movie(movieId, body, tenant=tenant, actor=actor, env=env)


@app.post("/showtimes", responses={201: created_response(ShowtimeSummary)})
@tracer.capture_method
def post_showtime(body: ShowtimeRequest) -> tuple[ShowtimeSummary, int]:
    tenant, actor = caller()
    return logic.create_showtime(body, tenant=tenant, actor=actor, env=env), 201


@app.get("/showtimes/<showtimeId>")
@tracer.capture_method
def get_showtime(showtimeId: ShowtimeId, as_of: AsOf = None) -> ShowtimeDetail | ShowtimeAsOf:  # noqa: N803
    if as_of is not None:
        return logic.showtime_as_of(showtimeId, as_of, tenant=current_tenant(app), env=env)
    return cached.get_showtime(showtimeId, tenant=current_tenant(app), env=env, cache=seat_maps())


@app.get("/showtimes/<showtimeId>/suggestions")
@tracer.capture_method
def get_suggestions(
    showtimeId: ShowtimeId,  # noqa: N803 - the route's parameter name
    party: Annotated[int, Query(ge=1, le=10)] = 2,
) -> SuggestionResponse:
    return logic.suggest_seats(showtimeId, party, tenant=current_tenant(app), env=env)


# ---- soft delete and temporal audit (challenge 8) ---------------------------------------------------------------------
@app.get("/movies/<movieId>")
@tracer.capture_method
def get_movie(movieId: MovieId, as_of: AsOf = None) -> MovieRead:  # noqa: N803 - the route's parameter name
    return logic.get_movie(movieId, as_of=as_of, tenant=current_tenant(app), env=env)


@app.delete("/movies/<movieId>")
@tracer.capture_method
def delete_movie(movieId: MovieId) -> LifecycleResponse:  # noqa: N803 - the route's parameter name
    tenant, actor = caller()
    return logic.set_deleted("MOVIE", movieId, deleted=True, tenant=tenant, actor=actor, env=env)


@app.post("/movies/<movieId>/restore")
@tracer.capture_method
def restore_movie(movieId: MovieId) -> LifecycleResponse:  # noqa: N803 - the route's parameter name
    tenant, actor = caller()
    return logic.set_deleted("MOVIE", movieId, deleted=False, tenant=tenant, actor=actor, env=env)


@app.get("/movies/<movieId>/history")
@tracer.capture_method
def movie_history(movieId: MovieId, limit: Limit = 20, cursor: Cursor = None) -> HistoryPage:  # noqa: N803
    return logic.history("MOVIE", movieId, limit=limit, cursor=cursor, tenant=current_tenant(app), env=env)


@app.get("/cinemas/<cinemaId>")
@tracer.capture_method
def get_cinema(cinemaId: CinemaId, as_of: AsOf = None) -> CinemaRead:  # noqa: N803 - the route's parameter name
    return logic.get_cinema(cinemaId, as_of=as_of, tenant=current_tenant(app), env=env)


@app.delete("/cinemas/<cinemaId>")
@tracer.capture_method
def delete_cinema(cinemaId: CinemaId) -> LifecycleResponse:  # noqa: N803 - the route's parameter name
    tenant, actor = caller()
    return logic.set_deleted("CINEMA", cinemaId, deleted=True, tenant=tenant, actor=actor, env=env)


@app.post("/cinemas/<cinemaId>/restore")
@tracer.capture_method
def restore_cinema(cinemaId: CinemaId) -> LifecycleResponse:  # noqa: N803 - the route's parameter name
    tenant, actor = caller()
    return logic.set_deleted("CINEMA", cinemaId, deleted=False, tenant=tenant, actor=actor, env=env)


@app.get("/cinemas/<cinemaId>/history")
@tracer.capture_method
def cinema_history(cinemaId: CinemaId, limit: Limit = 20, cursor: Cursor = None) -> HistoryPage:  # noqa: N803
    return logic.history("CINEMA", cinemaId, limit=limit, cursor=cursor, tenant=current_tenant(app), env=env)


@app.delete("/showtimes/<showtimeId>")
@tracer.capture_method
def delete_showtime(showtimeId: ShowtimeId) -> LifecycleResponse:  # noqa: N803 - the route's parameter name
    tenant, actor = caller()
    return logic.set_deleted("SHOWTIME", showtimeId, deleted=True, tenant=tenant, actor=actor, env=env)


@app.post("/showtimes/<showtimeId>/restore")
@tracer.capture_method
def restore_showtime(showtimeId: ShowtimeId) -> LifecycleResponse:  # noqa: N803 - the route's parameter name
    tenant, actor = caller()
    return logic.set_deleted("SHOWTIME", showtimeId, deleted=False, tenant=tenant, actor=actor, env=env)


@app.get("/showtimes/<showtimeId>/history")
@tracer.capture_method
def showtime_history(showtimeId: ShowtimeId, limit: Limit = 20, cursor: Cursor = None) -> HistoryPage:  # noqa: N803
    return logic.history("SHOWTIME", showtimeId, limit=limit, cursor=cursor, tenant=current_tenant(app), env=env)


@app.get("/settings/audit")
@tracer.capture_method
def get_audit_settings() -> AuditSettingsResponse:
    return logic.get_audit_settings(tenant=current_tenant(app), env=env)


@app.put("/settings/audit")
@tracer.capture_method
def put_audit_settings(body: AuditSettingsRequest) -> AuditSettingsResponse:
    return logic.put_audit_settings(body, tenant=current_tenant(app), env=env)


@app.get("/me/profile")
@tracer.capture_method
def get_profile() -> ProfileResponse:
    return logic.get_profile(tenant=current_tenant(app), env=env)


@app.put("/me/profile")
@tracer.capture_method
def put_profile(body: ProfileRequest) -> ProfileResponse:
    tenant, actor = caller()
    return logic.put_profile(body, tenant=tenant, actor=actor, env=env)


@app.get("/customers/<customerId>/profile")
@tracer.capture_method
def get_customer_profile(customerId: CustomerId) -> ProfileResponse:  # noqa: N803 - the route's parameter name
    origin = Origin.of(app.current_event.raw_event)
    return logic.read_customer_profile(customerId, tenant=current_tenant(app), origin=origin, env=env, trail=trail)


@app.post("/customers/<customerId>/erasure")
@tracer.capture_method
def erase_customer(customerId: CustomerId) -> ErasureResponse:  # noqa: N803 - the route's parameter name
    tenant, actor = caller()
    return logic.erase_customer(customerId, tenant=tenant, actor=actor, env=env)


internal = internal_router(env)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    if internal.owns(event):  # a direct invoke from the aggregator (functions/overview), never API Gateway's event
        return internal.resolve(event)
    return app.resolve(event, context)
