"""The orders function and the saga's steps in-process on moto: the paths the e2e tests cannot time on purpose.

The state machine is not run here (moto's interpreter runs in the e2e tests); each step handler is called the way the
state machine calls it, including twice, as a retry after a killed worker would.
"""

from __future__ import annotations

import copy
import json
from types import ModuleType
from typing import Any

import pytest

from marquee.booking import seats
from marquee.booking.errors import HoldExpired
from marquee.tenancy.tenant import TenantContext
from tests.integration.conftest import (
    LambdaContext,
    Platform,
    invoke,
    load_event,
    load_function,
    only_tenant_sessions,
    use_tenant_role,
)

SHOWTIME = "sh_1"
SEATS = ["A1", "A2"]


@pytest.fixture
def world(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    import boto3

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    tenant = TenantContext(tenant_id="acme-cinemas", user_id="seeder")
    ddb.put_item(
        TableName=platform.table_name,
        Item={
            "pk": {"S": seats.showtime_pk(tenant, SHOWTIME)},
            "sk": {"S": seats.META},
            "price": {"M": {"amount": {"N": "1100"}, "currency": {"S": "EUR"}}},
            "startsAt": {"S": "2030-01-01T20:00:00Z"},
        },
    )
    for seat in SEATS:
        ddb.put_item(TableName=platform.table_name, Item=seats.seat_item(tenant, SHOWTIME, seat, available=True))
    use_tenant_role(platform.table_name, monkeypatch)
    monkeypatch.setenv("STATE_MACHINE_ARN", platform.state_machine_arn)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "orders")
    orders = load_function("orders")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "order-saga")
    monkeypatch.setenv("CHARGE_SETTLE_SECONDS", "45")
    saga = load_function("order_saga")
    return {"ddb": ddb, "table": platform.table_name, "orders": orders, "saga": saga}


def post_event(hold_id: str, sub: str, card: str = "4242424242424242") -> dict[str, Any]:
    event = copy.deepcopy(load_event("orders/post_order.json"))
    event["body"] = json.dumps({"holdId": hold_id, "card": card})
    event["requestContext"]["authorizer"]["claims"]["sub"] = sub
    return event


def get_event(order_id: str, sub: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("orders/get_order.json"))
    event["path"] = f"/orders/{order_id}"
    event["pathParameters"] = {"orderId": order_id}
    event["requestContext"]["authorizer"]["claims"]["sub"] = sub
    return event


def customer(sub: str) -> TenantContext:
    return TenantContext(tenant_id="acme-cinemas", user_id=sub)


def step(saga: ModuleType, name: str, order_id: str, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = getattr(saga, name)(
        {"tenantId": "acme-cinemas", "orderId": order_id, **extra}, LambdaContext()
    )
    return result


def test_a_fence_that_moved_fails_the_order_without_charging_and_leaves_the_new_holder_alone(
    world: dict[str, Any],
) -> None:
    alice, bob = customer("alice-sub"), customer("bob-sub")
    hold = seats.create_hold(alice, showtime_id=SHOWTIME, seat_ids=SEATS, lease_seconds=60, table_name=world["table"])
    placed = invoke(world["orders"], post_event(hold.hold_id, "alice-sub"))
    assert placed.status == 202, placed.body
    order_id = placed.body["orderId"]

    # Alice's lease runs out before the saga reaches ReserveSeats, and Bob holds A1: its fence moves on.
    later = seats.now_ms() + 120_000
    taken = seats.create_hold(
        bob, showtime_id=SHOWTIME, seat_ids=["A1"], lease_seconds=600, table_name=world["table"], at_ms=later
    )

    with pytest.raises(HoldExpired):  # the error NAME the state machine's Catch sends to compensation
        step(world["saga"], "reserve_seats", order_id)
    error = {"Error": "HoldExpired", "Cause": json.dumps({"errorType": "HoldExpired", "errorMessage": "fence moved"})}
    for _ in range(2):  # a compensation re-run (killed worker) changes nothing
        step(world["saga"], "release_seats", order_id)
        step(world["saga"], "mark_failed", order_id, error=error)

    order = invoke(world["orders"], get_event(order_id, "alice-sub")).body
    assert order["status"] == "FAILED" and order["reason"] == "HoldExpired: fence moved"
    assert [(e["step"], e["status"]) for e in order["history"]] == [
        ("PlaceOrder", "DONE"),
        ("ReleaseSeats", "DONE"),
        ("MarkFailed", "DONE"),
    ]
    assert order["paymentId"] is None
    now = seats.now_ms() + 130_000
    state = seats.read_seats(alice, SHOWTIME, SEATS, table_name=world["table"])
    assert state["A1"].holder == taken.hold_id and state["A1"].sold_to is None  # Bob's hold untouched
    assert state["A2"].state(now) is seats.SeatState.FREE and state["A2"].sold_to is None
    payments = world["ddb"].scan(
        TableName=world["table"],
        FilterExpression="contains(pk, :p)",
        ExpressionAttributeValues={":p": {"S": "#PAYMENT#"}},
    )["Items"]
    assert payments == []


def test_reserve_seats_run_twice_sells_once_and_records_once(world: dict[str, Any]) -> None:
    carol = customer("carol-sub")
    hold = seats.create_hold(carol, showtime_id=SHOWTIME, seat_ids=SEATS, lease_seconds=60, table_name=world["table"])
    order_id = invoke(world["orders"], post_event(hold.hold_id, "carol-sub")).body["orderId"]
    first = step(world["saga"], "reserve_seats", order_id)
    second = step(world["saga"], "reserve_seats", order_id)
    assert first["status"] == second["status"] == "DONE"
    order = invoke(world["orders"], get_event(order_id, "carol-sub")).body
    assert [e["step"] for e in order["history"]].count("ReserveSeats") == 1
    state = seats.read_seats(carol, SHOWTIME, SEATS, table_name=world["table"])
    assert {s.sold_to for s in state.values()} == {order_id}
    outbox = world["ddb"].scan(
        TableName=world["table"],
        FilterExpression="event_type = :t",
        ExpressionAttributeValues={":t": {"S": "SeatsReserved"}},
    )["Items"]
    assert len(outbox) == 1


def test_a_retried_post_is_the_same_order_and_an_expired_hold_is_409(world: dict[str, Any]) -> None:
    dan = customer("dan-sub")
    hold = seats.create_hold(dan, showtime_id=SHOWTIME, seat_ids=["A1"], lease_seconds=60, table_name=world["table"])
    first = invoke(world["orders"], post_event(hold.hold_id, "dan-sub"))
    second = invoke(world["orders"], post_event(hold.hold_id, "dan-sub"))
    assert first.status == second.status == 202 and first.body == second.body
    expired = seats.create_hold(
        dan,
        showtime_id=SHOWTIME,
        seat_ids=["A2"],
        lease_seconds=1,
        table_name=world["table"],
        at_ms=seats.now_ms() - 5000,
    )
    response = invoke(world["orders"], post_event(expired.hold_id, "dan-sub"))
    assert response.status == 409 and response.body["type"].endswith("hold-expired")
    other = invoke(world["orders"], get_event(first.body["orderId"], "someone-else"))
    assert other.status == 404


def test_a_late_charge_after_compensation_began_never_reaches_the_provider(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Step Functions gave up on ChargePayment (States.Timeout) and compensated; the invocation it abandoned, queued for
    a worker, starts only now. It must not charge."""
    from marquee import payments
    from marquee.booking.orders import OrderStateConflict

    erin = customer("erin-sub")
    hold = seats.create_hold(erin, showtime_id=SHOWTIME, seat_ids=SEATS, lease_seconds=60, table_name=world["table"])
    order_id = invoke(world["orders"], post_event(hold.hold_id, "erin-sub")).body["orderId"]
    step(world["saga"], "reserve_seats", order_id)
    step(world["saga"], "release_seats", order_id)  # compensation has begun

    def charge(*_: Any, **__: Any) -> Any:
        raise AssertionError("the provider was called after compensation began")

    monkeypatch.setattr(payments, "charge", charge)
    with pytest.raises(OrderStateConflict):
        step(world["saga"], "charge_payment", order_id)


def test_refund_waits_while_a_charge_attempt_may_still_capture(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A charge attempt that began less than CHARGE_SETTLE_SECONDS ago may still capture: "no payment yet" is a
    transient ChargeMayBeInFlight (retried), never a SKIPPED refund."""
    from marquee import payments
    from marquee.booking.orders import ChargeMayBeInFlight

    fay = customer("fay-sub")
    hold = seats.create_hold(fay, showtime_id=SHOWTIME, seat_ids=SEATS, lease_seconds=60, table_name=world["table"])
    order_id = invoke(world["orders"], post_event(hold.hold_id, "fay-sub")).body["orderId"]
    step(world["saga"], "reserve_seats", order_id)

    def charge(*_: Any, **__: Any) -> Any:
        raise payments.ProviderUnavailable("outcome unknown")

    def refund(*_: Any, **__: Any) -> Any:
        raise payments.PaymentNotFound("not yet")

    monkeypatch.setattr(payments, "charge", charge)
    monkeypatch.setattr(payments, "refund", refund)
    with pytest.raises(payments.ProviderUnavailable):
        step(world["saga"], "charge_payment", order_id)  # the attempt is noted before the provider is called
    with pytest.raises(ChargeMayBeInFlight):
        step(world["saga"], "refund_payment", order_id)
    order = invoke(world["orders"], get_event(order_id, "fay-sub")).body
    assert "RefundPayment" not in [e["step"] for e in order["history"]]


def test_the_orders_api_reaches_the_table_only_through_the_callers_tenant_session(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Challenge 19: POST and GET /orders use the tenant-access role's session for the caller's tenant, never the
    function's own role (which has no table access on AWS)."""
    erin = customer("erin-sub")
    hold = seats.create_hold(erin, showtime_id=SHOWTIME, seat_ids=["A1"], lease_seconds=60, table_name=world["table"])
    with only_tenant_sessions(monkeypatch, world["table"]) as opened:
        placed = invoke(world["orders"], post_event(hold.hold_id, "erin-sub"))
        assert placed.status == 202, placed.body
        got = invoke(world["orders"], get_event(placed.body["orderId"], "erin-sub"))
        assert got.status == 200 and got.body["orderId"] == placed.body["orderId"]
    assert opened and set(opened) == {"acme-cinemas"}


def test_a_showtime_that_started_during_the_charge_is_refunded_released_and_failed(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sales close at the start: ConfirmOrder refuses with ShowtimeStarted (not retried), after the capture, so the
    compensation refunds the payment it finds and releases the seats."""
    from datetime import UTC, datetime

    from marquee import payments
    from marquee.core.money import Money

    gil = customer("gil-sub")
    hold = seats.create_hold(gil, showtime_id=SHOWTIME, seat_ids=SEATS, lease_seconds=60, table_name=world["table"])
    order_id = invoke(world["orders"], post_event(hold.hold_id, "gil-sub")).body["orderId"]
    step(world["saga"], "reserve_seats", order_id)
    captured = payments.PaymentResult(
        payment_id="pay_gil",
        status=payments.PaymentStatus.CAPTURED,
        amount=Money(amount=2200, currency="EUR"),
        provider=payments.ProviderName.PRIMARY,
        provider_charge_id="ch_gil",
        order_id=order_id,
        card_last4="4242",
        created_at=datetime.now(UTC),
    )
    refunds: list[str] = []

    def refund(_tenant: str, _client: str, _key: str, payment_id: str) -> Any:
        refunds.append(payment_id)
        return payments.RefundResult(
            payment_id=payment_id,
            refund_id="ref_gil",
            status=payments.PaymentStatus.REFUNDED,
            amount=captured.amount,
            provider=captured.provider,
            provider_refund_id="re_gil",
            refunded_at=datetime.now(UTC),
        )

    monkeypatch.setattr(payments, "charge", lambda *_, **__: captured)
    monkeypatch.setattr(payments, "refund", refund)
    step(world["saga"], "charge_payment", order_id)
    # The show begins while the customer pays.
    key = {"pk": {"S": seats.showtime_pk(gil, SHOWTIME)}, "sk": {"S": seats.META}}
    world["ddb"].update_item(
        TableName=world["table"],
        Key=key,
        UpdateExpression="SET startsAt = :s",
        ExpressionAttributeValues={":s": {"S": "2020-01-01T20:00:00Z"}},
    )
    with pytest.raises(Exception) as raised:
        step(world["saga"], "confirm_order", order_id)
    assert type(raised.value).__name__ == "ShowtimeStarted"  # the error NAME the state machine's Catch matches
    error = {"Error": "ShowtimeStarted", "Cause": json.dumps({"errorMessage": str(raised.value)})}
    for _ in range(2):  # a compensation re-run (killed worker) refunds once
        step(world["saga"], "refund_payment", order_id)
        step(world["saga"], "release_seats", order_id)
        step(world["saga"], "mark_failed", order_id, error=error)

    assert refunds == ["pay_gil"]
    order = invoke(world["orders"], get_event(order_id, "gil-sub")).body
    assert order["status"] == "FAILED" and order["reason"].startswith("ShowtimeStarted: Showtime sh_1 started")
    assert [(e["step"], e["status"]) for e in order["history"]] == [
        ("PlaceOrder", "DONE"),
        ("ReserveSeats", "DONE"),
        ("ChargePayment", "DONE"),
        ("RefundPayment", "DONE"),
        ("ReleaseSeats", "DONE"),
        ("MarkFailed", "DONE"),
    ]
    state = seats.read_seats(gil, SHOWTIME, SEATS, table_name=world["table"])
    assert all(s.sold_to is None and s.holder is None for s in state.values())
