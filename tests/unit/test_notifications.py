"""Notifications, pure logic: quiet hours (time zones, DST, midnight), preferences validation, backoff with jitter, the
events that notify, the message size limit, and provider failover through the shared circuit breaker."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from marquee.booking.orders import OrderConfirmed, OrderFailed
from marquee.core.money import Money
from marquee.messaging.events import envelope
from marquee.notifications.channels import (
    MAX_MESSAGE_BYTES,
    NOTIFYING_EVENTS,
    Channel,
    MessageTooLarge,
    NotANotifyingEvent,
    Notification,
    Preferences,
    QuietHours,
    backoff_seconds,
    checked_size,
    group_id,
    notifications_for,
)
from marquee.notifications.providers import (
    AllProvidersFailed,
    ChannelSender,
    MessageRejected,
    NotReached,
    OutcomeUnknown,
    Rejected,
    Route,
)
from marquee.payments.models import PaymentRefundedEvent, ProviderName
from marquee.resilience.breaker import BreakerConfig, BreakerRecord, CircuitBreaker, Transition


def _envelope(event_type: str = "OrderConfirmed", **data: Any) -> dict[str, Any]:
    return {
        "id": "evt-1",
        "type": event_type,
        "version": 1,
        "tenantId": "t1",
        "occurredAt": "2026-11-22T10:00:00+00:00",
        "correlationId": "c-1",
        "data": {"customerId": "cust-1", "orderId": "ord_1", **data},
    }


# ---- quiet hours ------------------------------------------------------------------------------------------------------
def test_quiet_hours_across_midnight_delay_until_the_local_morning() -> None:
    quiet = QuietHours(start="22:00", end="07:00", time_zone="Europe/Paris")
    # 23:30 in Paris (CET, UTC+1) is 22:30 UTC: 7.5 h until 07:00 local.
    assert quiet.delay_seconds(datetime(2026, 1, 10, 22, 30, tzinfo=UTC)) == int(7.5 * 3600)
    # 06:59:30 local: 30 s left.
    assert quiet.delay_seconds(datetime(2026, 1, 10, 5, 59, 30, tzinfo=UTC)) == 30
    # 12:00 local: outside.
    assert quiet.delay_seconds(datetime(2026, 1, 10, 11, 0, tzinfo=UTC)) == 0


def test_quiet_hours_follow_daylight_saving_time() -> None:
    quiet = QuietHours(start="01:00", end="04:00", time_zone="America/New_York")
    # 2026-03-08 is the spring-forward night: 01:30 EST (06:30 UTC) to 04:00 EDT (08:00 UTC) is 1.5 h, not 2.5 h.
    assert quiet.delay_seconds(datetime(2026, 3, 8, 6, 30, tzinfo=UTC)) == int(1.5 * 3600)


def test_unknown_time_zone_and_empty_window_are_refused() -> None:
    with pytest.raises(ValidationError, match="Mars/Olympus"):
        QuietHours(start="22:00", end="07:00", time_zone="Mars/Olympus")
    with pytest.raises(ValidationError, match="start != end"):
        QuietHours(start="22:00", end="22:00", time_zone="UTC")


def test_an_unknown_channel_in_preferences_is_refused() -> None:
    with pytest.raises(ValidationError, match="fax"):
        Preferences.model_validate({"channels": {"email": True, "fax": True}})
    prefs = Preferences.model_validate({"channels": {"push": False}})
    assert prefs.channels.allows(Channel.EMAIL) and not prefs.channels.allows(Channel.PUSH)


# ---- backoff ----------------------------------------------------------------------------------------------------------
def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)  # noqa: S311 - a seeded generator for jitter, not cryptography
    delays = [[backoff_seconds(n, base_s=5, cap_s=900, rng=rng) for _ in range(200)] for n in range(1, 10)]
    for attempt, values in enumerate(delays, start=1):
        ceiling = min(900, 5 * 2 ** (attempt - 1))
        assert all(ceiling / 2 <= v <= ceiling + 1 for v in values)  # half fixed, half random (rounded up)
    assert len(set(delays[5])) > 20  # jittered: messages that failed together come back spread out
    assert max(delays[-1]) <= 900


# ---- routing ----------------------------------------------------------------------------------------------------------
def test_a_notifying_event_becomes_one_message_per_channel_in_the_customers_group() -> None:
    messages = notifications_for(_envelope(), now_ms=1)
    assert [m.channel for m in messages] == [Channel.EMAIL, Channel.SMS, Channel.PUSH]
    assert {m.idempotency_key for m in messages} == {"evt-1:email", "evt-1:sms", "evt-1:push"}
    assert all(m.transactional and "ord_1" in m.body for m in messages)
    assert group_id("t1", "cust-1") == "t1#cust-1"
    # Every event that notifies is transactional (money, a purchase): only staff messages may wait for quiet hours.
    assert notifications_for(_envelope("OrderFailed", reason="declined"), now_ms=1)[0].transactional
    # A refund names the customer as the payment's client (PaymentRefunded has no customerId).
    refunded = _envelope("PaymentRefunded", clientId="cust-2", paymentId="pay_1")
    assert {(m.customer_id, m.transactional) for m in notifications_for(refunded, now_ms=1)} == {("cust-2", True)}


def test_each_notifying_event_built_from_its_model_reaches_its_customer() -> None:
    """Real events (from the registered models, through ``envelope``), not hand-built dicts: the router finds the
    recipient and every field its template names."""
    money = Money(amount=1250, currency="EUR")
    events = [
        OrderConfirmed(
            order_id="ord_1", customer_id="cust-1", showtime_id="st", seat_ids=["A1"], amount=money, payment_id="pay_1"
        ),
        OrderFailed(order_id="ord_1", customer_id="cust-1", reason="card declined"),
        PaymentRefundedEvent(
            payment_id="pay_1",
            client_id="cust-1",
            order_id="ord_1",
            amount=money,
            provider=ProviderName.PRIMARY,
            refund_id="ref_1",
            provider_refund_id="re_1",
        ),
    ]
    assert {event.event_type for event in events} == set(NOTIFYING_EVENTS)
    for event in events:
        wrapped = envelope(event, tenant_id="t1", correlation_id="c-1").model_dump(mode="json", by_alias=True)
        messages = notifications_for(wrapped, now_ms=1)
        assert {m.customer_id for m in messages} == {"cust-1"}
        assert all("?" not in m.subject + m.body for m in messages), [m.body for m in messages]


def test_other_events_and_events_without_a_customer_are_refused() -> None:
    with pytest.raises(NotANotifyingEvent):
        notifications_for(_envelope("SeatsReserved"), now_ms=1)
    envelope = _envelope()
    envelope["data"] = {"orderId": "x"}
    with pytest.raises(ValidationError):
        notifications_for(envelope, now_ms=1)


def test_a_message_over_256_kib_is_refused() -> None:
    message = notifications_for(_envelope(), now_ms=1)[0]
    assert checked_size(message)
    big = message.model_copy(update={"body": "x" * MAX_MESSAGE_BYTES})
    with pytest.raises(MessageTooLarge):
        checked_size(big)


# ---- failover through the shared breaker ------------------------------------------------------------------------------
class MemoryBreakerStore:
    def __init__(self) -> None:
        self.records: dict[str, BreakerRecord] = {}

    def load(self, name: str) -> BreakerRecord:
        return self.records.get(name, BreakerRecord())

    def save(self, name: str, record: BreakerRecord, *, expected_version: int, transition: Transition | None) -> bool:
        if self.load(name).version != expected_version:
            return False
        self.records[name] = record
        return True

    def transitions(self, name: str, limit: int = 50) -> list[Transition]:
        return []


class FakeProvider:
    def __init__(self, name: str, failure: Exception | None = None) -> None:
        self.name = name
        self.failure = failure
        self.sent: list[str] = []

    def send(self, message: Notification) -> str:
        if self.failure is not None:
            raise self.failure
        self.sent.append(message.idempotency_key)
        return f"{self.name}-{len(self.sent)}"


def _sender(primary: FakeProvider, backup: FakeProvider) -> tuple[ChannelSender, MemoryBreakerStore]:
    store = MemoryBreakerStore()
    config = BreakerConfig(failure_threshold=2, window_ms=60_000, cooldown_ms=60_000)
    routes = [Route(p, CircuitBreaker(f"b-{p.name}", config, store)) for p in (primary, backup)]
    return ChannelSender(routes), store


def test_primary_not_reached_fails_over_to_the_backup_and_opens_its_breaker() -> None:
    primary, backup = FakeProvider("primary", NotReached("connection refused")), FakeProvider("backup")
    sender, store = _sender(primary, backup)
    message = notifications_for(_envelope(), now_ms=1)[0]
    for _ in range(3):
        outcome = sender.send(message)
        assert outcome.sent is not None and outcome.sent.provider == "backup"
    assert store.load("b-primary").state.value == "OPEN"
    assert outcome.attempts[0].error == "breaker OPEN"  # the third call did not even try the primary


def test_an_unknown_outcome_does_not_fail_over_and_a_rejection_is_permanent() -> None:
    message = notifications_for(_envelope(), now_ms=1)[0]
    unknown, backup = FakeProvider("primary", OutcomeUnknown("HTTP 500")), FakeProvider("backup")
    with pytest.raises(AllProvidersFailed):
        _sender(unknown, backup)[0].send(message)
    assert backup.sent == []  # only the same provider, asked again with the same key, may settle it
    rejecting, backup = FakeProvider("primary", Rejected("HTTP 400 invalid recipient")), FakeProvider("backup")
    with pytest.raises(MessageRejected):
        _sender(rejecting, backup)[0].send(message)
    assert backup.sent == []
