"""The producers' side: each pact in tests/contracts/pacts/ is verified against events built by the producer's own
code: its registered event models (marquee.booking.orders, marquee.payments.models) wrapped by
``marquee.messaging.events.envelope`` and serialized with ``to_json``, the bytes the outbox stores and the relay puts
on the bus as the EventBridge detail. A renamed or dropped field, a changed type, fails here, whichever consumer needs it.

Pact's verifier asks for each message by its description through a local HTTP relay (pact-python starts it on
127.0.0.1); nothing leaves the machine.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from pact import Verifier
from pact.types import Message

from marquee.booking.orders import OrderConfirmed, OrderFailed
from marquee.core.money import Money
from marquee.messaging.events import EventData, envelope
from marquee.payments.models import PaymentRefundedEvent, ProviderName
from tests.contracts.conftest import PACT_DIR

TENANT = "acme"
PRICE = Money(amount=2400, currency="EUR")


def _message(data: EventData, correlation_id: str) -> Message:
    body = envelope(data, tenant_id=TENANT, correlation_id=correlation_id).to_json()
    return {"contents": body.encode(), "metadata": None, "content_type": "application/json"}


def order_confirmed() -> Message:
    data = OrderConfirmed(
        order_id="ord_3f2a",
        customer_id="cus_42",
        showtime_id="sho_9",
        seat_ids=["A1", "A2"],
        amount=PRICE,
        payment_id="pay_77",
    )
    return _message(data, "ord_3f2a")


def order_failed() -> Message:
    return _message(OrderFailed(order_id="ord_3f2a", customer_id="cus_42", reason="payment declined"), "ord_3f2a")


def payment_refunded() -> Message:
    data = PaymentRefundedEvent(
        payment_id="pay_77",
        client_id="cus_42",
        order_id="ord_3f2a",
        amount=PRICE,
        provider=ProviderName.PRIMARY,
        refund_id="ref_1",
        provider_refund_id="re_abc",
    )
    return _message(data, "ord_3f2a")  # payments correlate on the order (marquee.payments.service._envelope)


PRODUCERS: dict[str, dict[str, Callable[[], Message]]] = {
    "booking": {"an OrderConfirmed event": order_confirmed, "an OrderFailed event": order_failed},
    "payments": {"a PaymentRefunded event": payment_refunded},
}


def _pacts_of(provider: str) -> list[str]:
    return sorted(
        str(path)
        for path in PACT_DIR.glob("*.json")
        if json.loads(path.read_text())["provider"]["name"] == provider
    )


@pytest.mark.parametrize("provider", sorted(PRODUCERS))
def test_producer_honours_every_consumer_pact(provider: str) -> None:
    pacts = _pacts_of(provider)
    assert len(pacts) >= 2, f"no pacts name {provider}: run tests/contracts/test_consumers.py"
    messages = {description: produce for description, produce in PRODUCERS[provider].items()}
    verifier = Verifier(provider).message_handler(messages)  # type: ignore[arg-type]
    for pact in pacts:
        verifier.add_source(pact)
    verifier.verify()


def test_a_producer_that_drops_a_field_fails_verification() -> None:
    """The check can fail: an OrderFailed without its reason, as a renamed field would leave it."""

    def broken() -> Message:
        message = order_failed()
        body = json.loads(message["contents"])
        body["data"].pop("reason")
        return {**message, "contents": json.dumps(body).encode()}

    verifier = Verifier("booking").message_handler({**PRODUCERS["booking"], "an OrderFailed event": broken})  # type: ignore[dict-item]
    for pact in _pacts_of("booking"):
        verifier.add_source(pact)
    with pytest.raises(RuntimeError):
        verifier.verify()
