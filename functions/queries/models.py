"""Configuration and response models of the queries function, the CQRS read side (camelCase on the wire)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from marquee.cache.env import CacheEnv
from marquee.core.env import PowertoolsEnv
from marquee.core.models import CamelModel
from marquee.core.money import Money
from marquee.relational.client import RelationalEnv


class QueriesEnv(PowertoolsEnv, RelationalEnv, CacheEnv):
    """The Data API target and the edge cache: this function reads the read models and has no DynamoDB permission."""


class Availability(CamelModel):
    capacity: int = Field(description="Seats that can be sold")
    free: int
    held: int = Field(description="Seats under a hold whose lease has not ended")
    sold: int


class ShowtimeListing(CamelModel):
    showtime_id: str
    movie_id: str
    title: str
    auditorium_id: str
    cinema_id: str
    cinema_name: str
    city: str
    starts_at: datetime
    price: Money
    availability: Availability


class ShowtimePage(CamelModel):
    """Showtimes by start time, from the availability read model (eventually consistent: see lagMs in bench)."""

    items: list[ShowtimeListing]
    next_cursor: str | None


class OrderSummary(CamelModel):
    order_id: str
    status: Literal["PENDING", "CONFIRMED", "FAILED"]
    showtime_id: str | None
    seat_ids: list[str]
    amount: Money | None
    payment_id: str | None
    reason: str | None
    placed_at: datetime
    updated_at: datetime


class OrderHistory(CamelModel):
    """The caller's orders, newest first, from the orders read model."""

    items: list[OrderSummary]
    next_cursor: str | None


class SalesRow(CamelModel):
    day: date
    movie_id: str | None = Field(description="Null while the showtime's event has not reached the model")
    title: str | None
    cinema_id: str | None
    cinema_name: str | None
    orders: int
    seats: int
    revenue: Money


class SalesReport(CamelModel):
    """Confirmed sales per day (UTC), movie and cinema, from the sales read model."""

    from_: date = Field(alias="from")
    to: date
    rows: list[SalesRow]
