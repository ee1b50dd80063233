"""The order saga end to end (challenge 11): real deploy, orders through the front door, executions in the local
cloud's Step Functions with the step functions on the runner, payments through the simulated providers."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.e2e.saga_helpers import CARD_DECLINED, CARD_FAILS_AFTER_CHARGE, CARD_OK, STARTED, SagaWorld


@pytest.fixture(scope="module")
def world(deployed: dict[str, Any]) -> SagaWorld:
    return SagaWorld(deployed["endpoint"], deployed["outputs"])


def steps(order: dict[str, Any]) -> list[tuple[str, str]]:
    return [(entry["step"], entry["status"]) for entry in order["history"]]


def test_a_good_card_confirms_the_order_with_its_step_history(world: SagaWorld) -> None:
    alice = world.customer("t1", "saga-alice")
    showtime, seat_ids = world.showtime("t1", rows=1, per_row=4)
    hold_id = world.hold(alice, showtime, seat_ids[:2])
    response = world.place(alice, hold_id, CARD_OK)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "PENDING" and accepted["orderId"].startswith("ord_")
    order = world.wait_order(alice, accepted["orderId"])
    assert order["status"] == "CONFIRMED", order
    assert steps(order) == [
        ("PlaceOrder", "DONE"),
        ("ReserveSeats", "DONE"),
        ("ChargePayment", "DONE"),
        ("ConfirmOrder", "DONE"),
    ]
    assert order["amount"] == {"amount": 2 * 1250, "currency": "EUR"}
    assert order["cardLast4"] == "4242" and "card" not in order
    for seat_id in seat_ids[:2]:
        assert world.seat("t1", showtime, seat_id).sold_to == accepted["orderId"]


def test_a_declined_card_fails_the_order_releases_the_seats_and_charges_nothing(world: SagaWorld) -> None:
    bob = world.customer("t1", "saga-bob")
    showtime, seat_ids = world.showtime("t1", rows=1, per_row=2)
    order_id = world.place(bob, world.hold(bob, showtime, seat_ids), CARD_DECLINED).json()["orderId"]
    order = world.wait_order(bob, order_id)
    assert order["status"] == "FAILED", order
    assert order["reason"].startswith("PaymentDeclined")
    assert steps(order)[-3:] == [("RefundPayment", "SKIPPED"), ("ReleaseSeats", "DONE"), ("MarkFailed", "DONE")]
    for seat_id in seat_ids:
        seat = world.seat("t1", showtime, seat_id)
        assert seat.sold_to is None and seat.holder is None
    captured = [i for i in world.items_with("#PAYMENT#") if i.get("orderId", {}).get("S") == order_id]
    assert all(i.get("status", {}).get("S") != "CAPTURED" for i in captured)


def test_a_failure_after_the_capture_refunds_the_payment_and_releases_the_seats(world: SagaWorld) -> None:
    """The showtime has started: the charge is captured, then ConfirmOrder refuses (sales closed), so the saga's
    compensation refunds the capture at the provider and releases the seats, every time."""
    carol = world.customer("t1", "saga-carol")
    showtime, seat_ids = world.showtime("t1", rows=1, per_row=2, starts_at=STARTED)
    refunds_before = world.provider_stats("primary")["refunds"] + world.provider_stats("secondary")["refunds"]
    order_id = world.place(carol, world.hold(carol, showtime, seat_ids), CARD_OK).json()["orderId"]
    order = world.wait_order(carol, order_id, timeout=120)
    assert order["status"] == "FAILED", order
    assert order["reason"].startswith("ShowtimeStarted"), order["reason"]
    assert steps(order) == [
        ("PlaceOrder", "DONE"),
        ("ReserveSeats", "DONE"),
        ("ChargePayment", "DONE"),
        ("RefundPayment", "DONE"),
        ("ReleaseSeats", "DONE"),
        ("MarkFailed", "DONE"),
    ]
    for seat_id in seat_ids:
        seat = world.seat("t1", showtime, seat_id)
        assert seat.sold_to is None and seat.holder is None, seat
    payments = [i for i in world.items_with("#PAYMENT#") if i.get("orderId", {}).get("S") == order_id]
    assert [(p["pk"]["S"].rsplit("#", 1)[-1], p["status"]["S"]) for p in payments] == [(order["paymentId"], "REFUNDED")]
    refunds_after = world.provider_stats("primary")["refunds"] + world.provider_stats("secondary")["refunds"]
    assert refunds_after == refunds_before + 1


def test_a_charge_whose_answer_is_lost_is_settled_by_the_replay_and_charged_once(world: SagaWorld) -> None:
    """The provider charges the card, then answers 500: the retry asks the same provider with the same key, which
    replays the charge. The order is confirmed with that one charge (no second charge, nothing to refund)."""
    dora = world.customer("t1", "saga-dora")
    showtime, seat_ids = world.showtime("t1", rows=1, per_row=1)
    order_id = world.place(dora, world.hold(dora, showtime, seat_ids), CARD_FAILS_AFTER_CHARGE).json()["orderId"]
    order = world.wait_order(dora, order_id, timeout=120)
    assert order["status"] == "CONFIRMED", order
    assert ("ChargePayment", "DONE") in steps(order) and ("RefundPayment", "DONE") not in steps(order)
    payments = [i for i in world.items_with("#PAYMENT#") if i.get("orderId", {}).get("S") == order_id]
    assert [p["status"]["S"] for p in payments] == ["CAPTURED"]
    provider = payments[0]["provider"]["S"]
    keys = world.provider_stats(provider)["keys"]
    assert keys[order["paymentId"]]["charges"] == 1 and keys[order["paymentId"]]["requests"] >= 2, keys


def test_a_retried_post_is_the_same_order_with_one_execution(world: SagaWorld) -> None:
    dan = world.customer("t1", "saga-dan")
    showtime, seat_ids = world.showtime("t1", rows=1, per_row=1)
    hold_id = world.hold(dan, showtime, seat_ids)
    first = world.place(dan, hold_id)
    second = world.place(dan, hold_id)
    assert first.status_code == second.status_code == 202
    order_id = first.json()["orderId"]
    assert second.json()["orderId"] == order_id
    world.wait_order(dan, order_id)
    third = world.place(dan, hold_id)  # after the saga finished: still the same order, no new execution
    assert third.status_code == 202 and third.json() == {"orderId": order_id, "status": "CONFIRMED"}
    assert [e["name"] for e in world.executions()].count(order_id) == 1


def test_an_order_committed_by_a_handler_that_died_before_answering_still_completes(world: SagaWorld) -> None:
    """The HTTP handler's crash point: its transaction committed, then the process died before it answered. Here the
    handler's own logic runs in the test process, which commits and never answers; only the OrderPlaced event in the
    outbox is left to start the saga (relay, bus rule, the orders function), and it does: one execution, CONFIRMED."""
    from functions.orders.logic import place_order
    from functions.orders.models import PlaceOrderRequest
    from marquee.booking.orders import OrderStore

    gus = world.customer("t1", "saga-gus")
    showtime, seat_ids = world.showtime("t1", rows=1, per_row=2)
    hold_id = world.hold(gus, showtime, seat_ids)
    request = PlaceOrderRequest.model_validate({"holdId": hold_id, "card": CARD_OK})
    accepted = place_order(request, gus.context, OrderStore(world.table, world.ddb))  # committed; nobody answered
    order = world.wait_order(gus, accepted.order_id)
    assert order["status"] == "CONFIRMED", order
    assert [e["name"] for e in world.executions()].count(accepted.order_id) == 1
    assert {world.seat("t1", showtime, seat).sold_to for seat in seat_ids} == {accepted.order_id}


def test_bad_requests_are_problems_and_write_nothing(world: SagaWorld) -> None:
    erin = world.customer("t1", "saga-erin")
    mallory = world.customer("t2", "saga-mallory")
    showtime, seat_ids = world.showtime("t1", rows=1, per_row=2)
    hold_id = world.hold(erin, showtime, seat_ids[:1])
    before = len(world.items_with("#ORDER#"))

    def post(body: Any, who: Any = erin, raw: str | None = None) -> Any:
        data = raw if raw is not None else json.dumps(body)
        return world.http.post(
            f"{world.api}/orders",
            data=data,
            headers={"Authorization": who.token, "Content-Type": "application/json"},
            timeout=30,
        )

    cases = {
        "malformed JSON": (post(None, raw='{"holdId": '), 400),
        "unknown hold": (post({"holdId": "hld_nope", "card": CARD_OK}), 404),
        "another tenant's hold": (post({"holdId": hold_id, "card": CARD_OK}, mallory), 404),
        "not a card number": (post({"holdId": hold_id, "card": "4242424242424241"}), 422),
        "unknown field": (post({"holdId": hold_id, "card": CARD_OK, "amount": 1}), 422),
        "body over 256 KB": (post(None, raw=json.dumps({"holdId": hold_id, "card": CARD_OK, "x": "a" * 300_000})), 413),
    }
    for name, (response, status) in cases.items():
        assert response.status_code == status, (name, response.status_code, response.text)
        assert response.headers["Content-Type"].startswith("application/problem+json"), name
        assert response.json()["status"] == status, name

    expired = world.hold(erin, showtime, seat_ids[1:], lease_seconds=1)
    time.sleep(1.2)
    response = post({"holdId": expired, "card": CARD_OK})
    assert response.status_code == 409 and response.json()["type"].endswith("hold-expired"), response.text
    assert len(world.items_with("#ORDER#")) == before

    order_id = world.place(erin, hold_id).json()["orderId"]
    assert world.order(mallory, order_id).status_code == 404  # another tenant
    assert world.order(world.customer("t1", "saga-frank"), order_id).status_code == 404  # another customer
    world.wait_order(erin, order_id)
