"""Configuration, request and response models of the holds function (camelCase on the wire)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from marquee.booking.hold_shape import HoldShapeEnv
from marquee.booking.seats import MAX_SEATS_PER_HOLD
from marquee.cache.env import CacheEnv
from marquee.core.models import CamelRequest
from marquee.tenancy.tenant_session import TenantDataEnv

SeatId = Annotated[str, StringConstraints(pattern=r"^[A-Z][1-9][0-9]{0,2}$")]
MAX_BODY_BYTES = 256 * 1024


class HoldsEnv(TenantDataEnv, CacheEnv, HoldShapeEnv):
    """The holds function reads the lease from the showtime; the edge cache is where it invalidates seat maps; the
    hold item's shape phase (expand and contract, ``marquee.booking.hold_shape``)."""


class HoldRequest(CamelRequest):
    # The size limit is checked in logic (422 with its own problem type), not here, so the list may be longer.
    # The contract says 10 (MAX_SEATS_PER_HOLD); more is refused in logic with its own problem type, too-many-seats.
    seats: list[SeatId] = Field(
        min_length=1, max_length=1000, json_schema_extra={"uniqueItems": True, "maxItems": MAX_SEATS_PER_HOLD}
    )

    @field_validator("seats")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a seat is listed more than once")
        return value


class HeldSeatOut(CamelRequest):
    seat_id: str
    fence: int


class HoldResponse(CamelRequest):
    hold_id: str
    showtime_id: str
    customer_id: str
    seats: list[HeldSeatOut]
    status: str
    lease_expires_at_ms: int
    order_id: str | None = None


__all__ = ["MAX_BODY_BYTES", "MAX_SEATS_PER_HOLD", "HoldRequest", "HoldResponse", "HoldsEnv"]
