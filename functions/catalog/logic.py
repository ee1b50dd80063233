"""Catalog logic: staff create cinemas, auditoriums, movies and showtimes; anyone reads a showtime's live seat map.

Each write also writes its event (``marquee.booking.catalog``); the listing and the search documents are read models
built from those events (GET /showtimes is served by the queries function, GET /search by search)."""

from __future__ import annotations

from collections import Counter

from aws_lambda_powertools import Logger

from marquee.booking import catalog
from marquee.booking.seats import now_ms
from marquee.core import flags
from marquee.tenancy.tenant import TenantContext

from . import suggestions
from .models import (
    AuditoriumRequest,
    AuditoriumResponse,
    CatalogEnv,
    CinemaRequest,
    CinemaResponse,
    MovieRequest,
    MovieResponse,
    SeatCounts,
    SeatOut,
    ShowtimeDetail,
    ShowtimeRequest,
    ShowtimeSummary,
    SuggestionResponse,
)

STAFF = "staff"
logger = Logger(child=True)


def _details(request: MovieRequest) -> catalog.MovieDetails:
    return catalog.MovieDetails(
        original_title=request.original_title,
        cast=list(request.cast),
        director=request.director,
        synopsis=request.synopsis,
        genres=list(request.genres),
    )


def create_cinema(request: CinemaRequest, *, tenant: TenantContext, env: CatalogEnv) -> CinemaResponse:
    tenant.require_group(STAFF)
    cinema = catalog.create_cinema(
        tenant, name=request.name, city=request.city, table_name=env.table_name, client=env.dynamodb_for(tenant)
    )
    return CinemaResponse(cinema_id=cinema.cinema_id, name=cinema.name, city=cinema.city)


def create_auditorium(request: AuditoriumRequest, *, tenant: TenantContext, env: CatalogEnv) -> AuditoriumResponse:
    tenant.require_group(STAFF)
    auditorium = catalog.create_auditorium(
        tenant,
        cinema_id=request.cinema_id,
        name=request.name,
        rows=request.rows,
        seats_per_row=request.seats_per_row,
        unavailable=list(request.unavailable),
        table_name=env.table_name,
        client=env.dynamodb_for(tenant),
    )
    return AuditoriumResponse(
        **auditorium.model_dump(), capacity=auditorium.rows * auditorium.seats_per_row - len(auditorium.unavailable)
    )


def create_movie(request: MovieRequest, *, tenant: TenantContext, env: CatalogEnv) -> MovieResponse:
    tenant.require_group(STAFF)
    movie = catalog.create_movie(
        tenant,
        title=request.title,
        runtime_minutes=request.runtime_minutes,
        details=_details(request),
        table_name=env.table_name,
        client=env.dynamodb_for(tenant),
    )
    return MovieResponse(**movie.model_dump())


def update_movie(movie_id: str, request: MovieRequest, *, tenant: TenantContext, env: CatalogEnv) -> MovieResponse:
    tenant.require_group(STAFF)
    movie = catalog.update_movie(
        tenant,
        movie_id,
        title=request.title,
        runtime_minutes=request.runtime_minutes,
        details=_details(request),
        table_name=env.table_name,
        client=env.dynamodb_for(tenant),
    )
    return MovieResponse(**movie.model_dump())


def create_showtime(request: ShowtimeRequest, *, tenant: TenantContext, env: CatalogEnv) -> ShowtimeSummary:
    tenant.require_group(STAFF)
    client = env.dynamodb_for(tenant)
    showtime = catalog.create_showtime(
        tenant,
        movie_id=request.movie_id,
        auditorium_id=request.auditorium_id,
        starts_at=request.starts_at,
        price=request.price,
        hold_lease_seconds=request.hold_lease_seconds or env.default_hold_lease_seconds,
        table_name=env.table_name,
        client=client,
    )
    return ShowtimeSummary(**showtime.model_dump())


def get_showtime(showtime_id: str, *, tenant: TenantContext, env: CatalogEnv) -> ShowtimeDetail:
    client = env.dynamodb_for(tenant)
    showtime = catalog.get_showtime(tenant, showtime_id, table_name=env.table_name, client=client)
    views = catalog.seat_map(tenant, showtime_id, table_name=env.table_name, now_ms=now_ms(), client=client)
    counts = Counter(v.state.value for v in views)
    return ShowtimeDetail(
        **showtime.model_dump(),
        seats=[SeatOut(seat_id=v.seat_id, state=v.state.value) for v in views],
        counts=SeatCounts(
            free=counts["free"], held=counts["held"], sold=counts["sold"], unavailable=counts["unavailable"]
        ),
    )


def suggest_seats(showtime_id: str, party: int, *, tenant: TenantContext, env: CatalogEnv) -> SuggestionResponse:
    """v1 or v2 by the caller's feature flag (a percentage rollout per user); both read the same live seat map."""
    client = env.dynamodb_for(tenant)
    catalog.get_showtime(tenant, showtime_id, table_name=env.table_name, client=client)  # 404 if not this tenant's
    views = catalog.seat_map(tenant, showtime_id, table_name=env.table_name, now_ms=now_ms(), client=client)
    free = [v.seat_id for v in views if v.state.value == "free"]
    if flags.is_enabled(suggestions.FLAG, tenant, default=False):
        rows = len({v.seat_id.rstrip("0123456789") for v in views})
        per_row = max((int(v.seat_id.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) for v in views), default=0)
        chosen = suggestions.suggest_v2(free, party, rows_in_auditorium=rows, seats_per_row=per_row)
        return SuggestionResponse(algorithm="v2", party=party, seats=chosen)
    return SuggestionResponse(algorithm="v1", party=party, seats=suggestions.suggest_v1(free, party))
