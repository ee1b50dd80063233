"""Seat holds: hold seats all-or-none, read a hold, release it (owner only). Knows nothing of API Gateway."""

from __future__ import annotations

from marquee.booking import seats
from marquee.booking.errors import HoldNotFound, UnprocessableError
from marquee.tenancy.tenant import TenantContext

from .models import HeldSeatOut, HoldRequest, HoldResponse, HoldsEnv


class TooManySeats(UnprocessableError):
    slug = "too-many-seats"
    title = "Too many seats"


def _response(hold: seats.Hold, now_ms: int) -> HoldResponse:
    status = "EXPIRED" if hold.expired(now_ms) else hold.status.value
    return HoldResponse(
        hold_id=hold.hold_id,
        showtime_id=hold.showtime_id,
        customer_id=hold.customer_id,
        seats=[HeldSeatOut(seat_id=s.seat_id, fence=s.fence) for s in hold.seats],
        status=status,
        lease_expires_at_ms=hold.lease_expires_at_ms,
        order_id=hold.order_id,
    )


def place_hold(
    showtime_id: str, request: HoldRequest, *, tenant: TenantContext, env: HoldsEnv, correlation_id: str | None
) -> HoldResponse:
    if len(request.seats) > seats.MAX_SEATS_PER_HOLD:
        raise TooManySeats(f"A hold takes at most {seats.MAX_SEATS_PER_HOLD} seats; {len(request.seats)} were asked.")
    client = env.dynamodb_for(tenant)
    showtime = seats.showtime_item(tenant, showtime_id, table_name=env.table_name, client=client)
    hold = seats.create_hold(
        tenant,
        showtime_id=showtime_id,
        seat_ids=list(request.seats),
        lease_seconds=int(showtime["holdLeaseSeconds"]["N"]),
        table_name=env.table_name,
        correlation_id=correlation_id,
        client=client,
    )
    return _response(hold, seats.now_ms())


def read_hold(hold_id: str, *, tenant: TenantContext, env: HoldsEnv) -> HoldResponse:
    hold = seats.get_hold(tenant, hold_id, table_name=env.table_name, client=env.dynamodb_for(tenant))
    if hold.customer_id != tenant.user_id:
        raise HoldNotFound(f"No hold {hold_id}.")  # another customer's hold: existence is not leaked
    return _response(hold, seats.now_ms())


def release(hold_id: str, *, tenant: TenantContext, env: HoldsEnv, correlation_id: str | None) -> HoldResponse:
    result = seats.release_hold(
        tenant,
        hold_id,
        table_name=env.table_name,
        owner_id=tenant.user_id,
        correlation_id=correlation_id,
        client=env.dynamodb_for(tenant),
    )
    return _response(result.hold, seats.now_ms())
