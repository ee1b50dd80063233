"""marquee.booking.seats on moto: hold all-or-none, fencing tokens, convert and release (the saga's calls), idempotency."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from marquee.booking import seats
from marquee.booking.errors import HoldExpired, HoldNotActive, HoldNotFound, SeatsTaken, UnknownSeats
from marquee.tenancy.tenant import TenantContext

from .conftest import REGION, Platform

T = "acme"
SHOW = "sh1"


def ctx(user: str = "alice", tenant: str = T) -> TenantContext:
    return TenantContext(tenant_id=tenant, user_id=user)


@pytest.fixture
def ddb(platform: Platform) -> Any:
    client = boto3.client("dynamodb", region_name=REGION)
    tenant = ctx()
    for seat_id, available in (("A1", True), ("A2", True), ("A3", True), ("A4", False)):
        client.put_item(TableName=platform.table_name, Item=seats.seat_item(tenant, SHOW, seat_id, available=available))
    return client


def seat(ddb: Any, table: str, seat_id: str) -> dict[str, Any]:
    return ddb.get_item(TableName=table, Key=seats.seat_key(ctx(), SHOW, seat_id))["Item"]


def outbox_types(ddb: Any, table: str) -> list[str]:
    items = ddb.scan(TableName=table)["Items"]
    return sorted(json.loads(i["envelope"]["S"])["type"] for i in items if i["sk"]["S"] == "OUTBOX")


def hold(ddb: Any, table: str, *seat_ids: str, user: str = "alice", at_ms: int = 1_000_000) -> seats.Hold:
    return seats.create_hold(
        ctx(user),
        showtime_id=SHOW,
        seat_ids=list(seat_ids),
        lease_seconds=60,
        table_name=table,
        client=ddb,
        at_ms=at_ms,
    )


def test_a_hold_takes_every_seat_with_a_new_fence_and_writes_its_event(ddb: Any, platform: Platform) -> None:
    created = hold(ddb, platform.table_name, "A1", "A2")
    assert [s.fence for s in created.seats] == [1, 1]
    item = seat(ddb, platform.table_name, "A1")
    assert item["holder"]["S"] == created.hold_id and item["fence"]["N"] == "1"
    assert outbox_types(ddb, platform.table_name) == ["HoldCreated"]
    stored = seats.get_hold(ctx(), created.hold_id, table_name=platform.table_name, client=ddb)
    assert stored.status is seats.HoldStatus.ACTIVE and stored.seat_ids == ["A1", "A2"]


def test_an_overlapping_hold_is_refused_whole_and_names_the_taken_seat(ddb: Any, platform: Platform) -> None:
    hold(ddb, platform.table_name, "A2")
    with pytest.raises(SeatsTaken) as raised:
        hold(ddb, platform.table_name, "A1", "A2", user="bob")
    assert raised.value.extensions == {"seats": ["A2"]}
    assert "holder" not in seat(ddb, platform.table_name, "A1"), "no partial hold"


def test_unavailable_and_unknown_seats_are_refused(ddb: Any, platform: Platform) -> None:
    with pytest.raises(SeatsTaken):
        hold(ddb, platform.table_name, "A4")
    with pytest.raises(UnknownSeats) as raised:
        hold(ddb, platform.table_name, "A1", "Z9")
    assert raised.value.extensions == {"seats": ["Z9"]}
    assert "holder" not in seat(ddb, platform.table_name, "A1")


def test_an_expired_hold_is_taken_over_and_its_stale_convert_is_refused(ddb: Any, platform: Platform) -> None:
    stale = hold(ddb, platform.table_name, "A1", at_ms=1_000_000)
    fresh = hold(ddb, platform.table_name, "A1", user="bob", at_ms=1_000_000 + 61_000)
    assert fresh.seats[0].fence == 2
    with pytest.raises(HoldExpired):
        seats.convert_hold(ctx(), stale.hold_id, "ord_1", table_name=platform.table_name, client=ddb)
    assert "sold_to" not in seat(ddb, platform.table_name, "A1")
    converted = seats.convert_hold(ctx("bob"), fresh.hold_id, "ord_2", table_name=platform.table_name, client=ddb)
    assert converted.status is seats.HoldStatus.CONVERTED
    assert seat(ddb, platform.table_name, "A1")["sold_to"]["S"] == "ord_2"


def test_convert_is_idempotent_and_writes_one_event(ddb: Any, platform: Platform) -> None:
    created = hold(ddb, platform.table_name, "A1", "A2")
    for _ in range(2):
        seats.convert_hold(ctx(), created.hold_id, "ord_1", table_name=platform.table_name, client=ddb)
    assert outbox_types(ddb, platform.table_name) == ["HoldCreated", "SeatsReserved"]
    with pytest.raises(HoldExpired):
        seats.convert_hold(ctx(), created.hold_id, "ord_other", table_name=platform.table_name, client=ddb)


def test_convert_commits_the_callers_extra_items_in_the_same_transaction(ddb: Any, platform: Platform) -> None:
    created = hold(ddb, platform.table_name, "A1")
    order_key = {"pk": {"S": "TENANT#acme#ORDER#ord_1"}, "sk": {"S": "META"}}
    extra = {
        "Update": {
            "TableName": platform.table_name,
            "Key": order_key,
            "ConditionExpression": "order_status = :pending",
            "UpdateExpression": "SET order_status = :reserved",
            "ExpressionAttributeValues": {":pending": {"S": "PENDING"}, ":reserved": {"S": "RESERVED"}},
        }
    }
    with pytest.raises(seats.ConflictError):  # the order is not PENDING (absent): nothing is sold
        seats.convert_hold(
            ctx(), created.hold_id, "ord_1", table_name=platform.table_name, client=ddb, extra_items=[extra]
        )
    assert "sold_to" not in seat(ddb, platform.table_name, "A1")
    ddb.put_item(TableName=platform.table_name, Item={**order_key, "order_status": {"S": "PENDING"}})
    seats.convert_hold(ctx(), created.hold_id, "ord_1", table_name=platform.table_name, client=ddb, extra_items=[extra])
    assert ddb.get_item(TableName=platform.table_name, Key=order_key)["Item"]["order_status"]["S"] == "RESERVED"


def test_release_frees_the_seats_once_and_only_for_the_owner(ddb: Any, platform: Platform) -> None:
    created = hold(ddb, platform.table_name, "A1", "A2")
    with pytest.raises(HoldNotFound):
        seats.release_hold(ctx("bob"), created.hold_id, table_name=platform.table_name, owner_id="bob", client=ddb)
    first = seats.release_hold(ctx(), created.hold_id, table_name=platform.table_name, owner_id="alice", client=ddb)
    again = seats.release_hold(ctx(), created.hold_id, table_name=platform.table_name, owner_id="alice", client=ddb)
    assert first.changed and first.released_seats == ["A1", "A2"]
    assert not again.changed
    assert "holder" not in seat(ddb, platform.table_name, "A1")
    assert outbox_types(ddb, platform.table_name) == ["HoldCreated", "HoldReleased"]
    hold(ddb, platform.table_name, "A1", user="bob")  # free again


def test_release_of_a_taken_over_hold_leaves_the_new_holders_seat_alone(ddb: Any, platform: Platform) -> None:
    stale = hold(ddb, platform.table_name, "A1", "A2", at_ms=1_000_000)
    fresh = hold(ddb, platform.table_name, "A1", user="bob", at_ms=1_000_000 + 61_000)
    result = seats.release_hold(ctx(), stale.hold_id, table_name=platform.table_name, client=ddb)
    assert result.released_seats == ["A2"]
    assert seat(ddb, platform.table_name, "A1")["holder"]["S"] == fresh.hold_id


def test_release_sold_gives_back_a_converted_order_idempotently(ddb: Any, platform: Platform) -> None:
    created = hold(ddb, platform.table_name, "A1")
    seats.convert_hold(ctx(), created.hold_id, "ord_1", table_name=platform.table_name, client=ddb)
    with pytest.raises(HoldNotActive):
        seats.release_hold(ctx(), created.hold_id, table_name=platform.table_name, client=ddb)
    first = seats.release_sold(ctx(), created.hold_id, "ord_1", table_name=platform.table_name, client=ddb)
    again = seats.release_sold(ctx(), created.hold_id, "ord_1", table_name=platform.table_name, client=ddb)
    assert first.changed and first.released_seats == ["A1"] and not again.changed
    item = seat(ddb, platform.table_name, "A1")
    assert not {"sold_to", "holder", "lease_expires_at"} & set(item)
    assert outbox_types(ddb, platform.table_name) == ["HoldCreated", "SeatsReleased", "SeatsReserved"]


def test_release_sold_before_conversion_releases_the_hold(ddb: Any, platform: Platform) -> None:
    created = hold(ddb, platform.table_name, "A1")
    result = seats.release_sold(ctx(), created.hold_id, "ord_1", table_name=platform.table_name, client=ddb)
    assert result.changed and result.hold.status is seats.HoldStatus.RELEASED
    assert "holder" not in seat(ddb, platform.table_name, "A1")


def test_another_tenants_hold_is_not_found(ddb: Any, platform: Platform) -> None:
    created = hold(ddb, platform.table_name, "A1")
    other = ctx("eve", tenant="globex")
    for call in (
        lambda: seats.get_hold(other, created.hold_id, table_name=platform.table_name, client=ddb),
        lambda: seats.convert_hold(other, created.hold_id, "ord_x", table_name=platform.table_name, client=ddb),
        lambda: seats.release_sold(other, created.hold_id, "ord_x", table_name=platform.table_name, client=ddb),
    ):
        with pytest.raises(HoldNotFound):
            call()
