"""Configuration and the answer of the aggregator (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from marquee.cache.env import CacheEnv
from marquee.core.env import PowertoolsEnv
from marquee.core.models import CamelModel
from marquee.core.money import Money

TimeoutMs = Annotated[int, Field(ge=50, le=10_000)]


class OverviewEnv(PowertoolsEnv, CacheEnv):
    """The functions it invokes, and each one's own timeout (infra/constructs/overview.py)."""

    catalog_function: str = Field(min_length=1)
    queries_function: str = Field(min_length=1)
    recommendations_function: str = Field(min_length=1)
    catalog_timeout_ms: TimeoutMs
    availability_timeout_ms: TimeoutMs
    orders_timeout_ms: TimeoutMs
    recommendations_timeout_ms: TimeoutMs


class OverviewMovie(CamelModel):
    movie_id: str
    title: str
    runtime_minutes: int
    genres: list[str]
    director: str
    synopsis: str


class OverviewCatalog(CamelModel):
    """From the catalog (the write side, as customers may see it): the showtime and its movie."""

    showtime_id: str
    auditorium_id: str
    starts_at: datetime
    price: Money
    hold_lease_seconds: int
    movie: OverviewMovie


class OverviewSeats(CamelModel):
    capacity: int
    free: int
    held: int
    sold: int


class OverviewAvailability(CamelModel):
    """From the availability read model (eventually consistent); null in an answer that is not degraded means the
    model has not seen the showtime yet."""

    cinema_id: str
    cinema_name: str
    city: str
    availability: OverviewSeats


class OverviewReason(CamelModel):
    kind: Literal["because-you-watched", "popular-now", "now-showing"]
    detail: str = Field(description="Why it was chosen, in one sentence a customer can read")
    genre: str | None = None
    because_of: str | None = Field(default=None, description="The title of the watched movie that led here")
    score: float | None = Field(default=None, description="popular-now: recent tickets, each halving every hour")
    scope: str | None = Field(default=None, description="popular-now: the city, or 'every city'")


class OverviewRecommendation(CamelModel):
    movie_id: str
    title: str
    genres: list[str]
    reason: OverviewReason


class OverviewRecommendations(CamelModel):
    basis: Literal["your-orders", "popular", "catalog"] = Field(
        description="What the list rests on: the customer's orders, what sells now, or only what is showing"
    )
    city: str | None
    watched_genres: list[str]
    items: list[OverviewRecommendation]


class OverviewOrder(CamelModel):
    order_id: str
    status: Literal["PENDING", "CONFIRMED", "FAILED"]
    seat_ids: list[str]
    amount: Money | None
    reason: str | None
    placed_at: datetime
    updated_at: datetime


class OverviewSection(CamelModel):
    status: Literal["ok", "refused", "failed", "timeout", "breaker-open"]
    ms: float = Field(description="How long the section took (0 when its breaker was open)")
    cached: bool = Field(description="Served from the edge cache without invoking its backend")


class Overview(CamelModel):
    """A showtime for one customer, from four services at once. A section that failed, was too slow or whose breaker
    is open is null and named in ``degraded``; the answer is still a 200."""

    showtime_id: str
    catalog: OverviewCatalog | None
    availability: OverviewAvailability | None
    recommendations: OverviewRecommendations | None
    my_orders: list[OverviewOrder] | None
    degraded: list[Literal["catalog", "availability", "recommendations", "myOrders"]]
    sections: dict[str, OverviewSection]
