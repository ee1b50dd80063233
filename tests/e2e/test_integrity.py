"""The integrity reconciler (design question 8) on the deployed stack: invoked on demand (as its schedule would), it
reports no drift for settled orders; it finds injected inconsistencies with their ids; and a charge whose outcome is
unknown (the slow test card: the provider charges, then answers after the client's timeout, and the saga gives up) is
reported while its provider is down, then settled and refunded once it is back.

Other tests' data may share the stack, so every assertion looks at this test's tenant and charges only."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests

from localcloud.aws import local_client
from marquee.booking import seats
from marquee.payments import payment_id_for
from marquee.tenancy.tenant import TenantContext
from tests.e2e.drills import long_drill
from tests.e2e.saga_helpers import CARD_OK, CARD_SLOW, SagaWorld
from tests.e2e.test_outbox import function_named


@pytest.fixture(scope="module")
def world(deployed: dict[str, Any]) -> SagaWorld:
    return SagaWorld(deployed["endpoint"], deployed["outputs"])


def reconcile(deployed: dict[str, Any]) -> dict[str, Any]:
    answer = local_client("lambda", deployed["endpoint"]).invoke(
        FunctionName=function_named(deployed, "integrity"), Payload=json.dumps({"graceSeconds": 0}).encode()
    )
    body: dict[str, Any] = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, body
    return body


def mine(report: dict[str, Any], tenant: str, charges: frozenset[str] = frozenset()) -> set[tuple[str, str]]:
    return {
        (d["kind"], d.get("chargeId") or d.get("seatId") or d.get("paymentId") or "")
        for d in report["drift"]
        if d.get("tenantId") == tenant or d.get("chargeId") in charges
    }


def test_the_reconciler_reports_zero_then_finds_injected_drift(world: SagaWorld, deployed: dict[str, Any]) -> None:
    tenant = f"integrity-{uuid.uuid4().hex[:6]}"
    alice = world.customer(tenant, "alice")
    showtime, seat_ids = world.showtime(tenant, rows=1, per_row=6)
    orders = []
    for seat in ("A1", "A2"):
        placed = world.place(alice, world.hold(alice, showtime, [seat]), CARD_OK)
        assert placed.status_code == 202, placed.text
        orders.append(placed.json()["orderId"])
    for order_id in orders:
        assert world.wait_order(alice, order_id)["status"] == "CONFIRMED"

    healthy = reconcile(deployed)
    assert mine(healthy, tenant) == set(), healthy["drift"]
    print(f"healthy run: {healthy['durationMs']} ms over {healthy['scanned']}")

    # Three inconsistencies, injected behind the services' backs.
    secret = local_client("secretsmanager", deployed["endpoint"]).get_secret_value(SecretId="marquee/payments/primary")
    key = json.loads(secret["SecretString"])["apiKey"]
    stray = requests.post(
        f"{world.provider_url('primary')}/v1/charges",
        json={"amount": 700, "currency": "EUR", "card": CARD_OK},
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": f"stray-{uuid.uuid4().hex}"},
        timeout=10,
    ).json()
    context = TenantContext(tenant_id=tenant, user_id="ops")
    ghost = f"ord_{uuid.uuid4().hex[:20]}"
    world.ddb.update_item(
        TableName=world.table,
        Key=seats.seat_key(context, showtime, "A5"),
        UpdateExpression="SET sold_to = :order",
        ExpressionAttributeValues={":order": {"S": ghost}},
    )
    world.ddb.update_item(
        TableName=world.table, Key=seats.seat_key(context, showtime, "A2"), UpdateExpression="REMOVE sold_to"
    )
    drifted = reconcile(deployed)
    assert mine(drifted, tenant, frozenset({stray["id"]})) == {
        ("CHARGE_WITHOUT_PAYMENT", stray["id"]),
        ("SEAT_SOLD_WITHOUT_PAYMENT", "A5"),
        ("CONFIRMED_ORDER_SEAT_NOT_SOLD", "A2"),
    }


@pytest.mark.timeout(600)
@long_drill("the saga first waits out a slow card's charge until it gives up")
def test_the_reconciler_settles_a_charge_whose_outcome_stayed_unknown(
    world: SagaWorld, deployed: dict[str, Any]
) -> None:
    """tests/integration/payments/test_integrity_reconciler.py runs the same case in-process, in `make test`."""
    tenant = f"integrity-{uuid.uuid4().hex[:6]}"
    showtime, _ = world.showtime(tenant, rows=1, per_row=6)
    # A charge whose outcome stays unknown: the saga gives up and fails the order; the provider did charge.
    bob = world.customer(tenant, "bob")
    placed = world.place(bob, world.hold(bob, showtime, ["A3"]), CARD_SLOW)
    order_id = placed.json()["orderId"]
    failed = world.wait_order(bob, order_id, timeout=300)
    assert failed["status"] == "FAILED", failed
    payment_id = payment_id_for(tenant, bob.context.user_id, f"order:{order_id}")
    requests.post(f"{deployed['endpoint']}/_localcloud/providers/primary/stop", timeout=10).raise_for_status()
    try:
        down = reconcile(deployed)
    finally:
        requests.post(f"{deployed['endpoint']}/_localcloud/providers/primary/start", timeout=10).raise_for_status()
    assert ("OUTCOME_UNKNOWN", payment_id) in mine(down, tenant)
    assert "primary" in down["unreadableProviders"]

    started = time.monotonic()
    settled = reconcile(deployed)
    repairs = [(r["action"], r["paymentId"]) for r in settled["repairs"] if r["tenantId"] == tenant]
    assert repairs == [("settled-captured", payment_id), ("refunded", payment_id)]
    assert not any(kind == "OUTCOME_UNKNOWN" for kind, _ in mine(settled, tenant))
    again = reconcile(deployed)  # settled once: nothing left to capture or refund
    assert [r for r in again["repairs"] if r["tenantId"] == tenant] == []
    print(
        f"settling run: {settled['durationMs']} ms ({time.monotonic() - started:.1f} s invoke) over {settled['scanned']}"
    )
