"""Expand and contract on a hold's seats (``marquee.booking.hold_shape``, docs/design/02-zero-downtime-deploys.md), each
phase in-process on moto against the same code, the phase chosen by its setting:

- expand: writes the old list, reads both (the holds function run with ``HOLD_SHAPE_PHASE=expand`` too);
- migrate: writes the new map, reads both, and the saga's convert and release work on holds of either shape;
- backfill (``marquee.dynamo.backfill``): rewrites every old hold once with counts, is idempotent, resumes from its
  checkpoint after being killed mid-page, paces its writes, and never clobbers a concurrent writer (a status written
  between its read and its rewrite survives, a hold deleted meanwhile is not re-created, a hold rewritten in the old
  shape meanwhile is read again), also with writers of both versions running in threads beside it;
- contract: reads only the new map, once ``count_old`` finds no old hold; an old one left over is refused loudly.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest

from localcloud.dynamodb import atomicity
from marquee.booking import hold_shape, seats
from marquee.booking.hold_shape import RetiredItemShape, ShapePhase
from marquee.dynamo import backfill as bf
from marquee.tenancy.tenant import TenantContext

from .conftest import REGION, Platform, invoke, load_event, load_function, use_tenant_role
from .test_outbox_crash_points import ProcessKilled, dies

TENANT = TenantContext(tenant_id="acme-cinemas", user_id="shape-sub")
SHOWTIME = "sht_shape"
SEAT_IDS = [f"{row}{n}" for row in "ABCDEFGH" for n in range(1, 11)]  # 80 seats


@pytest.fixture
def world(platform: Platform) -> Iterator[dict[str, Any]]:
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.put_item(
        TableName=platform.table_name,
        Item={
            "pk": {"S": seats.showtime_pk(TENANT, SHOWTIME)},
            "sk": {"S": seats.META},
            "price": {"M": {"amount": {"N": "900"}, "currency": {"S": "EUR"}}},
            "holdLeaseSeconds": {"N": "600"},
            "startsAt": {"S": "2030-01-01T20:00:00Z"},
        },
    )
    for seat in SEAT_IDS:
        ddb.put_item(TableName=platform.table_name, Item=seats.seat_item(TENANT, SHOWTIME, seat, available=True))
    ddb.create_table(
        TableName="ops",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield {"ddb": ddb, "table": platform.table_name, "free": list(SEAT_IDS), "platform": platform}
    hold_shape.use_phase(hold_shape.DEFAULT_PHASE)


def new_hold(world: dict[str, Any], phase: ShapePhase, count: int = 1) -> seats.Hold:
    """A hold of ``count`` free seats made by the code of ``phase``."""
    hold_shape.use_phase(phase)
    taken, world["free"] = world["free"][:count], world["free"][count:]
    return seats.create_hold(TENANT, showtime_id=SHOWTIME, seat_ids=taken, lease_seconds=600, table_name=world["table"])


def raw(world: dict[str, Any], hold_id: str) -> dict[str, Any] | None:
    item = world["ddb"].get_item(TableName=world["table"], Key=seats.hold_key(TENANT, hold_id), ConsistentRead=True)
    return item.get("Item")


def shape_of(item: dict[str, Any]) -> str:
    return "+".join(name for name in (hold_shape.OLD_ATTRIBUTE, hold_shape.NEW_ATTRIBUTE) if name in item)


def run_backfill(world: dict[str, Any], **kwargs: Any) -> bf.BackfillReport:
    kwargs.setdefault("pacer", bf.Pacer(10_000))
    kwargs.setdefault("page_size", 5)
    checkpoint = bf.Checkpoint(world["ddb"], "ops", "hold-seat-fences")
    return bf.backfill(world["ddb"], world["table"], hold_shape.backfill_shape(), checkpoint=checkpoint, **kwargs)


def old_count(world: dict[str, Any]) -> int:
    return bf.count_old(world["ddb"], world["table"], hold_shape.backfill_shape())


# ---- phase 1: expand ----------------------------------------------------------------------------------------------
def post_hold(module: ModuleType, seat_ids: list[str]) -> Any:
    import json

    event = load_event("holds/create_hold.json")
    event["body"] = json.dumps({"seats": seat_ids})
    event["pathParameters"] = {"showtimeId": SHOWTIME}
    event["path"] = f"/showtimes/{SHOWTIME}/holds"
    event["requestContext"]["authorizer"]["claims"]["sub"] = TENANT.user_id
    event["requestContext"]["authorizer"]["claims"]["custom:tenant_id"] = TENANT.tenant_id
    return invoke(module, event)


@pytest.mark.parametrize(
    ("phase", "written"),
    [
        ("expand", hold_shape.OLD_ATTRIBUTE),
        ("migrate", hold_shape.NEW_ATTRIBUTE),
        ("contract", hold_shape.NEW_ATTRIBUTE),
    ],
)
def test_the_holds_function_writes_the_shape_its_phase_setting_names(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, phase: str, written: str
) -> None:
    monkeypatch.setenv("HOLD_SHAPE_PHASE", phase)
    use_tenant_role(world["table"], monkeypatch)
    monkeypatch.setenv("DEFAULT_HOLD_LEASE_SECONDS", "600")
    for name, value in {
        "CACHE_ADDRESS": "127.0.0.1",
        "CACHE_PORT": "1",
        "CACHE_TLS": "false",
        "CACHE_CLUSTER": "false",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "holds")
    module = load_function("holds")
    assert hold_shape.phase() is ShapePhase(phase)
    response = post_hold(module, ["A1", "A2"])
    assert response.status == 201, response.body
    item = raw(world, response.body["holdId"])
    assert item is not None and shape_of(item) == written


def test_expand_writes_the_old_list_and_reads_holds_of_both_shapes(world: dict[str, Any]) -> None:
    old = new_hold(world, ShapePhase.EXPAND, 2)
    newer = new_hold(world, ShapePhase.MIGRATE, 2)  # the next version, beside it in the canary
    assert shape_of(raw(world, old.hold_id) or {}) == "seats"
    assert shape_of(raw(world, newer.hold_id) or {}) == "seat_fences"
    hold_shape.use_phase(ShapePhase.EXPAND)  # a rollback to expand reads what migrate wrote
    for hold in (old, newer):
        assert seats.get_hold(TENANT, hold.hold_id, table_name=world["table"]).seats == hold.seats


# ---- phase 2: migrate ---------------------------------------------------------------------------------------------
def test_migrate_writes_the_new_map_and_converts_and_releases_old_holds(world: dict[str, Any]) -> None:
    old_to_sell = new_hold(world, ShapePhase.EXPAND, 2)
    old_to_release = new_hold(world, ShapePhase.EXPAND, 1)
    hold_shape.use_phase(ShapePhase.MIGRATE)
    fresh = new_hold(world, ShapePhase.MIGRATE, 3)
    item = raw(world, fresh.hold_id) or {}
    assert shape_of(item) == "seat_fences"
    assert {seat: int(v["N"]) for seat, v in item["seat_fences"]["M"].items()} == {
        s.seat_id: s.fence for s in fresh.seats
    }

    sold = seats.convert_hold(TENANT, old_to_sell.hold_id, "ord_00000000000000000001", table_name=world["table"])
    assert sold.status is seats.HoldStatus.CONVERTED and sold.seats == old_to_sell.seats
    released = seats.release_hold(TENANT, old_to_release.hold_id, table_name=world["table"])
    assert released.changed and released.hold.status is seats.HoldStatus.RELEASED
    state = seats.read_seats(TENANT, SHOWTIME, [s.seat_id for s in old_to_sell.seats], table_name=world["table"])
    assert {seat.sold_to for seat in state.values()} == {"ord_00000000000000000001"}


# ---- phase 3: backfill --------------------------------------------------------------------------------------------
def test_the_backfill_rewrites_each_old_hold_once_keeps_its_seats_and_a_second_run_finds_nothing(
    world: dict[str, Any],
) -> None:
    old = [new_hold(world, ShapePhase.EXPAND, 1 + n % 3) for n in range(12)]
    new = [new_hold(world, ShapePhase.MIGRATE, 1) for _ in range(3)]
    assert old_count(world) == 12

    report = run_backfill(world)
    assert (report.matched, report.migrated, report.already, report.gone, report.reread) == (12, 12, 0, 0, 0)
    assert report.complete and report.pages >= 2 and report.scanned >= 15 + len(SEAT_IDS)
    assert old_count(world) == 0
    hold_shape.use_phase(ShapePhase.CONTRACT)
    for hold in old + new:
        item = raw(world, hold.hold_id) or {}
        assert shape_of(item) == "seat_fences"
        assert seats.get_hold(TENANT, hold.hold_id, table_name=world["table"]).seats == hold.seats

    again = run_backfill(world)
    assert (again.matched, again.migrated, again.resumed) == (0, 0, False)


def test_a_backfill_killed_mid_page_resumes_from_its_checkpoint_and_finishes(world: dict[str, Any]) -> None:
    for n in range(14):
        new_hold(world, ShapePhase.EXPAND, 1 + n % 2)
    first = run_backfill(world, max_pages=2)  # an operator's Ctrl-C between pages
    assert not first.complete and first.pages == 2
    calls = {"n": 0}
    real = bf._rewrite_one  # noqa: SLF001 - to die on the third rewrite of the resumed run

    def third_rewrite_dies(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            with dies("UpdateItem", after=True):
                real(*args, **kwargs)
        real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bf, "_rewrite_one", third_rewrite_dies)
        with pytest.raises(ProcessKilled):
            run_backfill(world)
    assert old_count(world) > 0
    resumed = run_backfill(world)
    assert resumed.resumed and resumed.complete
    assert resumed.pages > first.pages  # counted on from the checkpoint, not from zero
    assert old_count(world) == 0
    # The killed page's items done before the kill were found done on the re-read (the filter no longer matched).
    assert resumed.migrated <= 14 and resumed.matched == resumed.migrated


def test_the_backfill_paces_its_writes_to_the_rate_it_is_given(world: dict[str, Any]) -> None:
    for _ in range(9):
        new_hold(world, ShapePhase.EXPAND)
    clock = {"now": 100.0}
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock["now"] += seconds

    pacer = bf.Pacer(4, clock=lambda: clock["now"], sleep=sleep)  # 4 writes a second; the scan itself takes no time
    report = run_backfill(world, pacer=pacer)
    assert report.migrated == 9
    assert sum(slept) == pytest.approx(8 / 4)  # 9 writes spaced a quarter second apart


def test_the_rewrite_never_clobbers_what_a_writer_changed_between_its_read_and_its_write(
    world: dict[str, Any],
) -> None:
    released, deleted, rewritten = (new_hold(world, ShapePhase.EXPAND, 2) for _ in range(3))
    shape = hold_shape.backfill_shape()
    ddb, table = world["ddb"], world["table"]

    def writers_get_in_first(item: Any) -> dict[str, Any]:
        args = shape.rewrite(item)
        hold_id = item["hold_id"]["S"]
        if hold_id == released.hold_id and "seat_fences" not in item:
            hold_shape.use_phase(ShapePhase.MIGRATE)
            seats.release_hold(TENANT, hold_id, table_name=table)  # the new version releases it meanwhile
        elif hold_id == deleted.hold_id:
            ddb.delete_item(TableName=table, Key=seats.hold_key(TENANT, hold_id))  # TTL deletes it meanwhile
        elif hold_id == rewritten.hold_id and item["seats"]["L"][0]["M"]["fence"]["N"] != "99":
            fresh = [{"M": {"seatId": {"S": "Z9"}, "fence": {"N": "99"}}}, *item["seats"]["L"][1:]]
            ddb.update_item(  # an old-version writer rewrites the list meanwhile
                TableName=table,
                Key=seats.hold_key(TENANT, hold_id),
                UpdateExpression="SET seats = :s",
                ExpressionAttributeValues={":s": {"L": fresh}},
            )
        return args

    racing = bf.Shape(shape.filter_expression, shape.filter_values, shape.is_new, writers_get_in_first)
    checkpoint = bf.Checkpoint(ddb, "ops", "race")
    report = bf.backfill(ddb, table, racing, checkpoint=checkpoint, pacer=bf.Pacer(10_000))
    assert (report.matched, report.migrated, report.gone, report.reread) == (3, 2, 1, 1)
    assert raw(world, deleted.hold_id) is None  # not re-created by the rewrite
    after = raw(world, released.hold_id) or {}
    assert after["hold_status"]["S"] == "RELEASED" and shape_of(after) == "seat_fences"  # the release survived
    moved = raw(world, rewritten.hold_id) or {}
    assert moved["seat_fences"]["M"]["Z9"] == {"N": "99"}  # migrated from the list as it is now, not as first read


def test_a_backfill_running_while_both_versions_write_loses_no_write(world: dict[str, Any]) -> None:
    """Threads: the old version creating holds in the old shape, the new version creating and releasing holds, TTL
    deleting some, while the backfill runs page by page. Afterwards every write is there as its writer left it, and
    a last pass (the old version may write after the scan went by) leaves no old hold."""
    atomicity.install()  # each DynamoDB call atomic across threads, as on AWS (moto alone assumes one caller)
    hold_shape.use_phase(ShapePhase.MIGRATE)  # the process is the new version; the old one writes its items itself
    initial = [new_hold(world, ShapePhase.EXPAND, 1) for _ in range(30)]
    hold_shape.use_phase(ShapePhase.MIGRATE)
    to_release, to_delete = initial[:18], initial[18:24]
    table, ddb = world["table"], world["ddb"]
    old_version: list[seats.Hold] = []
    new_version: list[seats.Hold] = []
    seat_pool = list(world["free"])
    errors: list[BaseException] = []

    def guarded(work: Any) -> Any:
        def run() -> None:
            try:
                work()
            except BaseException as exc:  # noqa: BLE001 - reported by the test below
                errors.append(exc)

        return run

    def old_writer() -> None:
        for n in range(12):
            hold = seats.Hold(
                hold_id=f"hold_old{n:04d}",
                tenant_id=TENANT.tenant_id,
                showtime_id=SHOWTIME,
                customer_id=TENANT.user_id,
                seats=[seats.HeldSeat(seat_id=f"Q{n + 1}", fence=1)],
                lease_expires_at_ms=seats.now_ms() + 600_000,
                status=seats.HoldStatus.ACTIVE,
                created_at_ms=seats.now_ms(),
            )
            item = {
                **seats.hold_key(TENANT, hold.hold_id),
                "entity": {"S": "HOLD"},
                "hold_id": {"S": hold.hold_id},
                "showtime_id": {"S": SHOWTIME},
                "customer_id": {"S": TENANT.user_id},
                **hold_shape.write_seats([(s.seat_id, s.fence) for s in hold.seats], current=ShapePhase.EXPAND),
                "lease_expires_at_ms": {"N": str(hold.lease_expires_at_ms)},
                "hold_status": {"S": "ACTIVE"},
                "created_at_ms": {"N": str(hold.created_at_ms)},
            }
            ddb.put_item(TableName=table, Item=item)
            old_version.append(hold)

    def new_writer() -> None:
        for n in range(12):
            new_version.append(
                seats.create_hold(
                    TENANT, showtime_id=SHOWTIME, seat_ids=[seat_pool[n]], lease_seconds=600, table_name=table
                )
            )

    def releaser() -> None:
        for hold in random.sample(to_release, len(to_release)):
            seats.release_hold(TENANT, hold.hold_id, table_name=table)

    def ttl() -> None:
        for hold in to_delete:
            ddb.delete_item(TableName=table, Key=seats.hold_key(TENANT, hold.hold_id))

    reports: list[bf.BackfillReport] = []
    threads = [
        threading.Thread(target=guarded(work))
        for work in (old_writer, new_writer, releaser, ttl, lambda: reports.append(run_backfill(world, page_size=4)))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    last = run_backfill(world)
    assert old_count(world) == 0
    first = reports[0]
    assert first.complete and first.matched == first.migrated + first.already + first.gone
    assert last.matched == last.migrated  # whatever the old version wrote after the first pass went by

    hold_shape.use_phase(ShapePhase.CONTRACT)
    for hold in to_release:
        got = seats.get_hold(TENANT, hold.hold_id, table_name=table)
        assert got.status is seats.HoldStatus.RELEASED and got.seats == hold.seats  # the release was not lost
    for hold in to_delete:
        assert raw(world, hold.hold_id) is None  # not re-created
    for hold in [*initial[24:], *old_version, *new_version]:
        got = seats.get_hold(TENANT, hold.hold_id, table_name=table)
        assert got.status is seats.HoldStatus.ACTIVE and got.seats == hold.seats


# ---- phase 4: contract --------------------------------------------------------------------------------------------
def test_contract_reads_only_the_new_map_once_no_old_hold_remains(world: dict[str, Any]) -> None:
    old = new_hold(world, ShapePhase.EXPAND, 2)
    hold_shape.use_phase(ShapePhase.CONTRACT)
    with pytest.raises(RetiredItemShape):  # contract before the backfill: refused loudly, never misread
        seats.get_hold(TENANT, old.hold_id, table_name=world["table"])
    assert old_count(world) == 1  # what `marquee migrate-items holds --verify` reports: not safe yet

    run_backfill(world)
    assert old_count(world) == 0  # safe: contract
    assert seats.get_hold(TENANT, old.hold_id, table_name=world["table"]).seats == old.seats
    fresh = new_hold(world, ShapePhase.CONTRACT, 1)
    assert shape_of(raw(world, fresh.hold_id) or {}) == "seat_fences"
    sold = seats.convert_hold(TENANT, old.hold_id, "ord_00000000000000000002", table_name=world["table"])
    assert sold.status is seats.HoldStatus.CONVERTED
