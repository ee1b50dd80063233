"""Booking events of the seat lifecycle (docs/booking-data-model.md). Each is a registered ``EventData`` with a
published JSON Schema (docs/events/). They are written by ``marquee.booking.seats`` in the same transaction as the change."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from marquee.core.models import CamelRequest
from marquee.messaging.events import EventData, register


class HeldSeatData(CamelRequest):
    seat_id: str
    fence: int = Field(ge=1, description="The seat's fencing token for this hold")


def _fences() -> Any:
    return Field(
        default_factory=list,
        description="The hold's fencing token of each seat in ``seats``: with the event's stage, the seat's version, "
        "which read models use to ignore an older event that arrives late (docs/patterns/05-cqrs.md)",
    )


@register
class HoldCreated(EventData):
    event_type: ClassVar[str] = "HoldCreated"
    hold_id: str
    showtime_id: str
    customer_id: str
    seats: list[HeldSeatData]
    lease_expires_at_ms: int


@register
class HoldReleased(EventData):
    event_type: ClassVar[str] = "HoldReleased"
    hold_id: str
    showtime_id: str
    seats: list[str] = Field(description="Seats given back (those the hold still owned)")
    reason: str
    fences: list[HeldSeatData] = _fences()


@register
class SeatsReserved(EventData):
    event_type: ClassVar[str] = "SeatsReserved"
    hold_id: str
    order_id: str
    showtime_id: str
    seats: list[str]
    fences: list[HeldSeatData] = _fences()


@register
class SeatsReleased(EventData):
    event_type: ClassVar[str] = "SeatsReleased"
    hold_id: str
    order_id: str
    showtime_id: str
    seats: list[str]
    fences: list[HeldSeatData] = _fences()
