"""Soft delete and temporal audit (challenge 8) on moto: versions written with their change, as-of reads under
concurrent updates, restore, retention and legal hold, and GDPR erasure that leaves no personal value in the table.

The data-access functions are called directly (as the catalog function calls them) with a moto client; the HTTP
surface (status codes, staff only, customers' 404) goes through the real handler with the sample events."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest

from localcloud.dynamodb import atomicity
from marquee.booking import catalog
from marquee.booking.errors import NotFound
from marquee.customers import profiles
from marquee.history import erasure, settings, versions
from marquee.history.versions import Actor, Change
from marquee.history.writes import ConcurrentChange
from marquee.tenancy.tenant import TenantContext

from .conftest import REGION, Platform
from .test_catalog_and_holds import call, functions  # noqa: F401 - the fixture

STAFF = TenantContext(tenant_id="acme-cinemas", user_id="staff-sub-1", username="sam", groups=frozenset({"staff"}))
DETAILS = catalog.MovieDetails(director="Ada Reel", genres=["drama"])


def actor(request_id: str = "req-1", tenant: TenantContext = STAFF) -> Actor:
    return Actor.of(tenant, request_id)


@pytest.fixture
def ddb(platform: Platform) -> Any:
    atomicity.install()  # serializable conditional writes and transactions across threads, as on AWS
    return boto3.client("dynamodb", region_name=REGION)


def new_movie(ddb: Any, table: str, title: str = "The Long Take") -> str:
    movie = catalog.create_movie(
        STAFF, title=title, runtime_minutes=120, details=DETAILS, actor=actor(), table_name=table, client=ddb
    )
    return movie.movie_id


def update(ddb: Any, table: str, movie_id: str, title: str, request_id: str = "req-u") -> catalog.Movie:
    return catalog.update_movie(
        STAFF, movie_id, title=title, runtime_minutes=120, details=DETAILS, actor=actor(request_id),
        table_name=table, client=ddb,
    )  # fmt: skip


def all_versions(ddb: Any, table: str, kind: str, entity_id: str) -> list[versions.Version]:
    found, cursor = versions.history(ddb, table, STAFF, kind, entity_id, limit=100)
    while cursor:
        more, cursor = versions.history(ddb, table, STAFF, kind, entity_id, limit=100, cursor=cursor)
        found.extend(more)
    return found


def scan(ddb: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = ddb.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def outbox_types(ddb: Any, table: str) -> list[str]:
    return sorted(i["event_type"]["S"] for i in scan(ddb, table) if i["sk"]["S"] == "OUTBOX")


# ---- versions ----------------------------------------------------------------------------------------------------------
def test_create_update_delete_restore_each_write_one_version_with_who_when_what(ddb: Any, platform: Platform) -> None:
    table = platform.table_name
    movie_id = new_movie(ddb, table)
    update(ddb, table, movie_id, "The Longer Take", request_id="req-2")
    catalog.set_movie_deleted(STAFF, movie_id, deleted=True, actor=actor("req-3"), table_name=table, client=ddb)
    catalog.set_movie_deleted(STAFF, movie_id, deleted=False, actor=actor("req-4"), table_name=table, client=ddb)

    newest_first = all_versions(ddb, table, "MOVIE", movie_id)
    assert [v.change for v in newest_first] == [Change.RESTORED, Change.DELETED, Change.UPDATED, Change.CREATED]
    assert [v.revision for v in newest_first] == [4, 3, 2, 1]
    assert [v.request_id for v in newest_first] == ["req-4", "req-3", "req-2", "req-1"]
    assert all(v.sub == "staff-sub-1" and v.username == "sam" for v in newest_first)
    restored, deleted, updated, created = newest_first
    assert created.before is None and created.after is not None and created.after["title"] == "The Long Take"
    assert updated.fields == ["title"]
    assert updated.before and updated.before["title"] == "The Long Take"
    assert updated.after and updated.after["title"] == "The Longer Take"
    assert deleted.fields == ["deleted"] and deleted.after and deleted.after["deleted"] is True
    assert restored.fields == ["deleted"] and restored.after and restored.after["deleted"] is False
    assert all(a.at > b.at for a, b in zip(newest_first, newest_first[1:], strict=False))
    # and each change's event went through the outbox in the same transaction
    assert outbox_types(ddb, table) == ["MovieChanged", "MovieChanged", "MovieDeleted", "MovieRestored"]


def test_a_second_delete_writes_nothing_and_a_deleted_movie_cannot_be_updated(ddb: Any, platform: Platform) -> None:
    table = platform.table_name
    movie_id = new_movie(ddb, table)
    first = catalog.set_movie_deleted(STAFF, movie_id, deleted=True, actor=actor(), table_name=table, client=ddb)
    again = catalog.set_movie_deleted(STAFF, movie_id, deleted=True, actor=actor(), table_name=table, client=ddb)
    assert first is not None and first.revision == 2 and again is None
    with pytest.raises(NotFound):
        update(ddb, table, movie_id, "Too late")
    assert len(all_versions(ddb, table, "MOVIE", movie_id)) == 2


def test_as_of_returns_the_state_at_each_version_time_and_nothing_before_creation(ddb: Any, platform: Platform) -> None:
    table = platform.table_name
    movie_id = new_movie(ddb, table, "v1")
    for n in range(2, 6):
        update(ddb, table, movie_id, f"v{n}")
    history = all_versions(ddb, table, "MOVIE", movie_id)
    for version in history:
        found = versions.as_of(ddb, table, STAFF, "MOVIE", movie_id, version.at)
        assert found is not None and found.revision == version.revision
        assert found.after == version.after
        between = versions.as_of(ddb, table, STAFF, "MOVIE", movie_id, version.at + timedelta(microseconds=0.5))
        assert between is not None and between.revision == version.revision
    first = history[-1]
    assert versions.as_of(ddb, table, STAFF, "MOVIE", movie_id, first.at - timedelta(microseconds=1)) is None


def test_concurrent_updates_each_commit_exactly_one_version_and_as_of_finds_each(ddb: Any, platform: Platform) -> None:
    table = platform.table_name
    movie_id = new_movie(ddb, table, "start")
    committed: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        client = boto3.client("dynamodb", region_name=REGION)
        for k in range(5):
            title = f"t{n}-{k}"
            try:
                update(client, table, movie_id, title, request_id=f"req-{n}-{k}")
            except ConcurrentChange:
                with lock:
                    refused.append(title)
                continue
            with lock:
                committed.append(title)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    history = all_versions(ddb, table, "MOVIE", movie_id)
    updates = [v for v in history if v.change == Change.UPDATED]
    titles = [v.after["title"] for v in updates if v.after]
    assert sorted(titles) == sorted(committed)  # every successful update has exactly one version, and no other
    assert len(set(titles)) == len(titles) == len(committed) and not set(titles) & set(refused)
    assert [v.revision for v in history] == list(range(len(history), 0, -1))  # revisions 1..N, no gap, no repeat
    for version in history:
        found = versions.as_of(ddb, table, STAFF, "MOVIE", movie_id, version.at)
        assert found is not None and found.revision == version.revision and found.after == version.after
    current, meta = catalog.get_movie(STAFF, movie_id, table_name=table, client=ddb)
    assert meta["revision"] == history[0].revision and current.title == titles[0]


def test_history_pages_with_a_keyset_cursor_and_refuses_a_forged_one(ddb: Any, platform: Platform) -> None:
    table = platform.table_name
    movie_id = new_movie(ddb, table)
    for n in range(6):
        update(ddb, table, movie_id, f"t{n}")
    page, cursor = versions.history(ddb, table, STAFF, "MOVIE", movie_id, limit=3)
    seen = [v.revision for v in page]
    while cursor:
        page, cursor = versions.history(ddb, table, STAFF, "MOVIE", movie_id, limit=3, cursor=cursor)
        seen.extend(v.revision for v in page)
    assert seen == [7, 6, 5, 4, 3, 2, 1]
    with pytest.raises(versions.BadCursor):
        versions.history(ddb, table, STAFF, "MOVIE", movie_id, limit=3, cursor="U0VBVCNBMQ")  # "SEAT#A1"


def test_showtime_and_cinema_soft_delete_and_restore_are_versioned_and_hide_the_showtime(
    ddb: Any, platform: Platform
) -> None:
    table = platform.table_name
    cinema = catalog.create_cinema(STAFF, name="Roxy", city="Leeds", actor=actor(), table_name=table, client=ddb)
    auditorium = catalog.create_auditorium(
        STAFF, cinema_id=cinema.cinema_id, name="1", rows=2, seats_per_row=3, unavailable=[], table_name=table,
        client=ddb,
    )  # fmt: skip
    from datetime import UTC, datetime

    from marquee.core.money import Money

    show = catalog.create_showtime(
        STAFF, movie_id=new_movie(ddb, table), auditorium_id=auditorium.auditorium_id,
        starts_at=datetime(2026, 12, 24, 20, tzinfo=UTC), price=Money(amount=900, currency="EUR"),
        hold_lease_seconds=600, actor=actor(), table_name=table, client=ddb,
    )  # fmt: skip
    catalog.set_showtime_deleted(STAFF, show.showtime_id, deleted=True, actor=actor(), table_name=table, client=ddb)
    with pytest.raises(NotFound):
        catalog.get_showtime(STAFF, show.showtime_id, table_name=table, client=ddb)
    listed, _ = catalog.list_showtimes(STAFF, table_name=table, limit=10, client=ddb)
    assert show.showtime_id not in [s.showtime_id for s in listed]
    catalog.set_showtime_deleted(STAFF, show.showtime_id, deleted=False, actor=actor(), table_name=table, client=ddb)
    assert catalog.get_showtime(STAFF, show.showtime_id, table_name=table, client=ddb).showtime_id == show.showtime_id
    catalog.set_cinema_deleted(STAFF, cinema.cinema_id, deleted=True, actor=actor(), table_name=table, client=ddb)
    assert [v.change for v in all_versions(ddb, table, "SHOWTIME", show.showtime_id)] == [
        Change.RESTORED, Change.DELETED, Change.CREATED,
    ]  # fmt: skip
    assert [v.change for v in all_versions(ddb, table, "CINEMA", cinema.cinema_id)] == [Change.DELETED, Change.CREATED]
    types = outbox_types(ddb, table)
    assert {"ShowtimeDeleted", "ShowtimeRestored", "CinemaDeleted"} <= set(types)


# ---- retention and legal hold ------------------------------------------------------------------------------------------
def item_ttls(ddb: Any, table: str) -> list[int | None]:
    return [
        int(i["expires_at"]["N"]) if "expires_at" in i else None
        for i in scan(ddb, table)
        if i.get("entity", {}).get("S") == "VERSION"
    ]


def test_versions_expire_after_the_tenant_retention_and_not_under_legal_hold(ddb: Any, platform: Platform) -> None:
    table = platform.table_name
    movie_id = new_movie(ddb, table)
    created = all_versions(ddb, table, "MOVIE", movie_id)[0]
    assert created.expires_at == int(created.at.timestamp()) + settings.DEFAULT_RETENTION_DAYS * 86_400

    seen = settings.read(ddb, table, STAFF)
    held = settings.write(ddb, table, STAFF, retention_days=30, legal_hold=True, seen=seen, at=created.at)
    assert settings.sweep(ddb, table, STAFF, held) == 1
    update(ddb, table, movie_id, "during the hold")
    assert item_ttls(ddb, table) == [None, None]  # the old version lost its TTL; the new one got none
    assert settings.read(ddb, table, STAFF).swept_revision == held.revision

    lifted = settings.write(ddb, table, STAFF, retention_days=30, legal_hold=False, seen=held, at=created.at)
    assert settings.sweep(ddb, table, STAFF, lifted) == 2
    for version in all_versions(ddb, table, "MOVIE", movie_id):
        assert version.expires_at == int(version.at.timestamp()) + 30 * 86_400


def test_a_write_that_read_the_settings_before_a_hold_is_retried_and_gets_no_ttl(ddb: Any, platform: Platform) -> None:
    """The race the guard closes: a change reads 'no hold', the hold is set and swept, then the change commits."""
    table = platform.table_name
    movie_id = new_movie(ddb, table)
    original_read = settings.read
    calls = {"n": 0}

    def read_then_hold(client: Any, table_name: str, tenant: TenantContext) -> settings.AuditSettings:
        seen = original_read(client, table_name, tenant)
        calls["n"] += 1
        if calls["n"] == 1:  # between this write's read of the settings and its commit, staff set a legal hold
            held = settings.write(client, table_name, tenant, retention_days=365, legal_hold=True, seen=seen,
                                  at=versions.parse("2026-12-05T10:00:00.000000Z"))  # fmt: skip
            settings.sweep(client, table_name, tenant, held)
        return seen

    settings.read = read_then_hold  # type: ignore[assignment]
    try:
        update(ddb, table, movie_id, "raced the hold")
    finally:
        settings.read = original_read  # type: ignore[assignment]
    assert calls["n"] == 2  # the first attempt was cancelled by the guard, the second read the hold
    assert item_ttls(ddb, table) == [None, None]


# ---- GDPR erasure ------------------------------------------------------------------------------------------------------
CUSTOMER = TenantContext(tenant_id="acme-cinemas", user_id="cust-sub-9", username="pat.doe.login")
PERSONAL = (
    "Pat Doe",
    "pat.doe@example.com",
    "+44 20 7946 0999",
    "Patricia Doe",
    "patricia@example.com",
    "pat.doe.login",
)


def test_erasure_leaves_no_personal_value_anywhere_in_the_table_and_a_tombstone(ddb: Any, platform: Platform) -> None:
    table = platform.table_name
    new_movie(ddb, table)  # someone else's data stays
    profiles.put_profile(CUSTOMER, display_name="Pat Doe", email="pat.doe@example.com", phone="+44 20 7946 0999",
                         actor=actor("r1", CUSTOMER), table_name=table, client=ddb)  # fmt: skip
    profiles.put_profile(CUSTOMER, display_name="Patricia Doe", email="patricia@example.com", phone="",
                         actor=actor("r2", CUSTOMER), table_name=table, client=ddb)  # fmt: skip
    before = json.dumps(scan(ddb, table))
    assert all(value in before for value in PERSONAL)

    report = erasure.erase_customer(ddb, table, STAFF, "cust-sub-9", actor=actor("r-erase"), at=versions.parse(
        "2026-12-05T10:00:00.000000Z"))  # fmt: skip

    after = json.dumps(scan(ddb, table))
    assert [value for value in PERSONAL if value in after] == []
    assert report.versions_erased == 2 and report.profile_deleted
    with pytest.raises(NotFound):
        profiles.get_profile(CUSTOMER, "cust-sub-9", table_name=table, client=ddb)
    tombstone = ddb.get_item(
        TableName=table, Key={"pk": {"S": CUSTOMER.key("CUSTOMER", "cust-sub-9")}, "sk": {"S": "ERASURE"}}
    )["Item"]
    assert tombstone["erasedBy"]["S"] == "staff-sub-1" and tombstone["requestId"]["S"] == "r-erase"
    assert {f["S"] for f in tombstone["fieldsErased"]["L"]} == {"displayName", "email", "phone", "username"}
    erased = all_versions(ddb, table, "CUSTOMER", "cust-sub-9")
    assert len(erased) == 2 and all(v.erased and v.after == {"erased": True} for v in erased)
    assert erased[0].fields == ["displayName", "email", "phone"]  # what changed is kept, not the values


def test_erasure_is_refused_under_legal_hold(ddb: Any, platform: Platform) -> None:
    table = platform.table_name
    profiles.put_profile(CUSTOMER, display_name="Pat Doe", email="pat.doe@example.com", phone="",
                         actor=actor("r1", CUSTOMER), table_name=table, client=ddb)  # fmt: skip
    held = settings.write(ddb, table, STAFF, retention_days=365, legal_hold=True, seen=settings.read(ddb, table, STAFF),
                          at=versions.parse("2026-12-05T10:00:00.000000Z"))  # fmt: skip
    settings.sweep(ddb, table, STAFF, held)
    with pytest.raises(erasure.ErasureBlocked):
        erasure.erase_customer(ddb, table, STAFF, "cust-sub-9", actor=actor(), at=held_at())
    assert "pat.doe@example.com" in json.dumps(scan(ddb, table))


def held_at() -> Any:
    return versions.parse("2026-12-05T11:00:00.000000Z")


# ---- the HTTP surface, through the handler -------------------------------------------------------------------------
def test_routes_staff_history_and_as_of_customers_404_after_delete(functions: dict[str, ModuleType]) -> None:  # noqa: F811
    cat = functions["catalog"]
    created = call(cat, "catalog/create_movie.json")
    assert created.status == 201, created.body
    movie_id = created.body["movieId"]
    time.sleep(0.002)
    params = {"movieId": movie_id}
    customer_get = _customer_get(cat, movie_id)
    assert customer_get.status == 200 and customer_get.body["revision"] == 1
    deleted = call(cat, "catalog/delete_movie.json", params=params)
    assert deleted.status == 200 and deleted.body == {"entityId": movie_id, "deleted": True, "revision": 2,
                                                      "changed": True}  # fmt: skip
    assert _customer_get(cat, movie_id).status == 404
    history = call(cat, "catalog/movie_history.json", params=params)
    assert history.status == 200 and [v["change"] for v in history.body["items"]] == ["deleted", "created"]
    assert history.body["items"][0]["requestId"] == "9f8e7d6c-5b4a-4a55-8f5e-1a2b3c4d5e71"
    created_at = history.body["items"][1]["at"]
    as_of = _as_of(cat, movie_id, created_at)
    assert as_of.status == 200 and as_of.body["deleted"] is False and as_of.body["title"] == "The Long Take"
    now = _as_of(cat, movie_id, "2999-01-01T00:00:00Z")
    assert now.status == 200 and now.body["deleted"] is True
    assert _as_of(cat, movie_id, "2000-01-01T00:00:00Z").status == 404
    assert _as_of(cat, movie_id, "2026-13-01T00:00:00Z").status in (400, 422)
    restored = call(cat, "catalog/restore_movie.json", params=params)
    assert restored.status == 200 and restored.body["revision"] == 3
    assert _customer_get(cat, movie_id).status == 200
    as_customer = _customer(load("catalog/movie_history.json"), movie_id)
    from .conftest import invoke

    assert invoke(cat, as_customer).status == 403


def load(name: str) -> dict[str, Any]:
    from .conftest import load_event

    return load_event(name)


def _customer(event: dict[str, Any], movie_id: str) -> dict[str, Any]:
    event["requestContext"]["authorizer"]["claims"]["cognito:groups"] = "customer"
    event["pathParameters"] = {"movieId": movie_id}
    event["path"] = event["resource"].replace("{movieId}", movie_id)
    return event


def _customer_get(cat: ModuleType, movie_id: str) -> Any:
    from .conftest import invoke

    event = _customer(load("catalog/get_movie_as_of.json"), movie_id)
    event["queryStringParameters"] = None
    event["multiValueQueryStringParameters"] = None
    return invoke(cat, event)


def _as_of(cat: ModuleType, movie_id: str, at: str) -> Any:
    from .conftest import invoke

    event = load("catalog/get_movie_as_of.json")
    event["pathParameters"] = {"movieId": movie_id}
    event["path"] = f"/movies/{movie_id}"
    event["queryStringParameters"] = {"asOf": at}
    event["multiValueQueryStringParameters"] = {"asOf": [at]}
    return invoke(cat, event)


def test_erasure_of_a_customer_unknown_to_the_tenant_is_a_404_and_writes_nothing(ddb: Any, platform: Platform) -> None:
    table = platform.table_name
    with pytest.raises(erasure.CustomerNotFound):
        erasure.erase_customer(ddb, table, STAFF, "someone-elses", actor=actor(), at=held_at())
    assert scan(ddb, table) == []


def _route(
    cat: ModuleType, method: str, resource: str, params: dict[str, str], *, as_of: str | None, customer: bool = False
) -> Any:
    """A call of ``method resource`` through the catalog handler, as staff (or a customer), with ``asOf`` or none."""
    from .conftest import invoke

    event = load("catalog/get_movie_as_of.json")
    event["httpMethod"], event["resource"], event["pathParameters"] = method, resource, params
    path = resource
    for key, value in params.items():
        path = path.replace("{" + key + "}", value)
    event["path"] = path
    event["queryStringParameters"] = {"asOf": as_of} if as_of else None
    event["multiValueQueryStringParameters"] = {"asOf": [as_of]} if as_of else None
    if customer:
        event["requestContext"]["authorizer"]["claims"]["cognito:groups"] = "customer"
    return invoke(cat, event)


def test_cinemas_and_showtimes_read_as_of_like_movies(functions: dict[str, ModuleType]) -> None:  # noqa: F811
    cat = functions["catalog"]
    cinema = call(cat, "catalog/create_cinema.json")
    assert cinema.status == 201, cinema.body
    cinema_id = cinema.body["cinemaId"]
    where = {"cinemaId": cinema_id}
    auditorium = call(
        cat, "catalog/create_auditorium.json", body={"cinemaId": cinema_id, "name": "1", "rows": 2, "seatsPerRow": 3}
    )
    movie = call(cat, "catalog/create_movie.json")
    show = call(cat, "catalog/create_showtime.json", body={
        "movieId": movie.body["movieId"], "auditoriumId": auditorium.body["auditoriumId"],
        "startsAt": "2026-12-24T20:30:00+00:00", "price": {"amount": 1250, "currency": "EUR"}, "holdLeaseSeconds": 600,
    })  # fmt: skip
    assert (auditorium.status, movie.status, show.status) == (201, 201, 201), show.body
    showtime = {"showtimeId": show.body["showtimeId"]}
    time.sleep(0.002)
    for resource, params in (("/cinemas/{cinemaId}", where), ("/showtimes/{showtimeId}", showtime)):
        deleted = _route(cat, "DELETE", resource, params, as_of=None)
        assert deleted.status == 200 and deleted.body["revision"] == 2, deleted.body

    # cinemas: now (customers 404 once deleted, staff see it deleted), and as of each version's time
    assert _route(cat, "GET", "/cinemas/{cinemaId}", where, as_of=None, customer=True).status == 404
    now = _route(cat, "GET", "/cinemas/{cinemaId}", where, as_of=None)
    assert now.status == 200 and (now.body["deleted"], now.body["revision"], now.body["asOf"]) == (True, 2, None)
    history = _route(cat, "GET", "/cinemas/{cinemaId}/history", where, as_of=None)
    created_at = history.body["items"][-1]["at"]
    then = _route(cat, "GET", "/cinemas/{cinemaId}", where, as_of=created_at)
    assert then.status == 200, then.body
    assert (then.body["name"], then.body["city"], then.body["deleted"], then.body["revision"]) == (
        "Marquee Central", "Lisbon", False, 1,
    )  # fmt: skip
    assert _route(cat, "GET", "/cinemas/{cinemaId}", where, as_of="2999-01-01T00:00:00Z").body["deleted"] is True
    assert _route(cat, "GET", "/cinemas/{cinemaId}", where, as_of="2000-01-01T00:00:00Z").status == 404
    assert _route(cat, "GET", "/cinemas/{cinemaId}", where, as_of=created_at, customer=True).status == 403
    assert _route(cat, "GET", "/cinemas/{cinemaId}", {"cinemaId": "cin_none"}, as_of=None).status == 404

    # showtimes: the live read still 404s once deleted; as of its creation it is the showtime as it was, no seats
    assert _route(cat, "GET", "/showtimes/{showtimeId}", showtime, as_of=None).status == 404
    history = _route(cat, "GET", "/showtimes/{showtimeId}/history", showtime, as_of=None)
    created_at = history.body["items"][-1]["at"]
    then = _route(cat, "GET", "/showtimes/{showtimeId}", showtime, as_of=created_at)
    assert then.status == 200, then.body
    assert then.body["startsAt"].startswith("2026-12-24T20:30:00") and then.body["price"] == {
        "amount": 1250, "currency": "EUR",
    }  # fmt: skip
    assert (then.body["deleted"], then.body["revision"], "seats" in then.body) == (False, 1, False)
    later = _route(cat, "GET", "/showtimes/{showtimeId}", showtime, as_of="2999-01-01T00:00:00Z")
    assert later.status == 200 and (later.body["deleted"], later.body["revision"]) == (True, 2)
    assert _route(cat, "GET", "/showtimes/{showtimeId}", showtime, as_of="2000-01-01T00:00:00Z").status == 404
    assert _route(cat, "GET", "/showtimes/{showtimeId}", showtime, as_of=created_at, customer=True).status == 403
    assert _route(cat, "GET", "/showtimes/{showtimeId}", showtime, as_of="yesterday").status in (400, 422)
