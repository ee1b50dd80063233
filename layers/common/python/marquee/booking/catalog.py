"""Catalog data access: cinemas, auditoriums, movies, showtimes (with their seat items) and the showtime index.

Every function takes the caller's ``TenantContext`` and builds every key from it (docs/booking-data-model.md). A
showtime is written in two steps: its seat items first (BatchWriteItem, 25 per call), then the showtime item, its
index entry and its ``ShowtimeScheduled`` event in ONE transaction, so a showtime is listed only once all its seats
exist.

Every catalog change writes its event in the same transaction (the outbox, challenge 12): ``CinemaOpened``,
``MovieChanged`` (with the movie's ``revision``, which an update moves by one under an optimistic check) and
``ShowtimeScheduled``. The read models and the search documents are built from these events (docs/patterns/05-cqrs.md).

Cinemas, movies and showtimes are versioned and soft-deleted (challenge 8, docs/patterns/08-soft-delete-and-audit.md):
every change (create, update, delete, restore) moves the entity's ``revision`` by one under an optimistic check and
writes a version item (``marquee.history``) in the same transaction as the change and its event. A delete sets
``deletedAt`` (``MovieDeleted``, ``CinemaDeleted``, ``ShowtimeDeleted``), a restore removes it (``...Restored``);
nothing is removed, so staff can read any past state.
"""

from __future__ import annotations

import string
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from marquee.booking import seats
from marquee.booking.errors import NotFound, UnprocessableError
from marquee.core import aws
from marquee.core.money import Money
from marquee.dynamo.conditions import ITEM_IS_NEW
from marquee.history import settings, versions
from marquee.history.versions import Actor, Change
from marquee.history.writes import Committed, Plan, commit
from marquee.messaging.events import EventData, envelope, register
from marquee.messaging.outbox import outbox_put
from marquee.tenancy.tenant import TenantContext

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

META = "META"
ROW_LETTERS = string.ascii_uppercase  # at most 26 rows: A..Z
BATCH_WRITE_MAX = 25


class Cinema(BaseModel):
    model_config = ConfigDict(frozen=True)
    cinema_id: str
    name: str
    city: str


class Auditorium(BaseModel):
    model_config = ConfigDict(frozen=True)
    auditorium_id: str
    cinema_id: str
    name: str
    rows: int
    seats_per_row: int
    unavailable: list[str]

    def seat_ids(self) -> list[str]:
        return [f"{ROW_LETTERS[r]}{n}" for r in range(self.rows) for n in range(1, self.seats_per_row + 1)]


class MovieDetails(BaseModel):
    """What a movie says about itself beyond its title: searched (challenge 14), never used for booking."""

    model_config = ConfigDict(frozen=True)
    original_title: str = ""
    cast: list[str] = []
    director: str = ""
    synopsis: str = ""
    genres: list[str] = []


class Movie(MovieDetails):
    movie_id: str
    title: str
    runtime_minutes: int


class Showtime(BaseModel):
    model_config = ConfigDict(frozen=True)
    showtime_id: str
    movie_id: str
    auditorium_id: str
    starts_at: datetime
    price: Money
    hold_lease_seconds: int
    title: str | None = None


class SeatView(BaseModel):
    model_config = ConfigDict(frozen=True)
    seat_id: str
    state: seats.SeatState


# ---- events -------------------------------------------------------------------------------------------------------------
@register
class CinemaOpened(EventData):
    event_type: ClassVar[str] = "CinemaOpened"
    cinema_id: str
    name: str
    city: str
    revision: int = Field(default=1, ge=1, description="The cinema's revision (1 when it opens)")


@register
class MovieChanged(EventData):
    """A movie was created (revision 1) or replaced (each PUT adds one); the whole movie, not a diff."""

    event_type: ClassVar[str] = "MovieChanged"
    movie_id: str
    revision: int = Field(ge=1, description="The movie's revision: a read model keeps the highest it has seen")
    title: str
    runtime_minutes: int
    original_title: str = ""
    cast: list[str] = Field(default_factory=list)
    director: str = ""
    synopsis: str = ""
    genres: list[str] = Field(default_factory=list)


@register
class ShowtimeScheduled(EventData):
    event_type: ClassVar[str] = "ShowtimeScheduled"
    showtime_id: str
    movie_id: str
    auditorium_id: str
    cinema_id: str
    cinema_name: str
    city: str
    title: str
    starts_at: datetime
    price: Money
    capacity: int = Field(ge=0, description="Seats that can be sold (the auditorium's, less its unavailable seats)")


class _Lifecycle(EventData):
    """A soft delete or a restore (challenge 8): the entity's new ``revision`` orders it against its other events."""

    revision: int = Field(ge=2, description="The entity's revision after the change: a read model keeps the highest")


@register
class MovieDeleted(_Lifecycle):
    """A movie was soft-deleted: hidden from customers, its search documents and its showtimes' listed."""

    event_type: ClassVar[str] = "MovieDeleted"
    movie_id: str


@register
class MovieRestored(_Lifecycle):
    event_type: ClassVar[str] = "MovieRestored"
    movie_id: str


@register
class CinemaDeleted(_Lifecycle):
    event_type: ClassVar[str] = "CinemaDeleted"
    cinema_id: str


@register
class CinemaRestored(_Lifecycle):
    event_type: ClassVar[str] = "CinemaRestored"
    cinema_id: str


@register
class ShowtimeDeleted(_Lifecycle):
    event_type: ClassVar[str] = "ShowtimeDeleted"
    showtime_id: str
    movie_id: str


@register
class ShowtimeRestored(_Lifecycle):
    event_type: ClassVar[str] = "ShowtimeRestored"
    showtime_id: str
    movie_id: str


def _event(tenant: TenantContext, table_name: str, data: EventData, correlation_id: str) -> dict[str, Any]:
    """The outbox ``Put`` of a catalog event; its correlation id is the entity's id."""
    return outbox_put(table_name, envelope(data, tenant_id=tenant.tenant_id, correlation_id=correlation_id))


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def _client(client: DynamoDBClient | None) -> DynamoDBClient:
    return client if client is not None else aws.dynamodb()


def _meta_key(tenant: TenantContext, kind: str, entity_id: str) -> dict[str, Any]:
    return {"pk": {"S": tenant.key(kind, entity_id)}, "sk": {"S": META}}


def _get_meta(
    ddb: DynamoDBClient,
    table_name: str,
    tenant: TenantContext,
    kind: str,
    entity_id: str,
    *,
    consistent: bool = False,
) -> dict[str, Any] | None:
    item: dict[str, Any] | None = ddb.get_item(
        TableName=table_name, Key=_meta_key(tenant, kind, entity_id), ConsistentRead=consistent
    ).get("Item")
    return item


def _put_new(ddb: DynamoDBClient, table_name: str, item: dict[str, Any]) -> None:
    ddb.put_item(TableName=table_name, Item=item, ConditionExpression=ITEM_IS_NEW)


def _new_put(table_name: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"Put": {"TableName": table_name, "Item": item, "ConditionExpression": ITEM_IS_NEW}}


# ---- versioned writes (challenge 8) -------------------------------------------------------------------------------
def _revision(item: Mapping[str, Any]) -> int:
    return int(item.get("revision", {}).get("N", "1"))


def _changed_at(item: Mapping[str, Any]) -> str | None:
    value: str | None = item.get("changedAt", {}).get("S")
    return value


def is_deleted(item: Mapping[str, Any]) -> bool:
    return "deletedAt" in item


def _on_revision(item: Mapping[str, Any]) -> dict[str, Any]:
    """The condition of a write on the revision ``item`` had when it was read (items from before revisions: none)."""
    if "revision" in item:
        return {
            "ConditionExpression": "attribute_exists(pk) AND revision = :seen",
            "ExpressionAttributeValues": {":seen": item["revision"]},
        }
    return {"ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(revision)"}


def cinema_state(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": item["name"]["S"], "city": item["city"]["S"], "deleted": is_deleted(item)}


def movie_state(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "title": item["title"]["S"],
        "runtimeMinutes": int(item["runtimeMinutes"]["N"]),
        "originalTitle": item.get("originalTitle", {}).get("S", ""),
        "cast": [c["S"] for c in item.get("cast", {}).get("L", [])],
        "director": item.get("director", {}).get("S", ""),
        "synopsis": item.get("synopsis", {}).get("S", ""),
        "genres": [g["S"] for g in item.get("genres", {}).get("L", [])],
        "deleted": is_deleted(item),
    }


def showtime_state(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "movieId": item["movieId"]["S"],
        "auditoriumId": item["auditoriumId"]["S"],
        "title": item.get("title", {}).get("S"),
        "startsAt": item["startsAt"]["S"],
        "price": {"amount": int(item["price"]["M"]["amount"]["N"]), "currency": item["price"]["M"]["currency"]["S"]},
        "holdLeaseSeconds": int(item["holdLeaseSeconds"]["N"]),
        "deleted": is_deleted(item),
    }


STATES = {"CINEMA": cinema_state, "MOVIE": movie_state, "SHOWTIME": showtime_state}


def _stamp(at: datetime, revision: int) -> dict[str, Any]:
    return {"revision": {"N": str(revision)}, "changedAt": {"S": versions.fmt(at)}}


def _created(
    ddb: DynamoDBClient,
    table_name: str,
    tenant: TenantContext,
    kind: str,
    entity_id: str,
    *,
    actor: Actor,
    attributes: dict[str, Any],
    event: EventData,
    extra: Callable[[datetime], list[dict[str, Any]]] | None = None,
) -> None:
    """Create an entity at revision 1: its item, its event, its registry entry and its first version, in ONE
    transaction."""
    item = {**_meta_key(tenant, kind, entity_id), "entity": {"S": kind}, **attributes}

    def plan() -> Plan:
        def items(at: datetime) -> list[dict[str, Any]]:
            return [
                _new_put(table_name, {**item, **_stamp(at, 1)}),
                _event(tenant, table_name, event, entity_id),
                settings.registry_put(table_name, tenant, kind, entity_id),
                *(extra(at) if extra else []),
            ]

        return Plan(1, Change.CREATED, None, STATES[kind](item), None, items)

    commit(ddb, table_name, tenant, kind, entity_id, actor=actor, plan=plan)


def _set_deleted(
    ddb: DynamoDBClient,
    table_name: str,
    tenant: TenantContext,
    kind: str,
    entity_id: str,
    *,
    deleted: bool,
    actor: Actor,
    event: Callable[[Mapping[str, Any], int], EventData],
    extra: Callable[[Mapping[str, Any], datetime], list[dict[str, Any]]] | None = None,
) -> Committed | None:
    """Soft-delete (``deleted``) or restore an entity: ``deletedAt`` set or removed, the revision moved by one, its event
    and its version, in ONE transaction. Already in that state: nothing is written (``None``)."""

    def plan() -> Plan | None:
        current = _get_meta(ddb, table_name, tenant, kind, entity_id, consistent=True)
        if current is None:
            raise NotFound(f"No {kind.lower()} {entity_id}.")
        if is_deleted(current) == deleted:
            return None
        revision = _revision(current) + 1
        before = STATES[kind](current)

        def items(at: datetime) -> list[dict[str, Any]]:
            stamp = versions.fmt(at)
            update = {
                "TableName": table_name,
                "Key": _meta_key(tenant, kind, entity_id),
                "UpdateExpression": "SET revision = :r, changedAt = :at"
                + (", deletedAt = :at" if deleted else " REMOVE deletedAt"),
                **_on_revision(current),
            }
            update["ExpressionAttributeValues"] = {
                **update.get("ExpressionAttributeValues", {}),
                ":r": {"N": str(revision)},
                ":at": {"S": stamp},
            }
            return [
                {"Update": update},
                _event(tenant, table_name, event(current, revision), entity_id),
                *(extra(current, at) if extra else []),
            ]

        change = Change.DELETED if deleted else Change.RESTORED
        return Plan(revision, change, before, {**before, "deleted": deleted}, _changed_at(current), items)

    return commit(ddb, table_name, tenant, kind, entity_id, actor=actor, plan=plan)


# ---- cinemas, auditoriums, movies ----------------------------------------------------------------------------------
def create_cinema(
    tenant: TenantContext,
    *,
    name: str,
    city: str,
    actor: Actor,
    table_name: str,
    client: DynamoDBClient | None = None,
    cinema_id: str | None = None,
) -> Cinema:
    cinema = Cinema(cinema_id=cinema_id or new_id("cin"), name=name, city=city)
    opened = CinemaOpened(cinema_id=cinema.cinema_id, name=name, city=city)
    _created(
        _client(client), table_name, tenant, "CINEMA", cinema.cinema_id,
        actor=actor, attributes={"name": {"S": name}, "city": {"S": city}}, event=opened,
    )  # fmt: skip
    return cinema


def set_cinema_deleted(
    tenant: TenantContext,
    cinema_id: str,
    *,
    deleted: bool,
    actor: Actor,
    table_name: str,
    client: DynamoDBClient | None = None,
) -> Committed | None:
    """Soft-delete or restore a cinema. Its auditoriums and showtimes stay as they are; the listing and search hide
    the showtimes of a deleted cinema (they read its tombstone)."""
    return _set_deleted(
        _client(client), table_name, tenant, "CINEMA", cinema_id, deleted=deleted, actor=actor,
        event=lambda _item, revision: (
            CinemaDeleted(cinema_id=cinema_id, revision=revision)
            if deleted
            else CinemaRestored(cinema_id=cinema_id, revision=revision)
        ),
    )  # fmt: skip


def create_auditorium(
    tenant: TenantContext,
    *,
    cinema_id: str,
    name: str,
    rows: int,
    seats_per_row: int,
    unavailable: list[str],
    table_name: str,
    client: DynamoDBClient | None = None,
) -> Auditorium:
    ddb = _client(client)
    cinema = _get_meta(ddb, table_name, tenant, "CINEMA", cinema_id)
    if cinema is None or is_deleted(cinema):
        raise UnprocessableError(f"No cinema {cinema_id} in this tenant.")
    auditorium = Auditorium(
        auditorium_id=new_id("aud"),
        cinema_id=cinema_id,
        name=name,
        rows=rows,
        seats_per_row=seats_per_row,
        unavailable=sorted(set(unavailable)),
    )
    outside = sorted(set(unavailable) - set(auditorium.seat_ids()))
    if outside:
        raise UnprocessableError(f"Unavailable seats outside the auditorium: {', '.join(outside)}.")
    item = {
        **_meta_key(tenant, "AUDITORIUM", auditorium.auditorium_id),
        "entity": {"S": "AUDITORIUM"},
        "cinemaId": {"S": cinema_id},
        "name": {"S": name},
        "rows": {"N": str(rows)},
        "seatsPerRow": {"N": str(seats_per_row)},
        "unavailable": {"L": [{"S": s} for s in auditorium.unavailable]},
    }
    _put_new(ddb, table_name, item)
    return auditorium


def get_auditorium(
    tenant: TenantContext, auditorium_id: str, *, table_name: str, client: DynamoDBClient | None = None
) -> Auditorium | None:
    item = _get_meta(_client(client), table_name, tenant, "AUDITORIUM", auditorium_id)
    if item is None:
        return None
    return Auditorium(
        auditorium_id=auditorium_id,
        cinema_id=item["cinemaId"]["S"],
        name=item["name"]["S"],
        rows=int(item["rows"]["N"]),
        seats_per_row=int(item["seatsPerRow"]["N"]),
        unavailable=[s["S"] for s in item.get("unavailable", {}).get("L", [])],
    )


def _movie_attributes(title: str, runtime_minutes: int, details: MovieDetails) -> dict[str, Any]:
    return {
        "title": {"S": title},
        "runtimeMinutes": {"N": str(runtime_minutes)},
        "originalTitle": {"S": details.original_title},
        "cast": {"L": [{"S": c} for c in details.cast]},
        "director": {"S": details.director},
        "synopsis": {"S": details.synopsis},
        "genres": {"L": [{"S": g} for g in details.genres]},
    }


def _movie_changed(movie: Movie, revision: int) -> MovieChanged:
    return MovieChanged(revision=revision, **movie.model_dump())


def create_movie(
    tenant: TenantContext,
    *,
    title: str,
    runtime_minutes: int,
    details: MovieDetails | None = None,
    actor: Actor,
    table_name: str,
    client: DynamoDBClient | None = None,
    movie_id: str | None = None,
) -> Movie:
    details = details or MovieDetails()
    movie = Movie(
        movie_id=movie_id or new_id("mov"), title=title, runtime_minutes=runtime_minutes, **details.model_dump()
    )
    _created(
        _client(client), table_name, tenant, "MOVIE", movie.movie_id,
        actor=actor, attributes=_movie_attributes(title, runtime_minutes, details), event=_movie_changed(movie, 1),
    )  # fmt: skip
    return movie


def update_movie(
    tenant: TenantContext,
    movie_id: str,
    *,
    title: str,
    runtime_minutes: int,
    details: MovieDetails,
    actor: Actor,
    table_name: str,
    client: DynamoDBClient | None = None,
) -> Movie:
    """Replace the movie's title, runtime and details; ``NotFound`` if this tenant has no such movie, or it is deleted
    (restore it first). Showtimes keep the title they were created with (their items are a snapshot); the search
    documents follow the movie.

    Optimistic: the movie is read, then written on condition that its revision has not moved, with its
    ``MovieChanged`` event (revision + 1) and its version in the same transaction (``marquee.history.writes``). Two
    concurrent updates never write the same revision: the loser reads again and goes on top (a PUT replaces the whole
    movie, so the last one wins, and the read models see the revisions in order); each committed update has exactly
    one version.
    """
    ddb = _client(client)
    movie = Movie(movie_id=movie_id, title=title, runtime_minutes=runtime_minutes, **details.model_dump())
    attributes = _movie_attributes(title, runtime_minutes, details)

    def plan() -> Plan:
        current = _get_meta(ddb, table_name, tenant, "MOVIE", movie_id, consistent=True)
        if current is None or is_deleted(current):
            raise NotFound(f"No movie {movie_id}.")
        revision = _revision(current) + 1
        item = {**_meta_key(tenant, "MOVIE", movie_id), "entity": {"S": "MOVIE"}, **attributes}

        def items(at: datetime) -> list[dict[str, Any]]:
            put = {"TableName": table_name, "Item": {**item, **_stamp(at, revision)}, **_on_revision(current)}
            return [{"Put": put}, _event(tenant, table_name, _movie_changed(movie, revision), movie_id)]

        return Plan(revision, Change.UPDATED, movie_state(current), movie_state(item), _changed_at(current), items)

    commit(ddb, table_name, tenant, "MOVIE", movie_id, actor=actor, plan=plan)
    return movie


def set_movie_deleted(
    tenant: TenantContext,
    movie_id: str,
    *,
    deleted: bool,
    actor: Actor,
    table_name: str,
    client: DynamoDBClient | None = None,
) -> Committed | None:
    """Soft-delete or restore a movie: customers get 404 for it; its showtimes stay (the listing and search hide them
    while it is deleted); staff still read it, its history and any past state (``movie_as_of``)."""
    return _set_deleted(
        _client(client), table_name, tenant, "MOVIE", movie_id, deleted=deleted, actor=actor,
        event=lambda _item, revision: (
            MovieDeleted(movie_id=movie_id, revision=revision)
            if deleted
            else MovieRestored(movie_id=movie_id, revision=revision)
        ),
    )  # fmt: skip


def _bookkeeping(item: Mapping[str, Any]) -> dict[str, Any]:
    """An entity item's ``revision``, ``deleted`` and ``changed_at``, as the reads answer them beside the entity."""
    return {"revision": _revision(item), "deleted": is_deleted(item), "changed_at": _changed_at(item)}


def get_movie(
    tenant: TenantContext, movie_id: str, *, table_name: str, client: DynamoDBClient | None = None
) -> tuple[Movie, dict[str, Any]]:
    """The movie now and its item's bookkeeping (``revision``, ``deleted``, ``changedAt``); ``NotFound`` if none."""
    item = _get_meta(_client(client), table_name, tenant, "MOVIE", movie_id, consistent=True)
    if item is None:
        raise NotFound(f"No movie {movie_id}.")
    return movie_from_state(movie_id, movie_state(item)), _bookkeeping(item)


def get_cinema(
    tenant: TenantContext, cinema_id: str, *, table_name: str, client: DynamoDBClient | None = None
) -> tuple[Cinema, dict[str, Any]]:
    """The cinema now and its item's bookkeeping (``revision``, ``deleted``, ``changedAt``); ``NotFound`` if none."""
    item = _get_meta(_client(client), table_name, tenant, "CINEMA", cinema_id, consistent=True)
    if item is None:
        raise NotFound(f"No cinema {cinema_id}.")
    return cinema_from_state(cinema_id, cinema_state(item)), _bookkeeping(item)


def cinema_from_state(cinema_id: str, state: Mapping[str, Any]) -> Cinema:
    """A cinema from a version's ``before``/``after`` (``cinema_state``)."""
    return Cinema(cinema_id=cinema_id, name=state["name"], city=state["city"])


def showtime_from_state(showtime_id: str, state: Mapping[str, Any]) -> Showtime:
    """A showtime from a version's ``before``/``after`` (``showtime_state``)."""
    return Showtime(
        showtime_id=showtime_id,
        movie_id=state["movieId"],
        auditorium_id=state["auditoriumId"],
        starts_at=datetime.fromisoformat(state["startsAt"]),
        price=Money(amount=state["price"]["amount"], currency=state["price"]["currency"]),
        hold_lease_seconds=state["holdLeaseSeconds"],
        title=state.get("title"),
    )


def movie_from_state(movie_id: str, state: Mapping[str, Any]) -> Movie:
    return Movie(
        movie_id=movie_id,
        title=state["title"],
        runtime_minutes=state["runtimeMinutes"],
        original_title=state.get("originalTitle", ""),
        cast=list(state.get("cast", [])),
        director=state.get("director", ""),
        synopsis=state.get("synopsis", ""),
        genres=list(state.get("genres", [])),
    )


# ---- showtimes -------------------------------------------------------------------------------------------------------
def create_showtime(
    tenant: TenantContext,
    *,
    movie_id: str,
    auditorium_id: str,
    starts_at: datetime,
    price: Money,
    hold_lease_seconds: int,
    actor: Actor,
    table_name: str,
    client: DynamoDBClient | None = None,
    showtime_id: str | None = None,
) -> Showtime:
    ddb = _client(client)
    movie = _get_meta(ddb, table_name, tenant, "MOVIE", movie_id)
    if movie is None or is_deleted(movie):
        raise UnprocessableError(f"No movie {movie_id} in this tenant.")
    auditorium = get_auditorium(tenant, auditorium_id, table_name=table_name, client=ddb)
    if auditorium is None:
        raise UnprocessableError(f"No auditorium {auditorium_id} in this tenant.")
    cinema = _get_meta(ddb, table_name, tenant, "CINEMA", auditorium.cinema_id) or {}
    showtime = Showtime(
        showtime_id=showtime_id or new_id("sht"),
        movie_id=movie_id,
        auditorium_id=auditorium_id,
        starts_at=starts_at,
        price=price,
        hold_lease_seconds=hold_lease_seconds,
        title=movie["title"]["S"],
    )
    unavailable = set(auditorium.unavailable)
    seat_items = [
        seats.seat_item(tenant, showtime.showtime_id, s, available=s not in unavailable) for s in auditorium.seat_ids()
    ]
    _batch_put(ddb, table_name, seat_items)
    starts = starts_at.isoformat()
    summary: dict[str, Any] = {
        "showtimeId": {"S": showtime.showtime_id},
        "movieId": {"S": movie_id},
        "title": {"S": showtime.title or ""},
        "auditoriumId": {"S": auditorium_id},
        "startsAt": {"S": starts},
        "price": {"M": {"amount": {"N": str(price.amount)}, "currency": {"S": price.currency}}},
        "holdLeaseSeconds": {"N": str(hold_lease_seconds)},
    }
    scheduled = ShowtimeScheduled(
        showtime_id=showtime.showtime_id,
        movie_id=movie_id,
        auditorium_id=auditorium_id,
        cinema_id=auditorium.cinema_id,
        cinema_name=cinema.get("name", {}).get("S", ""),
        city=cinema.get("city", {}).get("S", ""),
        title=showtime.title or "",
        starts_at=starts_at,
        price=price,
        capacity=len(auditorium.seat_ids()) - len(unavailable),
    )

    def index_entry(at: datetime) -> list[dict[str, Any]]:
        index = {"pk": {"S": tenant.key("SHOWTIMES")}, "sk": {"S": f"{starts}#{showtime.showtime_id}"}}
        return [_new_put(table_name, {**index, "entity": {"S": "SHOWTIME_INDEX"}, **summary})]

    _created(
        ddb, table_name, tenant, "SHOWTIME", showtime.showtime_id,
        actor=actor, attributes=summary, event=scheduled, extra=index_entry,
    )  # fmt: skip
    return showtime


def _batch_put(ddb: DynamoDBClient, table_name: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), BATCH_WRITE_MAX):
        request: dict[str, Any] = {
            table_name: [{"PutRequest": {"Item": i}} for i in items[start : start + BATCH_WRITE_MAX]]
        }
        while request:
            response = ddb.batch_write_item(RequestItems=request)
            request = response.get("UnprocessedItems") or {}  # type: ignore[assignment]


def showtime_from_item(item: Mapping[str, Any]) -> Showtime:
    return Showtime(
        showtime_id=item["showtimeId"]["S"],
        movie_id=item["movieId"]["S"],
        auditorium_id=item["auditoriumId"]["S"],
        starts_at=datetime.fromisoformat(item["startsAt"]["S"]),
        price=Money(amount=int(item["price"]["M"]["amount"]["N"]), currency=item["price"]["M"]["currency"]["S"]),
        hold_lease_seconds=int(item["holdLeaseSeconds"]["N"]),
        title=item.get("title", {}).get("S"),
    )


def list_showtimes(
    tenant: TenantContext,
    *,
    table_name: str,
    limit: int,
    after: str | None = None,
    client: DynamoDBClient | None = None,
) -> tuple[list[Showtime], str | None]:
    """Showtimes by start time; ``after`` is the opaque cursor returned by the previous page."""
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": tenant.key("SHOWTIMES")}},
        "Limit": limit,
    }
    if after:
        kwargs["ExclusiveStartKey"] = {"pk": {"S": tenant.key("SHOWTIMES")}, "sk": {"S": after}}
    response = _client(client).query(**kwargs)
    cursor = response.get("LastEvaluatedKey", {}).get("sk", {}).get("S")
    return [showtime_from_item(i) for i in response.get("Items", []) if not is_deleted(i)], cursor


def get_showtime(
    tenant: TenantContext,
    showtime_id: str,
    *,
    table_name: str,
    include_deleted: bool = False,
    client: DynamoDBClient | None = None,
) -> Showtime:
    """The showtime; ``NotFound`` if none, or if it is soft-deleted (unless ``include_deleted``)."""
    item = _get_meta(_client(client), table_name, tenant, "SHOWTIME", showtime_id)
    if item is None or (is_deleted(item) and not include_deleted):
        raise NotFound(f"No showtime {showtime_id}.")
    return showtime_from_item(item)


def set_showtime_deleted(
    tenant: TenantContext,
    showtime_id: str,
    *,
    deleted: bool,
    actor: Actor,
    table_name: str,
    client: DynamoDBClient | None = None,
) -> Committed | None:
    """Soft-delete or restore a showtime: its seat map is a 404 and new holds are refused while it is deleted (holds
    and orders already made stay as they are); its listing entry is marked in the same transaction."""

    def index_entry(item: Mapping[str, Any], at: datetime) -> list[dict[str, Any]]:
        update: dict[str, Any] = {
            "TableName": table_name,
            "Key": {"pk": {"S": tenant.key("SHOWTIMES")}, "sk": {"S": f"{item['startsAt']['S']}#{showtime_id}"}},
            "ConditionExpression": "attribute_exists(pk)",
        }
        if deleted:
            update["UpdateExpression"] = "SET deletedAt = :at"
            update["ExpressionAttributeValues"] = {":at": {"S": versions.fmt(at)}}
        else:
            update["UpdateExpression"] = "REMOVE deletedAt"
        return [{"Update": update}]

    return _set_deleted(
        _client(client), table_name, tenant, "SHOWTIME", showtime_id, deleted=deleted, actor=actor,
        event=lambda item, revision: (
            ShowtimeDeleted(showtime_id=showtime_id, movie_id=item["movieId"]["S"], revision=revision)
            if deleted
            else ShowtimeRestored(showtime_id=showtime_id, movie_id=item["movieId"]["S"], revision=revision)
        ),
        extra=index_entry,
    )  # fmt: skip


def seat_map(
    tenant: TenantContext,
    showtime_id: str,
    *,
    table_name: str,
    now_ms: int,
    client: DynamoDBClient | None = None,
) -> list[SeatView]:
    """Every seat of the showtime and its state at ``now_ms`` (free/held/sold/unavailable), row by row."""
    ddb = _client(client)
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :seat)",
        "ExpressionAttributeValues": {
            ":pk": {"S": seats.showtime_pk(tenant, showtime_id)},
            ":seat": {"S": seats.SEAT_PREFIX},
        },
        "ConsistentRead": True,
    }
    views: list[SeatView] = []
    while True:
        response = ddb.query(**kwargs)
        for item in response.get("Items", []):
            seat = seats.seat_from_item(item)
            views.append(SeatView(seat_id=seat.seat_id, state=seat.state(now_ms)))
        if "LastEvaluatedKey" not in response:
            break
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    views.sort(key=lambda v: (v.seat_id[0], int(v.seat_id[1:])))
    return views
