"""The row schema of each import kind, in msgspec (challenge 15, docs/patterns/15-large-uploads.md).

Why msgspec and not pydantic here: validating a 1 GB file is validating ~10 million rows, and bench/imports.py measured
both side by side on the same rows (docs/benchmarks.md, "Imports"). msgspec validates a whole chunk of rows in C from
one JSON buffer; pydantic validates the same rows several times slower. Requests, responses and events stay pydantic.

Rows are ``gc=False`` Structs (only scalars inside): the garbage collector never walks the ~50,000 rows of a chunk.

Each kind has:
- ``header``: the CSV header it requires, in this order (NDJSON rows are objects with these keys);
- ``csv_row``: an ``array_like`` Struct, decoded with ``strict=False`` so that CSV's text becomes ints and times;
- ``json_row``: the same fields as an object, decoded strictly (JSON numbers only, never "10.00" strings);
- ``rules``: one sentence per field, the reason given in the error report (the report never echoes the input);
- ``checked``: fields whose few distinct values are checked once per chunk (ids and genres against their pattern),
  rather than by a regular expression on every row (a pattern per row halved the throughput);
- ``natural_key``: what makes a row the same row on a re-run; its deterministic id comes from it (``row_id``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from marquee.core.money import ISO_4217

EntityId = Annotated[str, Meta(min_length=20, max_length=20)]
ENTITY_ID = re.compile(r"^[a-z]{3}_[0-9a-f]{16}$")
GENRE = re.compile(r"^[a-z][a-z-]{0,31}$")
Name = Annotated[str, Meta(min_length=1, max_length=120)]
OptionalName = Annotated[str, Meta(max_length=120)]
Currency = Literal[tuple(sorted(ISO_4217))]  # type: ignore[valid-type]
Amount = Annotated[int, Meta(gt=0, le=100_000_000_00)]
Aware = Annotated[datetime, Meta(tz=True)]
Runtime = Annotated[int, Meta(ge=1, le=600)]
Genres = Annotated[str, Meta(max_length=8 * 33)]
# CSV integers are text checked per distinct value: msgspec's lax mode would take "10.00" and "1e3" as 10 and 1000,
# and Money refuses those (DESIGN.md). NDJSON integers are JSON integers, decoded strictly.
IntText = Annotated[str, Meta(min_length=1, max_length=12)]


def _int_between(low: int, high: int) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if isinstance(value, int):
            return low <= value <= high
        return value.isascii() and value.isdigit() and value[0] != "0" and low <= int(value) <= high

    return check


class ShowtimeCsv(Struct, array_like=True, forbid_unknown_fields=True, frozen=True, gc=False):
    movieId: EntityId  # noqa: N815 - the column's name
    auditoriumId: EntityId  # noqa: N815
    startsAt: Aware  # noqa: N815
    priceAmount: IntText  # noqa: N815 - digits, checked per distinct value (``checked``)
    currency: Currency  # type: ignore[valid-type]


class ShowtimeJson(Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    movieId: EntityId  # noqa: N815
    auditoriumId: EntityId  # noqa: N815
    startsAt: Aware  # noqa: N815
    priceAmount: Amount  # noqa: N815
    currency: Currency  # type: ignore[valid-type]


class MovieCsv(Struct, array_like=True, forbid_unknown_fields=True, frozen=True, gc=False):
    title: Name
    runtimeMinutes: IntText  # noqa: N815
    director: OptionalName
    genres: Genres  # "drama|comedy"


class MovieJson(Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    title: Name
    runtimeMinutes: Runtime  # noqa: N815
    director: OptionalName = ""
    genres: Genres = ""


class CinemaCsv(Struct, array_like=True, forbid_unknown_fields=True, frozen=True, gc=False):
    name: Name
    city: Name


class CinemaJson(Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    name: Name
    city: Name


def _genres_ok(value: str) -> bool:
    return all(GENRE.match(g) for g in value.split("|")) if value else True


@dataclass(frozen=True)
class KindSpec:
    kind: str
    header: tuple[str, ...]
    csv_row: type[Struct]
    json_row: type[Struct]
    rules: dict[str, str]
    checked: dict[str, Callable[[str], bool]]
    natural_key: Callable[[Any], tuple[str, ...]]
    id_prefix: str


SHOWTIMES = KindSpec(
    kind="showtimes",
    header=("movieId", "auditoriumId", "startsAt", "priceAmount", "currency"),
    csv_row=ShowtimeCsv,
    json_row=ShowtimeJson,
    rules={
        "movieId": "a movie id of this tenant (mov_ and 16 hex digits)",
        "auditoriumId": "an auditorium id of this tenant (aud_ and 16 hex digits)",
        "startsAt": "an ISO 8601 time with its zone",
        "priceAmount": "an integer amount in minor units, 1 to 10000000000",
        "currency": "an ISO 4217 currency code",
    },
    checked={
        "movieId": lambda v: bool(ENTITY_ID.match(v)),
        "auditoriumId": lambda v: bool(ENTITY_ID.match(v)),
        "priceAmount": _int_between(1, 100_000_000_00),
    },
    natural_key=lambda r: (r.auditoriumId, r.startsAt.isoformat()),  # one showtime per auditorium and start
    id_prefix="sht",
)
MOVIES = KindSpec(
    kind="movies",
    header=("title", "runtimeMinutes", "director", "genres"),
    csv_row=MovieCsv,
    json_row=MovieJson,
    rules={
        "title": "text of 1 to 120 characters",
        "runtimeMinutes": "an integer from 1 to 600",
        "director": "text of at most 120 characters",
        "genres": "at most 8 lower-case genres separated by |",
    },
    checked={"runtimeMinutes": _int_between(1, 600), "genres": _genres_ok},
    natural_key=lambda r: (r.title.casefold(), str(r.runtimeMinutes)),
    id_prefix="mov",
)
CINEMAS = KindSpec(
    kind="cinemas",
    header=("name", "city"),
    csv_row=CinemaCsv,
    json_row=CinemaJson,
    rules={"name": "text of 1 to 120 characters", "city": "text of 1 to 120 characters"},
    checked={},
    natural_key=lambda r: (r.name.casefold(), r.city.casefold()),
    id_prefix="cin",
)
KINDS: dict[str, KindSpec] = {spec.kind: spec for spec in (SHOWTIMES, MOVIES, CINEMAS)}
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def row_id(spec: KindSpec, tenant_id: str, row: Any) -> str:
    """The deterministic id of a row's entity: the same row imported twice (any job) is the same entity."""
    digest = hashlib.sha256("\x1f".join((tenant_id, spec.kind, *spec.natural_key(row))).encode()).hexdigest()
    return f"{spec.id_prefix}_{digest[:16]}"
