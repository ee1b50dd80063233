"""Seat state computed from the item and the clock (no network)."""

from __future__ import annotations

from marquee.booking.seats import SEAT_HELD_BY_HOLD, SEAT_IS_FREE_AT_FENCE, Seat, SeatState


def test_a_held_seat_is_free_again_once_its_lease_has_expired() -> None:
    seat = Seat(seat_id="A1", fence=3, holder="hld_1", lease_expires_at_ms=1_000)
    assert seat.state(999) is SeatState.HELD
    assert seat.state(1_000) is SeatState.HELD
    assert seat.state(1_001) is SeatState.FREE


def test_sold_and_unavailable_seats_never_become_free() -> None:
    assert Seat(seat_id="A1", sold_to="ord_1", holder="h", lease_expires_at_ms=0).state(10**15) is SeatState.SOLD
    assert Seat(seat_id="A1", seat_state="UNAVAILABLE").state(0) is SeatState.UNAVAILABLE


def test_ownership_needs_the_same_holder_and_fence_and_no_sale() -> None:
    seat = Seat(seat_id="A1", fence=2, holder="hld_1", lease_expires_at_ms=0)
    assert seat.owned_by("hld_1", 2)
    assert not seat.owned_by("hld_1", 1)
    assert not seat.owned_by("hld_2", 2)
    assert not seat.model_copy(update={"sold_to": "ord"}).owned_by("hld_1", 2)


def test_the_free_condition_reads_the_lease_and_the_fence() -> None:
    assert "lease_expires_at < :now" in SEAT_IS_FREE_AT_FENCE and "fence = :seen" in SEAT_IS_FREE_AT_FENCE
    assert "fence = :token" in SEAT_HELD_BY_HOLD
