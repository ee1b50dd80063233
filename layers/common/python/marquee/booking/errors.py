"""Typed errors of the booking core (catalog, holds, seat conversion). Each maps to one problem type (http/problem.py).

Class names matter: Step Functions matches the saga's Catch/Retry on the error NAME, so ``HoldExpired`` is a business
error the saga compensates for, never retried.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from marquee.core.errors import MarqueeError


class NotFound(MarqueeError):
    """The entity does not exist in the caller's tenant (another tenant's id is indistinguishable: always 404)."""

    status = HTTPStatus.NOT_FOUND
    slug = "not-found"
    title = "Not found"


class HoldNotFound(NotFound):
    slug = "hold-not-found"
    title = "Hold not found"


class ShowtimeNotFound(NotFound):
    slug = "showtime-not-found"
    title = "Showtime not found"


class UnprocessableError(MarqueeError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    slug = "unprocessable"
    title = "Unprocessable request"


class UnknownSeats(UnprocessableError):
    """Seat ids that are not seats of this showtime (outside the auditorium, or of another showtime)."""

    slug = "unknown-seats"
    title = "Unknown seats"

    def __init__(self, seats: list[str]) -> None:
        super().__init__(f"Not seats of this showtime: {', '.join(seats)}.")
        self.extensions: dict[str, Any] = {"seats": seats}


class ConflictError(MarqueeError):
    status = HTTPStatus.CONFLICT
    slug = "conflict"
    title = "Conflict"


class SeatsTaken(ConflictError):
    """Some requested seats are held, sold or unavailable: nothing was held."""

    slug = "seats-taken"
    title = "Seats taken"

    def __init__(self, seats: list[str]) -> None:
        super().__init__(f"These seats are not free: {', '.join(seats)}. Nothing was held.")
        self.extensions = {"seats": seats}


class HoldExpired(ConflictError):
    """The hold no longer owns its seats (fence moved on: another hold took them), or was released/converted."""

    slug = "hold-expired"
    title = "Hold expired"


class HoldNotActive(ConflictError):
    """The hold was already converted into an order; it can no longer be released by its customer."""

    slug = "hold-not-active"
    title = "Hold not active"


class AlreadyExists(ConflictError):
    slug = "already-exists"
    title = "Already exists"
