"""Circuit breakers shared through the ops table, failover, and settling unknown outcomes (moto + real HTTP providers)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from localcloud.dynamodb import atomicity as dynamodb_atomicity
from marquee.core.money import Money
from marquee.payments import ChargeRequest, PaymentResult, ProviderUnavailable, charge, payment_id_for
from marquee.resilience.breaker import BreakerState, DynamoDBBreakerStore

from .conftest import SETTINGS, PaymentsWorld

TENANT, CLIENT = "acme-cinemas", "client-1"
OK_CARD = "4242424242424242"


@pytest.fixture(autouse=True)
def serializable_dynamodb() -> None:
    """moto's DynamoDB assumes one caller at a time; the local cloud makes conditional writes atomic, so do we here."""
    dynamodb_atomicity.install()


def request(card: str = OK_CARD) -> ChargeRequest:
    return ChargeRequest(amount=Money(amount=1250, currency="EUR"), card=card)


def breaker_store() -> DynamoDBBreakerStore:
    return DynamoDBBreakerStore(SETTINGS["OPS_TABLE_NAME"])


def primary_state() -> Any:
    return breaker_store().load("payments-primary")


def concurrently(count: int, call: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = call(index)
        except ProviderUnavailable as exc:  # the only error a caller may see here
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_twenty_callers_against_a_down_primary_open_its_breaker_and_all_pay_through_the_secondary(
    payments_world: PaymentsWorld,
) -> None:
    payments_world.providers["primary"].stop()
    results = concurrently(20, lambda i: charge(TENANT, CLIENT, f"down-{i}", request()))
    assert all(isinstance(r, PaymentResult) for r in results), [
        repr(r) for r in results if not isinstance(r, PaymentResult)
    ]
    assert {r.provider.value for r in results} == {"secondary"}
    assert payments_world.stats("secondary")["charges"] == 20
    assert primary_state().state is BreakerState.OPEN
    transitions = [(t.from_state.value, t.to_state.value) for t in breaker_store().transitions("payments-primary")]
    assert transitions[0] == ("CLOSED", "OPEN")
    assert transitions.count(("CLOSED", "OPEN")) == 1  # racing failures open it once (a slow machine may see probes)


def test_after_the_cooldown_exactly_one_probe_reaches_the_primary_then_it_closes(
    payments_world: PaymentsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYMENTS_READ_TIMEOUT_MS", "5000")  # the probe below is slow, not failing
    primary = payments_world.providers["primary"]
    primary.stop()
    concurrently(20, lambda i: charge(TENANT, CLIENT, f"trip-{i}", request()))
    assert primary_state().state is BreakerState.OPEN

    primary.start()  # back, and slow: the probe holds its slot while the 19 others arrive
    primary.latency_ms = 2500
    time.sleep(int(SETTINGS["BREAKER_COOLDOWN_MS"]) / 1000 + 0.05)
    results = concurrently(20, lambda i: charge(TENANT, CLIENT, f"probe-{i}", request()))

    assert payments_world.stats("primary")["requests"] == 1  # exactly one probe, counted at the provider
    assert sorted(r.provider.value for r in results).count("primary") == 1
    assert all(isinstance(r, PaymentResult) for r in results)
    assert primary_state().state is BreakerState.HALF_OPEN  # 1 of BREAKER_SUCCESS_THRESHOLD=2 successes

    primary.latency_ms = 0
    closing = charge(TENANT, CLIENT, "closing", request())
    assert closing.provider.value == "primary"
    assert primary_state().state is BreakerState.CLOSED
    transitions = [(t.from_state.value, t.to_state.value) for t in breaker_store().transitions("payments-primary")]
    assert transitions == [("CLOSED", "OPEN"), ("OPEN", "HALF_OPEN"), ("HALF_OPEN", "CLOSED")]


def test_a_slow_primary_counts_as_failing_and_trips_the_breaker(payments_world: PaymentsWorld) -> None:
    payments_world.providers["primary"].latency_ms = 2000  # > PAYMENTS_READ_TIMEOUT_MS (1500)
    threshold = int(SETTINGS["BREAKER_FAILURE_THRESHOLD"])
    for i in range(threshold):
        # A timeout is an UNKNOWN outcome: no failover for that payment (the primary may have charged it).
        with pytest.raises(ProviderUnavailable):
            charge(TENANT, CLIENT, f"slow-{i}", request())
    assert primary_state().state is BreakerState.OPEN
    fresh = charge(TENANT, CLIENT, "after-trip", request())
    assert fresh.provider.value == "secondary"


def test_a_timed_out_payment_stays_with_its_provider_and_a_retry_does_not_charge_twice(
    payments_world: PaymentsWorld,
) -> None:
    primary = payments_world.providers["primary"]
    primary.latency_ms = 2000
    with pytest.raises(ProviderUnavailable):
        charge(TENANT, CLIENT, "slow-once", request())
    time.sleep(1.0)  # the provider finishes the charge (2 s) after our client gave up (1.5 s)
    primary.latency_ms = 0
    settled = charge(TENANT, CLIENT, "slow-once", request())
    assert settled.provider.value == "primary"
    key_stats = payments_world.stats("primary")["keys"][payment_id_for(TENANT, CLIENT, "slow-once")]
    assert key_stats == {"requests": 2, "charges": 1}
    assert payments_world.stats("secondary")["requests"] == 0


def test_a_provider_that_charges_then_fails_is_settled_by_the_retry(payments_world: PaymentsWorld) -> None:
    card = "4000000000009995"
    with pytest.raises(ProviderUnavailable):
        charge(TENANT, CLIENT, "charged-then-500", request(card))
    settled = charge(TENANT, CLIENT, "charged-then-500", request(card))
    assert settled.provider.value == "primary"
    assert payments_world.stats("primary")["charges"] == 1
    assert payments_world.stats("secondary")["requests"] == 0


def test_refund_is_idempotent_and_refunds_once_at_the_charging_provider(payments_world: PaymentsWorld) -> None:
    from marquee.payments import refund

    paid = charge(TENANT, CLIENT, "order:o1", request())
    first = refund(TENANT, CLIENT, "refund:o1", paid.payment_id)
    again = refund(TENANT, CLIENT, "refund:o1", paid.payment_id)
    assert first == again
    assert first.status.value == "REFUNDED"
    assert payments_world.stats("primary")["refunds"] == 1
    items = payments_world.ddb.scan(TableName=SETTINGS["TABLE_NAME"])["Items"]
    types = sorted(i["event_type"]["S"] for i in items if i["sk"]["S"] == "OUTBOX")
    assert types == ["PaymentCaptured", "PaymentRefunded"]


def test_the_secondary_as_primary_flag_sends_payments_to_the_secondary_first(
    payments_world: PaymentsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Feature flag payments_secondary_as_primary: with it on for a tenant, that tenant's charges try the secondary
    first (the primary is not called); other tenants keep the primary."""
    from marquee.payments import config as payments_config

    deps = payments_config.default_deps()
    flagged = dataclasses.replace(deps, secondary_first=lambda tenant, _client: tenant == TENANT)
    moved = charge(TENANT, CLIENT, "flagged-1", request(), deps=flagged)
    kept = charge("other-tenant", CLIENT, "flagged-2", request(), deps=flagged)
    assert moved.provider.value == "secondary"
    assert kept.provider.value == "primary"
    assert payments_world.stats("secondary")["charges"] == 1
    assert payments_world.stats("primary")["charges"] == 1
