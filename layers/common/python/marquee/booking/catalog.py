"""Catalog data access: cinemas, auditoriums, movies, showtimes (with their seat items) and the showtime index.

Every function takes the caller's ``TenantContext`` and builds every key from it (docs/booking-data-model.md). A
showtime is written in two steps: its seat items first (BatchWriteItem, 25 per call), then the showtime item, its
index entry and its ``ShowtimeScheduled`` event in ONE transaction, so a showtime is listed only once all its seats
exist.

Every catalog change writes its event in the same transaction (the outbox, challenge 12): ``CinemaOpened``,
``MovieChanged`` (with the movie's ``revision``, which an update moves by one under an optimistic check) and
``ShowtimeScheduled``. The read models and the search documents are built from these events (docs/patterns/05-cqrs.md).
"""

from __future__ import annotations

import string
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from marquee.booking import seats
from marquee.booking.errors import ConflictError, NotFound, UnprocessableError
from marquee.core import aws
from marquee.core.money import Money
from marquee.dynamo.conditions import CONDITION_FAILED, ITEM_IS_NEW
from marquee.dynamo.transactions import cancellation_reasons, is_cancelled
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
MOVIE_UPDATE_ATTEMPTS = 3  # a PUT replaces the movie: a lost revision race is retried on the new revision


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


# ---- cinemas, auditoriums, movies ----------------------------------------------------------------------------------
def create_cinema(
    tenant: TenantContext, *, name: str, city: str, table_name: str, client: DynamoDBClient | None = None
) -> Cinema:
    cinema = Cinema(cinema_id=new_id("cin"), name=name, city=city)
    item = {
        **_meta_key(tenant, "CINEMA", cinema.cinema_id),
        "entity": {"S": "CINEMA"},
        "name": {"S": name},
        "city": {"S": city},
    }
    opened = CinemaOpened(cinema_id=cinema.cinema_id, name=name, city=city)
    _client(client).transact_write_items(
        TransactItems=[_new_put(table_name, item), _event(tenant, table_name, opened, cinema.cinema_id)]  # type: ignore[list-item]
    )
    return cinema


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
    if _get_meta(ddb, table_name, tenant, "CINEMA", cinema_id) is None:
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
    table_name: str,
    client: DynamoDBClient | None = None,
) -> Movie:
    details = details or MovieDetails()
    movie = Movie(movie_id=new_id("mov"), title=title, runtime_minutes=runtime_minutes, **details.model_dump())
    item = {
        **_meta_key(tenant, "MOVIE", movie.movie_id),
        "entity": {"S": "MOVIE"},
        **_movie_attributes(title, runtime_minutes, details),
        "revision": {"N": "1"},
    }
    event = _event(tenant, table_name, _movie_changed(movie, 1), movie.movie_id)
    _client(client).transact_write_items(TransactItems=[_new_put(table_name, item), event])  # type: ignore[list-item]
    return movie


def update_movie(
    tenant: TenantContext,
    movie_id: str,
    *,
    title: str,
    runtime_minutes: int,
    details: MovieDetails,
    table_name: str,
    client: DynamoDBClient | None = None,
) -> Movie:
    """Replace the movie's title, runtime and details; ``NotFound`` if this tenant has no such movie. Showtimes keep
    the title they were created with (their items are a snapshot); the search documents follow the movie.

    Optimistic: the movie is read, then written on condition that its revision has not moved, with its
    ``MovieChanged`` event (revision + 1) in the same transaction. Two concurrent updates never write the same
    revision: the loser reads again and goes on top (a PUT replaces the whole movie, so the last one wins, and the
    read models see the revisions in order).
    """
    ddb = _client(client)
    movie = Movie(movie_id=movie_id, title=title, runtime_minutes=runtime_minutes, **details.model_dump())
    for _attempt in range(MOVIE_UPDATE_ATTEMPTS):
        current = _get_meta(ddb, table_name, tenant, "MOVIE", movie_id, consistent=True)
        if current is None:
            raise NotFound(f"No movie {movie_id}.")
        seen = int(current.get("revision", {}).get("N", "1"))
        item = {
            **_meta_key(tenant, "MOVIE", movie_id),
            "entity": {"S": "MOVIE"},
            **_movie_attributes(title, runtime_minutes, details),
            "revision": {"N": str(seen + 1)},
        }
        put = {
            "Put": {
                "TableName": table_name,
                "Item": item,
                "ConditionExpression": "attribute_exists(pk) AND "
                + ("revision = :seen" if "revision" in current else "attribute_not_exists(revision)"),
                **({"ExpressionAttributeValues": {":seen": {"N": str(seen)}}} if "revision" in current else {}),
            }
        }
        event = _event(tenant, table_name, _movie_changed(movie, seen + 1), movie_id)
        try:
            ddb.transact_write_items(TransactItems=[put, event])  # type: ignore[list-item]
        except ClientError as exc:
            if is_cancelled(exc) and cancellation_reasons(exc)[0].get("Code") == CONDITION_FAILED:
                continue  # deleted or moved on since the read: read again
            raise
        return movie
    raise ConflictError(f"Movie {movie_id} kept changing during {MOVIE_UPDATE_ATTEMPTS} update attempts.")


# ---- showtimes -------------------------------------------------------------------------------------------------------
def create_showtime(
    tenant: TenantContext,
    *,
    movie_id: str,
    auditorium_id: str,
    starts_at: datetime,
    price: Money,
    hold_lease_seconds: int,
    table_name: str,
    client: DynamoDBClient | None = None,
) -> Showtime:
    ddb = _client(client)
    movie = _get_meta(ddb, table_name, tenant, "MOVIE", movie_id)
    if movie is None:
        raise UnprocessableError(f"No movie {movie_id} in this tenant.")
    auditorium = get_auditorium(tenant, auditorium_id, table_name=table_name, client=ddb)
    if auditorium is None:
        raise UnprocessableError(f"No auditorium {auditorium_id} in this tenant.")
    cinema = _get_meta(ddb, table_name, tenant, "CINEMA", auditorium.cinema_id) or {}
    showtime = Showtime(
        showtime_id=new_id("sht"),
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
    ddb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": table_name,
                    "Item": {
                        **_meta_key(tenant, "SHOWTIME", showtime.showtime_id),
                        "entity": {"S": "SHOWTIME"},
                        **summary,
                    },
                    "ConditionExpression": ITEM_IS_NEW,
                }
            },
            {
                "Put": {
                    "TableName": table_name,
                    "Item": {
                        "pk": {"S": tenant.key("SHOWTIMES")},
                        "sk": {"S": f"{starts}#{showtime.showtime_id}"},
                        "entity": {"S": "SHOWTIME_INDEX"},
                        **summary,
                    },
                    "ConditionExpression": ITEM_IS_NEW,
                }
            },
            _event(  # type: ignore[list-item]
                tenant,
                table_name,
                ShowtimeScheduled(
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
                ),
                showtime.showtime_id,
            ),
        ]
    )
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
    return [showtime_from_item(i) for i in response.get("Items", [])], cursor


def get_showtime(
    tenant: TenantContext, showtime_id: str, *, table_name: str, client: DynamoDBClient | None = None
) -> Showtime:
    item = _get_meta(_client(client), table_name, tenant, "SHOWTIME", showtime_id)
    if item is None:
        raise NotFound(f"No showtime {showtime_id}.")
    return showtime_from_item(item)


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
