"""Public models of the payments contract (docs/booking-data-model.md, "Payments, as the saga calls them").

These are the types the order saga imports. Change them only together with the contract page.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from marquee.core.models import CamelRequest
from marquee.core.money import Money
from marquee.core.personal import PersonalKind, personal
from marquee.messaging.events import EventData, register

# A card number: digits only, 12 to 19 of them. It is never logged, stored or put in an event: only its last 4 are.
CardNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{12,19}$"), personal(PersonalKind.CARD_NUMBER)]
CardLast4 = Annotated[str, personal(PersonalKind.CARD_LAST4)]
OrderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class PaymentStatus(StrEnum):
    CAPTURED = "CAPTURED"
    DECLINED = "DECLINED"
    REFUNDED = "REFUNDED"


class ProviderName(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"


class ChargeRequest(CamelRequest):
    """What to charge. ``card`` is excluded from repr (and so from logs and tracebacks)."""

    amount: Money
    card: CardNumber = Field(repr=False)
    order_id: OrderId | None = None

    @property
    def last4(self) -> str:
        return self.card[-4:]


class PaymentResult(CamelRequest):
    """A captured payment (a declined one raises ``PaymentDeclined``)."""

    payment_id: str
    status: PaymentStatus
    amount: Money
    provider: ProviderName
    provider_charge_id: str
    order_id: str | None = None
    card_last4: CardLast4
    created_at: datetime


class RefundResult(CamelRequest):
    payment_id: str
    refund_id: str
    status: PaymentStatus  # always REFUNDED
    amount: Money
    provider: ProviderName
    provider_refund_id: str
    refunded_at: datetime


# ---- events (written to the outbox in the same TransactWriteItems as the payment item) -----------------------------
class _PaymentEvent(EventData):
    payment_id: str
    client_id: str
    order_id: str | None = None
    amount: Money


@register
class PaymentCapturedEvent(_PaymentEvent):
    event_type = "PaymentCaptured"

    provider: ProviderName
    provider_charge_id: str
    card_last4: CardLast4


@register
class PaymentDeclinedEvent(_PaymentEvent):
    event_type = "PaymentDeclined"

    provider: ProviderName
    reason: str
    card_last4: CardLast4


@register
class PaymentRefundedEvent(_PaymentEvent):
    event_type = "PaymentRefunded"

    provider: ProviderName
    refund_id: str
    provider_refund_id: str
