"""CQRS read models (challenge 5) on a real PostgreSQL, through the local cloud's RDS Data API.

The projector's promises, each tested with the real statements:
- an event applied twice, or its aggregate's events delivered in any order, gives the same tables (duplicates and
  shuffles, several seeds, compared row by row with an in-order run);
- a rebuild replays the log into a new generation while events keep arriving and readers keep reading, proves the new
  generation equal to the live one, swaps it in, and drops the old;
- the queries read only the read models: availability counts (a lapsed lease stops counting with no event), a
  customer's orders newest first in keyset pages, sales per day, movie and cinema;
- a movie's search document keeps its highest revision when an older one arrives late.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from localcloud.server import LocalCloud, Settings
from marquee.booking import catalog, events, orders
from marquee.core.money import Money
from marquee.messaging.events import Envelope, EventData, envelope
from marquee.projections import queries, shards, store
from marquee.projections.models import PROJECTIONS
from marquee.projections.projector import Outcome, apply_to, project
from marquee.projections.rebuild import RebuildError, rebuild
from marquee.relational.client import DataApi
from marquee.search import documents
from marquee.search import service as search_service
from marquee.search.query import SearchRequest
from marquee.tenancy.tenant import TenantContext
from tests.aurora import migrated_database
from tests.cloud_process import free_port

SQL_DIR = Path(__file__).resolve().parents[2] / "functions" / "migrate" / "sql"
PASSWORD = "projections-test-password"  # noqa: S105 - a throwaway database's password
TENANT = "cinemark"
CUSTOMER = "cust-1"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    settings = Settings(
        port=free_port(),
        state_dir=tmp_path_factory.mktemp("projections-cloud"),
        quiet=True,
        postgres_url=os.environ.get("LOCALCLOUD_TEST_POSTGRES_URL") or None,
    )
    local = LocalCloud(settings).start()
    yield local
    local.shutdown(deadline_s=5)


@pytest.fixture(scope="module")
def new_database(cloud: LocalCloud) -> Callable[[], DataApi]:
    """A fresh Aurora cluster (its own PostgreSQL database), migrated and with every read model installed."""
    endpoint = cloud.settings.endpoint_url

    def make() -> DataApi:
        api: DataApi = migrated_database(endpoint, password=PASSWORD)
        assert sorted(g.projection for g in store.generations(api)) == sorted(PROJECTIONS)
        return api

    return make


# ---- a day of one cinema: the events, as the write side emits them ---------------------------------------------------
T0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


def _event(data: EventData, at: datetime, tenant: str = TENANT) -> Envelope:
    return envelope(data, tenant_id=tenant, correlation_id="test").model_copy(update={"occurred_at": at})


def _seat(seat: str, fence: int) -> events.HeldSeatData:
    return events.HeldSeatData(seat_id=seat, fence=fence)


def scenario(lease_ms: int) -> list[Envelope]:
    """Two showtimes; holds released, sold, compensated and taken over; orders confirmed and failed; a movie edited."""
    price = Money(amount=2500, currency="BRL")
    st1, st2 = "sht_one", "sht_two"
    out = [
        _event(catalog.CinemaOpened(cinema_id="cin_1", name="Marquee Paulista", city="São Paulo"), T0),
        _event(catalog.MovieChanged(movie_id="mov_1", revision=1, title="Dune", runtime_minutes=155), T0),
        _event(
            catalog.MovieChanged(
                movie_id="mov_1", revision=2, title="Dune: Part One", runtime_minutes=155, genres=["sci-fi"]
            ),
            T0 + timedelta(minutes=1),
        ),
    ]
    for sid, hour in ((st1, 18), (st2, 21)):
        out.append(
            _event(
                catalog.ShowtimeScheduled(
                    showtime_id=sid, movie_id="mov_1", auditorium_id="aud_1", cinema_id="cin_1",
                    cinema_name="Marquee Paulista", city="São Paulo", title="Dune", starts_at=T0.replace(hour=hour),
                    price=price, capacity=20,
                ),
                T0,
            )
        )  # fmt: skip
    steps: list[EventData] = [
        # hold 1: A1, A2 -> sold to ord_1 (confirmed)
        events.HoldCreated(
            hold_id="h1", showtime_id=st1, customer_id=CUSTOMER, seats=[_seat("A1", 1), _seat("A2", 1)],
            lease_expires_at_ms=lease_ms,
        ),
        orders.OrderPlaced(
            order_id="ord_1", hold_id="h1", customer_id=CUSTOMER, showtime_id=st1, seat_ids=["A1", "A2"],
            amount=Money(amount=5000, currency="BRL"),
        ),
        events.SeatsReserved(
            hold_id="h1", order_id="ord_1", showtime_id=st1, seats=["A1", "A2"], fences=[_seat("A1", 1), _seat("A2", 1)]
        ),
        orders.OrderConfirmed(
            order_id="ord_1", customer_id=CUSTOMER, showtime_id=st1, seat_ids=["A1", "A2"],
            amount=Money(amount=5000, currency="BRL"), payment_id="pay_1",
        ),
        # hold 2: B1 released by the customer, then B1 held again (fence 2) and kept
        events.HoldCreated(
            hold_id="h2", showtime_id=st1, customer_id=CUSTOMER, seats=[_seat("B1", 1)], lease_expires_at_ms=lease_ms
        ),
        events.HoldReleased(hold_id="h2", showtime_id=st1, seats=["B1"], reason="customer", fences=[_seat("B1", 1)]),
        events.HoldCreated(
            hold_id="h3", showtime_id=st1, customer_id="cust-2", seats=[_seat("B1", 2)], lease_expires_at_ms=lease_ms
        ),
        # hold 4: C1 sold to ord_2, then the payment fails and the seat is given back (compensation)
        events.HoldCreated(
            hold_id="h4", showtime_id=st2, customer_id=CUSTOMER, seats=[_seat("C1", 1)], lease_expires_at_ms=lease_ms
        ),
        orders.OrderPlaced(
            order_id="ord_2", hold_id="h4", customer_id=CUSTOMER, showtime_id=st2, seat_ids=["C1"],
            amount=Money(amount=2500, currency="BRL"),
        ),
        events.SeatsReserved(hold_id="h4", order_id="ord_2", showtime_id=st2, seats=["C1"], fences=[_seat("C1", 1)]),
        events.SeatsReleased(hold_id="h4", order_id="ord_2", showtime_id=st2, seats=["C1"], fences=[_seat("C1", 1)]),
        orders.OrderFailed(order_id="ord_2", customer_id=CUSTOMER, reason="card declined"),
        # a hold whose lease has already lapsed: no event tells, the query's clock does
        events.HoldCreated(
            hold_id="h5", showtime_id=st2, customer_id="cust-3", seats=[_seat("D1", 1)],
            lease_expires_at_ms=int((time.time() - 60) * 1000),
        ),
    ]  # fmt: skip
    out.extend(_event(data, T0 + timedelta(minutes=2 + i)) for i, data in enumerate(steps))
    return out


def snapshot(api: DataApi) -> dict[str, list[tuple[Any, ...]]]:
    """Every read model's rows (through the views, which readers use), sorted, plus the search documents."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for projection in PROJECTIONS.values():
        for table, columns in projection.columns.items():
            view = projection.names(1).view(table)
            rows = api.query(f"SELECT {columns} FROM {view}")  # noqa: S608 - the test's own names
            found[view] = sorted(tuple(str(v) for v in r.values()) for r in rows)
    rows = api.query("SELECT doc_id, kind, title, genres, cinema_name, city, popularity, version FROM search_documents")
    found["search_documents"] = sorted(tuple(str(v) for v in r.values()) for r in rows)
    return found


@pytest.fixture(scope="module")
def lease_ms() -> int:
    return int((time.time() + 3600) * 1000)


def test_duplicates_and_shuffled_deliveries_build_the_same_read_models(
    new_database: Callable[[], DataApi], lease_ms: int
) -> None:
    stream = scenario(lease_ms)
    in_order = new_database()
    assert all(project(in_order, e) is Outcome.APPLIED for e in stream)
    expected = snapshot(in_order)

    chaos = new_database()
    for seed in range(3):
        deliveries = stream * 3  # every event three times
        random.Random(seed).shuffle(deliveries)  # noqa: S311 - a test order, not a secret
        outcomes = [project(chaos, e) for e in deliveries]
        if seed == 0:
            assert outcomes.count(Outcome.APPLIED) == len(stream)
            assert outcomes.count(Outcome.DUPLICATE) == 2 * len(stream)
        assert snapshot(chaos) == expected, f"seed {seed}"
    logged = chaos.query("SELECT count(*) AS n FROM projection_events")[0]["n"]
    assert logged == len(stream)


def test_queries_read_availability_orders_and_sales_from_the_models(
    new_database: Callable[[], DataApi], lease_ms: int
) -> None:
    api = new_database()
    for event in scenario(lease_ms):
        project(api, event)

    page = queries.showtimes(api, TENANT, limit=1, cursor=None)
    assert [s["showtime_id"] for s in page.items] == ["sht_one"]
    # sht_one: A1, A2 sold; B1 held by h3 (h2's release is older, fence 1)
    assert page.items[0]["availability"] == {"capacity": 20, "free": 17, "held": 1, "sold": 2}
    assert page.items[0]["city"] == "São Paulo"
    second = queries.showtimes(api, TENANT, limit=1, cursor=page.next_cursor)
    # sht_two: C1 given back by the compensation; D1's lease lapsed, so it is free again
    assert second.items[0]["availability"] == {"capacity": 20, "free": 20, "held": 0, "sold": 0}
    assert second.next_cursor is None
    assert queries.showtimes(api, "another-tenant", limit=10, cursor=None).items == []

    mine = queries.customer_orders(api, TENANT, CUSTOMER, limit=1, cursor=None)
    assert [(o["order_id"], o["status"]) for o in mine.items] == [("ord_2", "FAILED")]
    assert mine.items[0]["reason"] == "card declined"
    assert mine.items[0]["amount"] == {"amount": 2500, "currency": "BRL"}  # from OrderPlaced; OrderFailed has none
    older = queries.customer_orders(api, TENANT, CUSTOMER, limit=5, cursor=mine.next_cursor)
    assert [(o["order_id"], o["status"], o["seat_ids"]) for o in older.items] == [("ord_1", "CONFIRMED", ["A1", "A2"])]
    assert queries.customer_orders(api, TENANT, "cust-2", limit=5, cursor=None).items == []

    report = queries.sales(api, TENANT, from_day=date(2026, 12, 1), to_day=date(2026, 12, 31))
    assert report == [
        {
            "day": "2026-12-05",
            "movie_id": "mov_1",
            "title": "Dune",
            "cinema_id": "cin_1",
            "cinema_name": "Marquee Paulista",
            "orders": 1,
            "seats": 2,
            "revenue": {"amount": 5000, "currency": "BRL"},
        }
    ]
    assert queries.sales(api, TENANT, from_day=date(2026, 12, 6), to_day=date(2026, 12, 31)) == []


def test_bad_cursors_and_ranges_are_client_errors(new_database: Callable[[], DataApi]) -> None:
    api = new_database()
    for bad in ("x", "!!!", "eyJ2IjoxfQ", "a" * 400, queries.encode_cursor("not a time", "sht_1")):
        with pytest.raises(queries.BadCursor):
            queries.showtimes(api, TENANT, limit=5, cursor=bad)
    with pytest.raises(queries.BadRange):
        queries.sales(api, TENANT, from_day=date(2026, 12, 5), to_day=date(2026, 12, 4))
    with pytest.raises(queries.BadRange):
        queries.sales(api, TENANT, from_day=date(2025, 1, 1), to_day=date(2026, 12, 4))


def test_a_late_older_movie_revision_does_not_overwrite_the_search_document(
    new_database: Callable[[], DataApi], lease_ms: int
) -> None:
    api = new_database()
    stream = scenario(lease_ms)
    newest, older = stream[2], stream[1]  # MovieChanged revision 2, then revision 1 arriving late
    project(api, newest)
    project(api, older)
    for event in stream[3:]:
        project(api, event)
    movie = api.query("SELECT title, genres, version, popularity FROM search_documents WHERE doc_id = 'mov_1'")[0]
    assert (movie["title"], movie["version"], movie["popularity"]) == ("Dune: Part One", 2, 2)
    shows = api.query("SELECT title, city FROM search_documents WHERE kind = 'showtime' ORDER BY doc_id")
    assert shows == [{"title": "Dune: Part One", "city": "São Paulo"}] * 2


@pytest.mark.parametrize("first", ["movie", "showtime"])
def test_a_showtime_and_its_movie_projected_at_once_each_see_the_other(
    new_database: Callable[[], DataApi], lease_ms: int, first: str
) -> None:
    """Two aggregates' events run side by side (one FIFO group each): whichever transaction is still open when the
    other starts, the showtime's document ends with its movie's genres (a CI run once lost them: each statement saw
    only the other's uncommitted nothing)."""
    api = new_database()
    stream = scenario(lease_ms)
    project(api, stream[0])  # the cinema
    movie, showtime = stream[2], stream[3]  # MovieChanged revision 2 (genres: sci-fi), a showtime of that movie
    held, concurrent = (movie, showtime) if first == "movie" else (showtime, movie)
    outcome: list[Outcome] = []
    worker = threading.Thread(target=lambda: outcome.append(project(api, concurrent)))
    with api.transaction() as tx:
        documents.apply_event(tx, held)
        worker.start()
        worker.join(timeout=1.0)
        waited = worker.is_alive()  # it waits for this transaction's locks; without them it would already be done
    worker.join(timeout=30)
    assert outcome == [Outcome.APPLIED]
    rows = api.query(
        "SELECT array_to_string(genres, '|') AS genres, popularity FROM search_documents WHERE doc_id = :id",
        {"id": showtime.data["showtimeId"]},
    )
    assert rows == [{"genres": "sci-fi", "popularity": 1}]
    movie_doc = api.query("SELECT popularity FROM search_documents WHERE doc_id = 'mov_1'")
    assert movie_doc == [{"popularity": 1}]
    assert waited, "the concurrent event did not wait for the open transaction's lock"


def test_rebuild_replays_beside_live_traffic_proves_equality_and_swaps_while_reads_go_on(
    new_database: Callable[[], DataApi], lease_ms: int
) -> None:
    api = new_database()
    stream = scenario(lease_ms)
    first, later = stream[:10], stream[10:]
    for event in first:
        project(api, event)

    stop = threading.Event()
    reads: list[int] = []
    errors: list[BaseException] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                reads.append(len(queries.showtimes(api, TENANT, limit=10, cursor=None).items))
            except BaseException as exc:  # noqa: BLE001 - any failed read is the finding
                errors.append(exc)

    def writer() -> None:
        for event in later:  # live events arrive during the replay
            project(api, event)

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    report = rebuild(api, "availability", batch=3)
    threads[1].join()
    stop.set()
    threads[0].join()

    assert errors == []
    assert reads and all(n == 2 for n in reads)
    assert (report.old_generation, report.new_generation) == (1, 2)
    assert set(report.differences.values()) == {0}
    assert report.events_replayed >= 6
    states = {(g.generation, g.state) for g in store.generations(api) if g.projection == "availability"}
    assert states == {(1, "retired"), (2, "live")}
    leftovers = api.query("SELECT count(*) AS n FROM pg_tables WHERE tablename LIKE 'rm_availability_%_g1'")
    assert leftovers[0]["n"] == 0

    # the rebuilt, live generation equals a model projected from scratch from every event
    fresh = new_database()
    for event in stream:
        project(fresh, event)
    assert snapshot(api) == snapshot(fresh)


def test_a_rebuild_that_would_differ_is_refused_and_the_live_model_stays(
    new_database: Callable[[], DataApi], lease_ms: int
) -> None:
    api = new_database()
    for event in scenario(lease_ms):
        project(api, event)

    def tamper() -> None:  # a bug in the new code would look like this: a row the live model does not have
        api.execute("UPDATE rm_orders_orders_g2 SET status = 'CONFIRMED' WHERE order_id = 'ord_2'")

    with pytest.raises(RebuildError, match="differs"):
        rebuild(api, "orders", before_swap=tamper)
    states = {(g.generation, g.state) for g in store.generations(api) if g.projection == "orders"}
    assert states == {(1, "live"), (2, "building")}
    mine = queries.customer_orders(api, TENANT, CUSTOMER, limit=5, cursor=None)
    assert [o["status"] for o in mine.items] == ["FAILED", "CONFIRMED"]
    # the next rebuild discards the refused generation, starts over and succeeds
    assert rebuild(api, "orders").new_generation == 2
    states = {(g.generation, g.state) for g in store.generations(api) if g.projection == "orders"}
    assert states == {(1, "retired"), (2, "live")}


# ---- tenant sharding of the read side (challenge 9): each shard's rows in its own schema ----------------------------
def tenant_rows(api: DataApi, schema: str, tenant: str = TENANT) -> dict[str, list[tuple[Any, ...]]]:
    """One tenant's rows of every read model (through the schema's views) and its search documents and tombstones (its
    id as ``T``, so two tenants' rows compare)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for projection in PROJECTIONS.values():
        for table, columns in projection.columns.items():
            view = projection.names(1, schema).view(table)
            rows = api.query(f"SELECT {columns} FROM {view} WHERE tenant_id = :t", {"t": tenant})  # noqa: S608
            found[view.split(".", 1)[1]] = sorted(
                tuple("T" if v == tenant else str(v) for v in r.values()) for r in rows
            )
    for table, columns in (
        ("search_documents", "doc_id, kind, title, genres, cinema_name, city, popularity, version, document"),
        ("search_tombstones", "doc_id, revision, deleted"),
    ):
        rows = api.query(f"SELECT {columns} FROM {schema}.{table} WHERE tenant_id = :t", {"t": tenant})  # noqa: S608
        found[table] = sorted(tuple(str(v) for v in r.values()) for r in rows)
    return found


def on(shard: str) -> Callable[[str], str]:
    return lambda _tenant: shard


def test_a_tenant_placed_on_a_shard_is_projected_queried_and_searched_in_that_shards_schema(
    new_database: Callable[[], DataApi], lease_ms: int
) -> None:
    api = new_database()
    stream = scenario(lease_ms)
    for event in stream:
        project(api, event, default_shard=on("s1"))  # the DynamoDB map places the tenant on s1
    for event in stream:
        project(api, event.model_copy(update={"tenant_id": "other", "id": f"o-{event.id}"}))  # s0: public

    assert shards.registered(api) == {"s0": "public", "s1": "shard_s1"}
    assert shards.placement(api, TENANT) == "s1" and shards.placement(api, "other") == "s0"
    mine, theirs = tenant_rows(api, "shard_s1"), tenant_rows(api, "public", "other")
    assert mine["rm_availability_seats"] and mine["search_documents"]
    assert {k: v for k, v in tenant_rows(api, "public").items() if v} == {}  # nothing of the tenant's in s0
    assert {k: v for k, v in tenant_rows(api, "shard_s1", "other").items() if v} == {}
    # the same events give the same rows, whichever schema they are in (the tsvector included)
    assert mine == theirs

    shards.read_schemas.clear()
    page = queries.showtimes(api, TENANT, limit=5, cursor=None)
    assert [s["availability"]["sold"] for s in page.items] == [2, 0]
    assert [o["order_id"] for o in queries.customer_orders(api, TENANT, CUSTOMER, limit=5, cursor=None).items] == [
        "ord_2",
        "ord_1",
    ]
    hits = search_service.search(api, TenantContext(tenant_id=TENANT, user_id="u"), SearchRequest(text="dune"))
    assert {h.doc_id for h in hits.hits} == {"mov_1", "sht_one", "sht_two"}
    assert search_service.set_language(api, TenantContext(tenant_id=TENANT, user_id="u"), "pt") == 4  # s1's rows


def test_a_relocation_waits_for_an_event_in_flight_and_carries_it(
    new_database: Callable[[], DataApi], lease_ms: int
) -> None:
    """The projector holds the tenant's placement FOR SHARE until its event commits: the relocation's FOR UPDATE
    waits, then copies the event's rows; the next event is applied in the new schema."""
    api = new_database()
    stream = scenario(lease_ms)
    for event in stream[:-2]:
        project(api, event)
    in_flight, after = stream[-2], stream[-1]
    moved: list[shards.Relocation] = []
    mover = threading.Thread(target=lambda: moved.append(shards.relocate(api, TENANT, "s2")))
    with api.transaction() as tx:
        store.targets(tx)
        store.log_event(tx, in_flight)
        schema = shards.placed(tx, TENANT)
        for generation in store.targets(tx):
            apply_to(tx, generation, in_flight, schema)
        mover.start()
        mover.join(timeout=1.0)
        waited = mover.is_alive()
    mover.join(timeout=30)
    assert waited, "the relocation did not wait for the event's transaction"
    assert moved and moved[0].source == "s0" and not moved[0].already
    assert project(api, after) is Outcome.APPLIED  # placed on s2 now

    fresh = new_database()
    for event in stream:
        project(fresh, event)
    expected = tenant_rows(fresh, "public")
    assert tenant_rows(api, "shard_s2") == expected
    assert moved[0].rows["availability.seats.g1"] == len(expected["rm_availability_seats"]) - 1  # D1: after it
    assert shards.clean(api, TENANT) > 0
    assert {k: v for k, v in tenant_rows(api, "public").items() if v} == {}
    assert shards.relocate(api, TENANT, "s2").already


def test_moves_back_and_forth_under_concurrent_projection_lose_and_duplicate_nothing(
    new_database: Callable[[], DataApi], lease_ms: int
) -> None:
    api = new_database()
    stream = scenario(lease_ms)
    for event in stream[:5]:
        project(api, event)
    rest = stream[5:] * 2  # every later event twice: the inbox makes the second a duplicate wherever it lands
    random.Random(9).shuffle(rest)  # noqa: S311 - a test order
    errors: list[BaseException] = []
    reads: list[int] = []
    stop = threading.Event()

    def writer(part: list[Envelope]) -> None:
        try:
            for event in part:
                project(api, event)
        except BaseException as exc:  # noqa: BLE001 - any failure is the finding
            errors.append(exc)

    def reader() -> None:
        while not stop.is_set():
            try:
                reads.append(len(queries.showtimes(api, TENANT, limit=10, cursor=None).items))
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(rest[i::2],)) for i in range(2)] + [
        threading.Thread(target=reader)
    ]
    for thread in threads:
        thread.start()
    hops = 0
    for target in ("s1", "s2", "s0", "s1"):
        shards.relocate(api, TENANT, target)
        hops += 1
    for thread in threads[:2]:
        thread.join(timeout=60)
    stop.set()
    threads[2].join(timeout=10)
    assert errors == [], [(e, e.__cause__) for e in errors[:2]]
    assert reads and all(n == 2 for n in reads)  # both showtimes were projected before the first move

    fresh = new_database()
    for event in stream:
        project(fresh, event)
    assert tenant_rows(api, "shard_s1") == tenant_rows(fresh, "public")
    shards.clean(api, TENANT)
    for schema in ("public", "shard_s2"):
        assert {k: v for k, v in tenant_rows(api, schema).items() if v} == {}
    assert api.query("SELECT count(*) AS n FROM projection_events")[0]["n"] == len(stream)


def test_rebuild_covers_every_shard_schema_and_ignores_a_moved_tenants_leftovers(
    new_database: Callable[[], DataApi], lease_ms: int
) -> None:
    api = new_database()
    for event in scenario(lease_ms):
        project(api, event)
        project(api, event.model_copy(update={"tenant_id": "other", "id": f"o-{event.id}"}), default_shard=on("s1"))
    shards.relocate(api, TENANT, "s2")  # its rows stay in public until the clean-up
    before = {s: tenant_rows(api, s, t) for s, t in (("shard_s2", TENANT), ("shard_s1", "other"))}
    report = rebuild(api, "availability")
    assert set(report.differences.values()) == {0}
    assert report.rows["seats"] == 2 * len(before["shard_s2"]["rm_availability_seats"])
    assert {s: tenant_rows(api, s, t) for s, t in (("shard_s2", TENANT), ("shard_s1", "other"))} == before
    leftovers = api.query("SELECT count(*) AS n FROM pg_tables WHERE tablename LIKE 'rm_availability_%_g1'")
    assert leftovers[0]["n"] == 0  # the old generation is gone from all three schemas
    assert shards.clean(api, TENANT) > 0


def test_a_relocation_whose_copy_does_not_match_changes_nothing_and_the_rerun_completes(
    new_database: Callable[[], DataApi], lease_ms: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection at the read side's verify: the transaction rolls back whole (placement, copies), so the tenant
    is still read and written on s0, and running the relocation again moves it."""
    api = new_database()
    for event in scenario(lease_ms):
        project(api, event)
    before = tenant_rows(api, "public")
    real_digest = shards._digest
    calls = {"n": 0}

    def corrupt(tx: Any, table: str, columns: str, tenant: str) -> tuple[int, str]:
        calls["n"] += 1
        count, digest = real_digest(tx, table, columns, tenant)
        return (count, digest) if calls["n"] != 4 else (count, "0" * 32)  # the 2nd table's copy "differs"

    monkeypatch.setattr(shards, "_digest", corrupt)
    with pytest.raises(shards.RelocationMismatch, match="availability.seats"):
        shards.relocate(api, TENANT, "s1")
    assert shards.placement(api, TENANT) == "s0"
    assert tenant_rows(api, "public") == before
    assert shards.registered(api) == {"s0": "public"}  # the new schema and the first table's copy: rolled back
    monkeypatch.setattr(shards, "_digest", real_digest)
    moved = shards.relocate(api, TENANT, "s1")
    assert not moved.already and shards.placement(api, TENANT) == "s1"
    assert tenant_rows(api, "shard_s1") == before


def test_the_bulk_search_corpus_loads_into_s0_and_refuses_a_tenant_placed_elsewhere(
    cloud: LocalCloud, new_database: Callable[[], DataApi], lease_ms: int
) -> None:
    from devkit.search_corpus import TenantCorpus, load, local_conninfo

    api = new_database()
    for event in scenario(lease_ms)[:3]:
        project(api, event, default_shard=on("s1"))
    conninfo = local_conninfo(
        cloud.settings.endpoint_url, {"DbClusterArn": api.cluster_arn, "DbSecretArn": api.secret_arn}
    )
    with pytest.raises(RuntimeError, match=rf"{TENANT} \(s1\)"):
        load(conninfo, [TenantCorpus(TENANT, 10)], parts=1)
    assert tenant_rows(api, "shard_s1")["search_documents"]  # untouched
    report = load(conninfo, [TenantCorpus("seeded", 40)], parts=1)
    assert report.documents == 40
    assert api.query("SELECT count(*) AS n FROM public.search_documents WHERE tenant_id = 'seeded'") == [{"n": 40}]
    # the shard's own copy of the table kept its indexes (the loader drops and rebuilds only public's)
    indexes = api.query(
        "SELECT count(*) AS n FROM pg_indexes WHERE schemaname = 'shard_s1' AND tablename = 'search_documents'"
    )
    assert indexes[0]["n"] >= 6


def test_rows_projected_before_the_read_side_was_sharded_keep_their_tenant_in_s0_until_a_move(
    new_database: Callable[[], DataApi], lease_ms: int
) -> None:
    """An upgrade: a tenant whose rows were projected before migration 0004 (no placement row), and whose items the
    map now puts on s1 (moved by the mover before it had a read side). Its next event must not start a second copy of
    its read models in s1's schema: it stays on s0 until a move takes the rows."""
    api = new_database()
    stream = scenario(lease_ms)
    for event in stream[:-1]:
        project(api, event)
    api.execute("DELETE FROM read_model_placement WHERE tenant_id = :t", {"t": TENANT})  # as before the migration
    assert project(api, stream[-1], default_shard=on("s1")) is Outcome.APPLIED
    assert shards.placement(api, TENANT) == "s0"
    fresh = new_database()
    for event in stream:
        project(fresh, event)
    assert tenant_rows(api, "public") == tenant_rows(fresh, "public")
    shards.relocate(api, TENANT, "s1")
    assert tenant_rows(api, "shard_s1") == tenant_rows(fresh, "public")


def test_deep_health_sees_every_read_model_shard_complete_and_names_one_that_is_not(
    cloud: LocalCloud, new_database: Callable[[], DataApi], lease_ms: int
) -> None:
    from localcloud.aws import local_client
    from marquee.resilience.health import read_model_shards

    api = new_database()
    for event in scenario(lease_ms)[:3]:
        project(api, event, default_shard=on("s1"))
    check = read_model_shards(
        api.cluster_arn, api.secret_arn, "app", timeout_ms=5000, warn_ms=1000,
        client=local_client("rds-data", cloud.settings.endpoint_url),
    )  # fmt: skip
    check.probe()  # s0 and s1 complete
    api.execute("DROP VIEW shard_s1.rm_orders_orders")
    with pytest.raises(RuntimeError, match=r"s1 \(5 of 6 views\)"):
        check.probe()


def test_a_language_reindex_racing_a_relocation_of_a_tenant_without_placement_is_carried(
    new_database: Callable[[], DataApi], lease_ms: int
) -> None:
    """A tenant projected before migration 0004 (rows in public, no placement row): a reindex outside the projector
    must hold a placement row the relocation's FOR UPDATE waits for, or the copy would miss its write."""
    api = new_database()
    for event in scenario(lease_ms):
        project(api, event)
    api.execute("DELETE FROM read_model_placement WHERE tenant_id = :t", {"t": TENANT})
    moved: list[shards.Relocation] = []
    mover = threading.Thread(target=lambda: moved.append(shards.relocate(api, TENANT, "s1")))
    with api.transaction() as tx:
        schema = shards.held(tx, TENANT)
        assert schema == "public"
        tx.execute(
            shards.qualify("UPDATE {S}.search_documents SET language = 'pt' WHERE tenant_id = :t", schema),
            {"t": TENANT},
        )
        mover.start()
        mover.join(timeout=1.0)
        waited = mover.is_alive()
    mover.join(timeout=30)
    assert waited, "the relocation did not wait for the reindex"
    languages = api.query("SELECT DISTINCT language FROM shard_s1.search_documents WHERE tenant_id = :t", {"t": TENANT})
    assert languages == [{"language": "pt"}]
