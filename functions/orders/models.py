"""Configuration, request and response models of the orders function (POST /orders, GET /orders/{orderId})."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from marquee.booking.hold_shape import HoldShapeEnv
from marquee.booking.orders import HistoryEntry, Order, OrderStatus
from marquee.cache.env import CacheEnv
from marquee.core.models import CamelModel, CamelRequest
from marquee.core.money import Money
from marquee.payments.models import CardLast4
from marquee.tenancy.tenant_session import TenantDataEnv

# Bodies larger than this are refused with 413 before they are parsed (an order request is ~100 bytes).
MAX_BODY_BYTES = 256 * 1024


def _luhn(number: str) -> str:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    if total % 10:
        raise ValueError("the card number fails the Luhn check")
    return number


# SANDBOX SHORTCUT: the client sends a (test) card number. A real system never sees card numbers: the browser
# tokenizes the card with the provider and the order carries the provider's token.
CardNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{12,19}$"), AfterValidator(_luhn)]
HoldId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class OrdersEnv(TenantDataEnv, HoldShapeEnv, CacheEnv):
    """The main table through the tenant-access role (challenge 19), the saga to start, the hold item's shape phase
    (it reads the hold an order is placed from), and the edge cache (the rate limiter)."""

    state_machine_arn: str = Field(min_length=1)


class PlaceOrderRequest(CamelRequest):
    hold_id: HoldId
    card: CardNumber = Field(repr=False)


class OrderAccepted(CamelModel):
    order_id: str
    status: OrderStatus


class OrderView(CamelModel):
    """What the customer sees: never the card number, only its last 4 digits."""

    order_id: str
    status: OrderStatus
    hold_id: str
    showtime_id: str
    seats: list[str]
    amount: Money
    card_last4: CardLast4
    payment_id: str | None = None
    reason: str | None = None
    created_at: str
    history: list[HistoryEntry]

    @classmethod
    def of(cls, order: Order) -> OrderView:
        return cls(
            order_id=order.order_id,
            status=order.status,
            hold_id=order.hold_id,
            showtime_id=order.showtime_id,
            seats=[seat.seat_id for seat in order.seats],
            amount=order.amount,
            card_last4=order.card_last4,
            payment_id=order.payment_id,
            reason=order.reason,
            created_at=order.created_at,
            history=order.history,
        )
