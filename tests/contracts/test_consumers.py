"""The consumers' side: what the webhooks fan-out and the notifications router need from the events they consume,
written as message pacts (tests/contracts/pacts/<consumer>-<provider>.json) and checked against each consumer's own
code: every message of the pact goes through the consumer's parsing and logic, as the handler runs them.

- webhooks-fanout (functions/webhooks_fanout): reads the envelope (id, type, tenantId, occurredAt) to make one
  delivery per subscribed endpoint, and forwards the whole event as the webhook body; it reads nothing of ``data``.
- notifications-router (functions/notifications/router.py): reads the envelope and, per template, the recipient
  (``customerId``, or ``clientId`` for PaymentRefunded) and the fields the template names (orderId, reason, paymentId).

Producers: ``booking`` (OrderConfirmed, OrderFailed: the order saga) and ``payments`` (PaymentRefunded). The pacts
use type matchers, so a producer passes with any value of the right type; tests/contracts/test_producers.py verifies.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pact import Pact, match

from functions.notifications.logic import route_event
from functions.notifications.models import RouterEnv
from functions.webhooks_fanout.logic import fan_out
from marquee.messaging.events import Envelope
from marquee.webhooks.models import Delivery, DeliveryMessage, Endpoint
from tests.contracts.conftest import PACT_DIR

NOW = "2026-12-05T10:00:00Z"
# RFC 3339 with or without fractions of a second: the envelope's occurredAt carries microseconds.
TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"


def envelope(event_type: str, data: object) -> dict[str, Any]:
    """An event as the bus carries it, with type matchers on everything but its type."""
    return {
        "id": match.str("7a0c5b1e-2f7e-4d0e-9a57-3c1f0e4b2d11"),
        "type": event_type,
        "version": match.int(1),
        "tenantId": match.str("acme"),
        "occurredAt": match.regex("2026-12-05T10:00:00.123456Z", regex=TIMESTAMP),
        "correlationId": match.str("corr-1"),
        "data": data,
    }


# ---- webhooks-fanout --------------------------------------------------------------------------------------------------
class _Endpoints:
    """One active endpoint of the tenant, subscribed to every type; the deliveries written."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []

    def list_endpoints(self, tenant_id: str) -> list[Endpoint]:
        return [
            Endpoint(
                endpoint_id="ep_1",
                tenant_id=tenant_id,
                url="https://hooks.example.test/marquee",
                event_types=("OrderConfirmed", "OrderFailed", "PaymentRefunded"),
                secret_name="webhook-signing",  # noqa: S106 - a secret's name, not a secret
                created_at=NOW,
                updated_at=NOW,
            )
        ]

    def create_delivery(self, delivery: Delivery, *, now: float) -> Delivery:
        self.deliveries.append(delivery)
        return delivery


class _Queue:
    def __init__(self) -> None:
        self.sent: list[DeliveryMessage] = []

    def send(self, messages: list[DeliveryMessage]) -> None:
        self.sent += messages


def fan_out_handler(body: str | bytes | None, metadata: dict[str, object]) -> None:
    """functions/webhooks_fanout: the envelope parsed from the bus event's detail, then fan_out."""
    event = Envelope.model_validate(json.loads(body or b"null"))
    store, queue = _Endpoints(), _Queue()
    assert fan_out(event, store, queue, now=datetime.now(UTC).timestamp()) == 1  # type: ignore[arg-type]
    (delivery,) = store.deliveries
    assert (delivery.event_id, delivery.event_type, delivery.tenant_id) == (event.id, event.type, event.tenant_id)
    assert json.loads(delivery.body) == json.loads(event.to_json())  # the webhook body is the whole event
    assert queue.sent[0].delivery_id == delivery.delivery_id


WEBHOOK_MESSAGES = {
    "booking": [("an OrderConfirmed event", "OrderConfirmed"), ("an OrderFailed event", "OrderFailed")],
    "payments": [("a PaymentRefunded event", "PaymentRefunded")],
}


@pytest.mark.parametrize("provider", sorted(WEBHOOK_MESSAGES))
def test_webhooks_fanout_pact(provider: str) -> None:
    pact = Pact("webhooks-fanout", provider).with_specification("V4")
    for description, event_type in WEBHOOK_MESSAGES[provider]:
        body = envelope(event_type, match.like({}))  # data is forwarded as it is, never read
        pact.upon_receiving(description, "Async").with_body(body, content_type="application/json")
    pact.verify(fan_out_handler, "Async")
    pact.write_file(PACT_DIR, overwrite=True)


# ---- notifications-router ---------------------------------------------------------------------------------------------
class _Sqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        self.sent.append(kwargs)
        return {"MessageId": str(len(self.sent))}


ROUTER_ENV = RouterEnv.model_validate(
    {
        **{f"{c}_queue_url": f"https://sqs.local/{c}.fifo" for c in ("email", "sms", "push")},
        **{f"{c}_dlq_url": f"https://sqs.local/{c}-dlq.fifo" for c in ("email", "sms", "push")},
        "powertools_service_name": "notifications",
    }
)


def router_handler(body: str | bytes | None, metadata: dict[str, object]) -> None:
    """functions/notifications/router.py: the envelope parsed from the detail, then route_event; each channel's
    message goes to the event's recipient and its text carries the field its template names."""
    event = Envelope.model_validate(json.loads(body or b"null"))
    field, recipient = next((f, r) for _, _, t, _, f, r in ROUTER_MESSAGES if t == event.type)
    sqs = _Sqs()
    channels = route_event(event.model_dump(mode="json", by_alias=True), env=ROUTER_ENV, sqs=sqs)
    assert {c.value for c in channels} == {"email", "sms", "push"}
    for sent in sqs.sent:
        message = json.loads(sent["MessageBody"])
        assert message["customerId"] == event.data[recipient]
        assert str(event.data[field]) in message["body"]
        assert sent["MessageDeduplicationId"] == event.id


# (provider, description, event type, the data the router reads, a field its text names, the recipient field)
ROUTER_MESSAGES: list[tuple[str, str, str, dict[str, Any], str, str]] = [
    (
        "booking",
        "an OrderConfirmed event",
        "OrderConfirmed",
        {"orderId": match.str("ord_1"), "customerId": match.str("cus_1")},
        "orderId",
        "customerId",
    ),
    (
        "booking",
        "an OrderFailed event",
        "OrderFailed",
        {"orderId": match.str("ord_1"), "customerId": match.str("cus_1"), "reason": match.str("payment declined")},
        "reason",
        "customerId",
    ),
    (
        "payments",
        "a PaymentRefunded event",
        "PaymentRefunded",
        {"paymentId": match.str("pay_1"), "clientId": match.str("cus_1")},
        "paymentId",
        "clientId",
    ),
]


@pytest.mark.parametrize("provider", ["booking", "payments"])
def test_notifications_router_pact(provider: str) -> None:
    pact = Pact("notifications-router", provider).with_specification("V4")
    for owner, description, event_type, data, _field, _recipient in ROUTER_MESSAGES:
        if owner != provider:
            continue
        interaction = pact.upon_receiving(description, "Async")
        interaction.with_body(envelope(event_type, data), content_type="application/json")
    pact.verify(router_handler, "Async")
    pact.write_file(PACT_DIR, overwrite=True)


def test_a_pact_that_leaves_out_what_the_consumer_reads_fails_the_consumer() -> None:
    """The check can fail: the router renders OrderFailed's reason, so a pact without it cannot be honoured."""
    pact = Pact("notifications-router", "booking").with_specification("V4")
    data = {"orderId": match.str("ord_1"), "customerId": match.str("cus_1")}
    pact.upon_receiving("an OrderFailed event without its reason", "Async").with_body(
        envelope("OrderFailed", data), content_type="application/json"
    )
    (error,) = pact.verify(router_handler, "Async", raises=False)
    assert repr(error.error) == "KeyError('reason')"
