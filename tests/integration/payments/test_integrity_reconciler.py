"""The integrity reconciler (design question 8) in-process on moto, with orders driven through the saga's real step
handlers and the two in-process payment providers: a healthy platform reports 0; injected inconsistencies are found
with their ids; a charge whose outcome is unknown while its provider stays down is reported, then settled (and
refunded, its order having failed) once the provider answers, and only once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from marquee.booking import seats
from marquee.integrity import DriftKind
from marquee.integrity.store import ReportStore
from marquee.payments import payment_id_for
from marquee.tenancy.tenant import TenantContext, tenant_key

from ..conftest import load_function
from .conftest import SETTINGS, PaymentsWorld
from .integrity_world import CARD_DECLINED, CARD_SLOW, TENANT, IntegrityWorld


@pytest.fixture
def world(payments_world: PaymentsWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[IntegrityWorld]:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "order-saga")
    monkeypatch.setenv("CHARGE_SETTLE_SECONDS", "1")
    yield IntegrityWorld(payments_world, load_function("order_saga"))


def healthy(world: IntegrityWorld) -> dict[str, str]:
    """Two confirmed orders, one declined (compensated), and a customer's own payment with no order."""
    from marquee import payments

    direct = payments.charge(
        TENANT,
        "dora-sub",
        "her-own-key",
        payments.ChargeRequest.model_validate(
            {"amount": {"amount": 500, "currency": "EUR"}, "card": "4242424242424242", "orderId": "gift-card"}
        ),
    )
    return {
        "confirmed": world.order("alice-sub", ["A1", "A2"]),
        "confirmed2": world.order("bob-sub", ["B1"]),
        "declined": world.order("carol-sub", ["C1"], card=CARD_DECLINED),
        "direct": direct.payment_id,
    }


def test_a_healthy_platform_reports_no_drift_and_the_report_is_stored(world: IntegrityWorld) -> None:
    healthy(world)
    report = world.reconcile()
    assert report.drift == [] and report.repairs == []
    assert report.scanned["orders"] == 3 and report.scanned["payments"] == 4  # the decline is a payment too
    assert report.scanned["soldSeats"] == 3 and report.scanned["charges"] == 3  # a decline moves no money
    (stored,) = ReportStore(SETTINGS["OPS_TABLE_NAME"], client=world.payments.ddb).latest()
    assert stored.run_id == report.run_id and stored.drift == []


def test_injected_inconsistencies_are_found_and_reported_with_their_ids(world: IntegrityWorld) -> None:
    ids = healthy(world)
    ddb, table = world.payments.ddb, world.table
    # 1. a charge without an order: the provider charged under a key nothing of ours knows
    stray = world.stray_charge()
    # 2. a sold seat without a payment: a free seat marked sold to the declined (FAILED, unpaid) order
    tenant = TenantContext(tenant_id=TENANT, user_id="ops")
    declined = json.loads(json.dumps(world.item(tenant_key(TENANT, "ORDER", ids["declined"]), "META")))
    showtime = declined["showtimeId"]["S"]
    ddb.update_item(
        TableName=table,
        Key=seats.seat_key(tenant, showtime, "C1"),
        UpdateExpression="SET sold_to = :order",
        ExpressionAttributeValues={":order": {"S": ids["declined"]}},
    )
    # 3. an order CONFIRMED whose seats are not sold: one of its seats loses sold_to
    confirmed = world.item(tenant_key(TENANT, "ORDER", ids["confirmed"]), "META")
    assert confirmed is not None
    ddb.update_item(
        TableName=table,
        Key=seats.seat_key(tenant, confirmed["showtimeId"]["S"], "A2"),
        UpdateExpression="REMOVE sold_to, holder",
    )

    report = world.reconcile()

    found = {(d.kind, d.charge_id or d.seat_id) for d in report.drift}
    assert found == {
        (DriftKind.CHARGE_WITHOUT_PAYMENT, stray["id"]),
        (DriftKind.SEAT_SOLD_WITHOUT_PAYMENT, "C1"),
        (DriftKind.CONFIRMED_ORDER_SEAT_NOT_SOLD, "A2"),
    }
    by_kind = {d.kind: d for d in report.drift}
    assert by_kind[DriftKind.CHARGE_WITHOUT_PAYMENT].provider == "primary"
    assert by_kind[DriftKind.CHARGE_WITHOUT_PAYMENT].tenant_id is None  # the ledger names no tenant of ours
    assert by_kind[DriftKind.SEAT_SOLD_WITHOUT_PAYMENT].order_id == ids["declined"]
    assert by_kind[DriftKind.SEAT_SOLD_WITHOUT_PAYMENT].showtime_id == showtime
    assert by_kind[DriftKind.CONFIRMED_ORDER_SEAT_NOT_SOLD].order_id == ids["confirmed"]
    assert report.repairs == []  # none of these is the reconciler's to fix
    assert world.payments.stats("primary")["refunds"] == 0


def _wait(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_unknown_charge_is_reported_while_its_provider_is_down_then_settled_and_refunded_once(
    world: IntegrityWorld,
) -> None:
    healthy(world)
    primary = world.payments.providers["primary"]
    primary.slow_card_delay_ms = 2000  # answers after the client's 1.5 s read timeout, having charged
    order_id = world.place("erin-sub", world.showtime(["E1"]), ["E1"], CARD_SLOW)
    world.step("reserve_seats", order_id)
    with pytest.raises(Exception, match="not known yet") as unknown:
        world.step("charge_payment", order_id)
    assert type(unknown.value).__name__ == "ProviderUnavailable"
    _wait(lambda: primary.stats.key_charges.get(payment_id_for(TENANT, "erin-sub", f"order:{order_id}")) == 1)
    time.sleep(1.1)  # CHARGE_SETTLE_SECONDS: the saga's RefundPayment now trusts "nothing captured"
    world.compensate(order_id, "ProviderUnavailable")  # the saga gave up: refund SKIPPED, seats released, FAILED
    payment_id = payment_id_for(TENANT, "erin-sub", f"order:{order_id}")
    assert world.item(tenant_key(TENANT, "PAYMENT", payment_id), "META") is None  # charged, yet no payment

    primary.stop()  # ... and the provider stays down
    down = world.reconcile()
    assert [(d.kind, d.payment_id, d.order_id) for d in down.drift] == [
        (DriftKind.OUTCOME_UNKNOWN, payment_id, order_id)
    ]
    assert down.unreadable_providers == ["primary"] and down.repairs == []

    primary.start()
    settled = world.reconcile()
    assert settled.drift == []
    assert [(r.action, r.payment_id) for r in settled.repairs] == [
        ("settled-captured", payment_id),
        ("refunded", payment_id),
    ]
    payment = world.item(tenant_key(TENANT, "PAYMENT", payment_id), "META")
    assert payment is not None and payment["status"]["S"] == "REFUNDED"
    assert world.item(tenant_key(TENANT, "PAYMENT", payment_id), "ATTEMPT") is None
    assert (primary.stats.charges, primary.stats.refunds) == (4, 1)  # three healthy charges + this one; one refund

    again = world.reconcile()  # nothing left to settle: no second capture, no second refund
    assert again.drift == [] and again.repairs == []
    assert primary.stats.refunds == 1


def test_a_partial_payment_item_is_reported_as_malformed_and_the_run_goes_on(world: IntegrityWorld) -> None:
    """An item its writer would never leave (here a payment with no amount, as an update of a missing payment would
    create) is drift with its ids, not a crashed run: the other checks still report."""
    healthy(world)
    world.payments.ddb.put_item(
        TableName=world.table,
        Item={
            "pk": {"S": tenant_key(TENANT, "PAYMENT", "pay_partial")},
            "sk": {"S": "META"},
            "status": {"S": "REFUNDED"},
        },
    )
    report = world.reconcile()
    (malformed,) = [d for d in report.drift if d.kind == DriftKind.MALFORMED_ITEM]
    assert (malformed.tenant_id, malformed.payment_id) == (TENANT, "pay_partial")
    assert "amount" in malformed.detail
    assert report.scanned["orders"] == 3 and report.scanned["payments"] == 4
