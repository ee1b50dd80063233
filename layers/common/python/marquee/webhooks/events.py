"""The webhook capability's events and what an endpoint may subscribe to (booking events plus its own)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from marquee.core.money import Money
from marquee.messaging.events import EventData, register

# The booking events (docs/booking-data-model.md) plus this capability's own: what an endpoint may subscribe to.
BOOKING_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "HoldCreated",
        "HoldReleased",
        "OrderPlaced",
        "SeatsReserved",
        "OrderConfirmed",
        "OrderFailed",
        "SeatsReleased",
        "PaymentCaptured",
        "PaymentDeclined",
        "PaymentRefunded",
    }
)


# ---- events -----------------------------------------------------------------------------------------------------------
@register
class EndpointDisabled(EventData):
    """The tenant's endpoint failed ``consecutive_failures`` deliveries in a row and is no longer called."""

    event_type: ClassVar[str] = "EndpointDisabled"
    endpoint_id: str
    url: str
    consecutive_failures: int
    last_delivery_id: str


class _ProviderEvent(EventData):
    payment_id: str
    provider_reference: str = Field(description="The provider's refund or dispute id")
    amount: Money
    reason: str | None = None
    webhook_id: str


@register
class RefundReported(_ProviderEvent):
    """The payment provider reported an asynchronous refund of one of the tenant's payments."""

    event_type: ClassVar[str] = "RefundReported"


@register
class ChargebackReported(_ProviderEvent):
    """The payment provider reported a chargeback (dispute) on one of the tenant's payments."""

    event_type: ClassVar[str] = "ChargebackReported"


WEBHOOK_EVENT_TYPES: frozenset[str] = BOOKING_EVENT_TYPES | {
    EndpointDisabled.event_type,
    RefundReported.event_type,
    ChargebackReported.event_type,
}
