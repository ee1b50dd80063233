"""Catalog logic: staff create cinemas, auditoriums, movies and showtimes; anyone reads a showtime's live seat map.

Each write also writes its event (``marquee.booking.catalog``); the listing and the search documents are read models
built from those events (GET /showtimes is served by the queries function, GET /search by search)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from pydantic import BaseModel

from marquee.audit.access import AccessRecord, AccessTrail, Origin, returned_personal_fields
from marquee.booking import catalog
from marquee.booking.errors import ConflictError, NotFound
from marquee.booking.seats import now_ms
from marquee.core import flags
from marquee.core.errors import BadRequestError
from marquee.customers import profiles
from marquee.dynamo.conditions import CONDITION_FAILED, error_code
from marquee.history import erasure, settings, versions
from marquee.history.versions import Actor
from marquee.history.writes import Committed, utc_now
from marquee.tenancy.tenant import TenantContext

from . import suggestions
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
    SeatCounts,
    SeatOut,
    ShowtimeAsOf,
    ShowtimeDetail,
    ShowtimeRequest,
    ShowtimeSummary,
    SuggestionResponse,
    VersionOut,
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


def create_cinema(request: CinemaRequest, *, tenant: TenantContext, actor: Actor, env: CatalogEnv) -> CinemaResponse:
    tenant.require_group(STAFF)
    cinema = catalog.create_cinema(
        tenant,
        name=request.name,
        city=request.city,
        actor=actor,
        table_name=env.table_name,
        client=env.dynamodb_for(tenant),
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


def create_movie(request: MovieRequest, *, tenant: TenantContext, actor: Actor, env: CatalogEnv) -> MovieResponse:
    tenant.require_group(STAFF)
    movie = catalog.create_movie(
        tenant,
        title=request.title,
        runtime_minutes=request.runtime_minutes,
        details=_details(request),
        actor=actor,
        table_name=env.table_name,
        client=env.dynamodb_for(tenant),
    )
    return MovieResponse(**movie.model_dump())


def update_movie(
    movie_id: str, request: MovieRequest, *, tenant: TenantContext, actor: Actor, env: CatalogEnv
) -> MovieResponse:
    tenant.require_group(STAFF)
    movie = catalog.update_movie(
        tenant,
        movie_id,
        title=request.title,
        runtime_minutes=request.runtime_minutes,
        details=_details(request),
        actor=actor,
        table_name=env.table_name,
        client=env.dynamodb_for(tenant),
    )
    return MovieResponse(**movie.model_dump())


def create_showtime(
    request: ShowtimeRequest, *, tenant: TenantContext, actor: Actor, env: CatalogEnv
) -> ShowtimeSummary:
    tenant.require_group(STAFF)
    client = env.dynamodb_for(tenant)
    showtime = catalog.create_showtime(
        tenant,
        movie_id=request.movie_id,
        auditorium_id=request.auditorium_id,
        starts_at=request.starts_at,
        price=request.price,
        hold_lease_seconds=request.hold_lease_seconds or env.default_hold_lease_seconds,
        actor=actor,
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


# ---- soft delete and temporal audit (challenge 8) ---------------------------------------------------------------------
SET_DELETED = {
    "MOVIE": catalog.set_movie_deleted,
    "CINEMA": catalog.set_cinema_deleted,
    "SHOWTIME": catalog.set_showtime_deleted,
}


def set_deleted(
    kind: str, entity_id: str, *, deleted: bool, tenant: TenantContext, actor: Actor, env: CatalogEnv
) -> LifecycleResponse:
    """DELETE (soft) or POST .../restore of a movie, cinema or showtime: staff only; a second call changes nothing."""
    tenant.require_group(STAFF)
    committed: Committed | None = SET_DELETED[kind](
        tenant, entity_id, deleted=deleted, actor=actor, table_name=env.table_name, client=env.dynamodb_for(tenant)
    )
    return LifecycleResponse(
        entity_id=entity_id,
        deleted=deleted,
        revision=committed.revision if committed else None,
        changed=committed is not None,
    )


def parse_as_of(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadRequestError("asOf is not an ISO 8601 date-time (e.g. 2026-12-01T10:00:00Z).") from exc
    if at.tzinfo is None:
        raise BadRequestError("asOf needs a time zone (e.g. 2026-12-01T10:00:00Z).")
    return at.astimezone(UTC)


def get_movie(movie_id: str, *, as_of: str | None, tenant: TenantContext, env: CatalogEnv) -> MovieRead:
    """The movie now (customers: 404 once deleted), or as it was at ``as_of`` (staff; deleted movies too)."""
    if as_of is None:
        movie, meta = catalog.get_movie(tenant, movie_id, table_name=env.table_name, client=env.dynamodb_for(tenant))
        return MovieRead(**_now(movie, meta, "movie", movie_id, tenant))
    return MovieRead(**_then("MOVIE", movie_id, as_of, catalog.movie_from_state, tenant=tenant, env=env))


def get_cinema(cinema_id: str, *, as_of: str | None, tenant: TenantContext, env: CatalogEnv) -> CinemaRead:
    """The cinema now (customers: 404 once deleted), or as it was at ``as_of`` (staff; deleted cinemas too)."""
    if as_of is None:
        cinema, meta = catalog.get_cinema(tenant, cinema_id, table_name=env.table_name, client=env.dynamodb_for(tenant))
        return CinemaRead(**_now(cinema, meta, "cinema", cinema_id, tenant))
    return CinemaRead(**_then("CINEMA", cinema_id, as_of, catalog.cinema_from_state, tenant=tenant, env=env))


def showtime_as_of(showtime_id: str, as_of: str, *, tenant: TenantContext, env: CatalogEnv) -> ShowtimeAsOf:
    """The showtime as it was at ``as_of`` (staff; deleted showtimes too): its fields, not its seats."""
    return ShowtimeAsOf(**_then("SHOWTIME", showtime_id, as_of, catalog.showtime_from_state, tenant=tenant, env=env))


def _now(entity: BaseModel, meta: dict[str, Any], kind: str, entity_id: str, tenant: TenantContext) -> dict[str, Any]:
    """An entity's fields now, with its revision and deletion; a deleted one is a 404 to all but staff."""
    if meta["deleted"] and not tenant.in_group(STAFF):
        raise NotFound(f"No {kind} {entity_id}.")
    return {
        **entity.model_dump(),
        "revision": meta["revision"],
        "deleted": meta["deleted"],
        "changed_at": versions.parse(meta["changed_at"]) if meta["changed_at"] else None,
    }


def _then(
    kind: str,
    entity_id: str,
    as_of: str,
    from_state: Callable[[str, dict[str, Any]], BaseModel],
    *,
    tenant: TenantContext,
    env: CatalogEnv,
) -> dict[str, Any]:
    """The entity's fields in the version in effect at ``as_of`` (staff; deleted entities too), with that version's
    revision, deletion and time, and the time asked for. None yet, or erased: 404."""
    tenant.require_group(STAFF)
    at = parse_as_of(as_of)
    version = versions.as_of(env.dynamodb_for(tenant), env.table_name, tenant, kind, entity_id, at)
    if version is None or version.after is None or version.erased:
        raise NotFound(f"No {kind.lower()} {entity_id} at {as_of}.")
    return {
        **from_state(entity_id, version.after).model_dump(),
        "revision": version.revision,
        "deleted": bool(version.after.get("deleted")),
        "changed_at": version.at,
        "as_of": at,
    }


def history(
    kind: str, entity_id: str, *, limit: int, cursor: str | None, tenant: TenantContext, env: CatalogEnv
) -> HistoryPage:
    """An entity's versions, newest first (staff; deleted entities too). No version at all: 404."""
    tenant.require_group(STAFF)
    found, next_cursor = versions.history(
        env.dynamodb_for(tenant), env.table_name, tenant, kind, entity_id, limit=limit, cursor=cursor
    )
    if not found and cursor is None:
        raise NotFound(f"No {kind.lower()} {entity_id}.")
    return HistoryPage(
        items=[VersionOut(**v.model_dump(exclude={"kind", "entity_id"})) for v in found], next_cursor=next_cursor
    )


def _settings_out(current: settings.AuditSettings, swept: int | None = None) -> AuditSettingsResponse:
    return AuditSettingsResponse(**current.model_dump(), versions_swept=swept)


def get_audit_settings(*, tenant: TenantContext, env: CatalogEnv) -> AuditSettingsResponse:
    tenant.require_group(STAFF)
    return _settings_out(settings.read(env.dynamodb_for(tenant), env.table_name, tenant))


def put_audit_settings(
    request: AuditSettingsRequest, *, tenant: TenantContext, env: CatalogEnv
) -> AuditSettingsResponse:
    """Change retention and legal hold (staff), then move every existing version's TTL to match (the sweep)."""
    tenant.require_group(STAFF)
    client = env.dynamodb_for(tenant)
    seen = settings.read(client, env.table_name, tenant)
    try:
        stored = settings.write(
            client, env.table_name, tenant,
            retention_days=request.retention_days, legal_hold=request.legal_hold, seen=seen, at=utc_now(),
        )  # fmt: skip
    except ClientError as exc:
        if error_code(exc) == CONDITION_FAILED:
            raise ConflictError("The audit settings changed meanwhile; read them and try again.") from exc
        raise
    swept = settings.sweep(client, env.table_name, tenant, stored)
    return _settings_out(settings.read(client, env.table_name, tenant), swept)


def get_profile(*, tenant: TenantContext, env: CatalogEnv) -> ProfileResponse:
    profile = profiles.get_profile(tenant, tenant.user_id, table_name=env.table_name, client=env.dynamodb_for(tenant))
    return ProfileResponse(**profile.model_dump())


def put_profile(request: ProfileRequest, *, tenant: TenantContext, actor: Actor, env: CatalogEnv) -> ProfileResponse:
    profile = profiles.put_profile(
        tenant,
        display_name=request.display_name,
        email=request.email,
        phone=request.phone,
        actor=actor,
        table_name=env.table_name,
        client=env.dynamodb_for(tenant),
    )
    return ProfileResponse(**profile.model_dump())


PROFILE_READ_ROUTE = "GET /customers/{customerId}/profile"


def read_customer_profile(
    customer_id: str, *, tenant: TenantContext, origin: Origin, env: CatalogEnv, trail: AccessTrail
) -> ProfileResponse:
    """Staff read one customer's profile; the read is recorded in the access trail before the data is returned."""
    tenant.require_group(STAFF)
    profile = profiles.get_profile(tenant, customer_id, table_name=env.table_name, client=env.dynamodb_for(tenant))
    response = ProfileResponse(**profile.model_dump())
    fields = returned_personal_fields(response)
    trail.record(AccessRecord.of(tenant, origin, customer_id=customer_id, route=PROFILE_READ_ROUTE, fields=fields))
    return response


def erase_customer(customer_id: str, *, tenant: TenantContext, actor: Actor, env: CatalogEnv) -> ErasureResponse:
    """GDPR erasure of one of the tenant's customers (staff): see ``marquee.history.erasure``."""
    tenant.require_group(STAFF)
    report = erasure.erase_customer(
        env.dynamodb_for(tenant), env.table_name, tenant, customer_id, actor=actor, at=utc_now()
    )
    return ErasureResponse(**report.__dict__)
