"""Soft delete in the read models (challenge 8) on a real PostgreSQL: the lifecycle events of a showtime, a movie and
a cinema, delivered in every order and twice, leave the listing and search as the highest revision says: a delete at
N hides, the restore at N + 1 shows again, whichever arrives first."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta

from marquee.booking import catalog
from marquee.messaging.events import Envelope
from marquee.projections import queries
from marquee.projections.projector import project
from marquee.projections.shards import qualify
from marquee.relational.client import DataApi
from marquee.search.query import VISIBLE

from .test_projections import T0, TENANT, _event, cloud, lease_ms, new_database, scenario  # noqa: F401 - fixtures

Make = Callable[[], DataApi]


def listed(api: DataApi) -> list[str]:
    return [s["showtime_id"] for s in queries.showtimes(api, TENANT, limit=50, cursor=None).items]


def searchable(api: DataApi) -> list[str]:
    rows = api.query(
        qualify(
            f"SELECT d.doc_id FROM {{S}}.search_documents d WHERE d.tenant_id = :tenant{VISIBLE} ORDER BY d.doc_id",  # noqa: S608
            "public",
        ),
        {"tenant": TENANT},
    )
    return [str(r["doc_id"]) for r in rows]


def lifecycle(*events: catalog.EventData) -> list[Envelope]:
    return [_event(e, T0 + timedelta(hours=1, seconds=n)) for n, e in enumerate(events)]


def test_a_delete_and_its_restore_in_any_order_and_twice_leave_the_showtime_listed(
    new_database: Make,  # noqa: F811
    lease_ms: int,  # noqa: F811
) -> None:
    deleted = catalog.ShowtimeDeleted(showtime_id="sht_one", movie_id="mov_1", revision=2)
    restored = catalog.ShowtimeRestored(showtime_id="sht_one", movie_id="mov_1", revision=3)
    for order in itertools.permutations([deleted, restored, deleted]):
        api = new_database()
        for event in scenario(lease_ms):
            project(api, event)
        for event in lifecycle(*order):
            project(api, event)
        assert listed(api) == ["sht_one", "sht_two"], order
        assert "sht_one" in searchable(api), order


def test_a_delete_hides_the_showtime_and_a_deleted_movie_or_cinema_hides_its_showtimes(
    new_database: Make,  # noqa: F811
    lease_ms: int,  # noqa: F811
) -> None:
    api = new_database()
    for event in scenario(lease_ms):
        project(api, event)
    assert listed(api) == ["sht_one", "sht_two"]
    project(api, lifecycle(catalog.ShowtimeDeleted(showtime_id="sht_one", movie_id="mov_1", revision=2))[0])
    assert listed(api) == ["sht_two"] and "sht_one" not in searchable(api)

    project(api, lifecycle(catalog.MovieDeleted(movie_id="mov_1", revision=3))[0])
    assert listed(api) == [] and not {"mov_1", "sht_two"} & set(searchable(api))
    project(api, lifecycle(catalog.MovieRestored(movie_id="mov_1", revision=4))[0])
    assert listed(api) == ["sht_two"] and {"mov_1", "sht_two"} <= set(searchable(api))

    project(api, lifecycle(catalog.CinemaDeleted(cinema_id="cin_1", revision=2))[0])
    assert listed(api) == [] and "cin_1" not in searchable(api)
    project(api, lifecycle(catalog.CinemaDeleted(cinema_id="cin_1", revision=2))[0])  # a redelivery (new id)
    project(api, lifecycle(catalog.CinemaRestored(cinema_id="cin_1", revision=3))[0])
    assert listed(api) == ["sht_two"] and "cin_1" in searchable(api)
