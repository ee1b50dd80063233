"""What the API caches of showtimes, for how long, and which events make it stale (docs/patterns/07-cache-aside.md).

- ``showtime_key``: GET /showtimes/{id} (catalog): the showtime and its seat map. Entity ``showtime#<id>``, one item
  per view (customers, staff).
- ``listing_key``: GET /showtimes (queries): one page of the tenant's listing with availability. Entity ``showtimes``.

Seat maps change on every hold, so their entry lives ``SEAT_MAP_POLICY.ttl_s`` (2 s, +-10 % jitter) and is never
served stale: even if every invalidation were lost, a hold is shown free for at most 2.2 s. Normally it is less: the
cache invalidator (functions/cache_invalidator) bumps the showtime's generation on each event that changes its seats
(``keys_changed_by``), within the outbox's delivery time (measured end to end by tests/e2e/test_edge.py).
The listing is a read model, already behind the events by the projection lag; its entry lives 5 s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from marquee.cache.aside import CachePolicy
from marquee.cache.keys import CacheKey

NAMESPACE = "mq"
SEAT_MAP_POLICY = CachePolicy(
    ttl_s=2.0, stale_ttl_s=0.0, negative_ttl_s=2.0, jitter=0.1, xfetch_beta=1.0, lease_ms=3_000, wait_timeout_s=3.0
)
LISTING_POLICY = CachePolicy(
    ttl_s=5.0, stale_ttl_s=0.0, negative_ttl_s=5.0, jitter=0.1, xfetch_beta=1.0, lease_ms=5_000, wait_timeout_s=5.0
)
LISTING_ENTITY = "showtimes"

# Events whose data names a showtime whose seats changed: its seat map, and the listing's availability.
SEAT_EVENTS = frozenset(
    {
        "HoldCreated",
        "HoldReleased",
        "SeatsReserved",
        "SeatsReleased",
        "OrderConfirmed",
        "ShowtimeDeleted",
        "ShowtimeRestored",
    }
)
# Events that change the listing only (a new showtime, a movie's title, a cinema or movie deleted or restored).
LISTING_EVENTS = frozenset(
    {
        "ShowtimeScheduled",
        "MovieChanged",
        "MovieDeleted",
        "MovieRestored",
        "CinemaOpened",
        "CinemaDeleted",
        "CinemaRestored",
    }
)
INVALIDATING_EVENTS = sorted(SEAT_EVENTS | LISTING_EVENTS)


def showtime_key(tenant: str, showtime_id: str, *, view: str = "public") -> CacheKey:
    """One entity per showtime; one item per view of it (staff also see a soft-deleted showtime)."""
    return CacheKey(tenant, f"showtime#{showtime_id}", f"detail:{view}")


def listing_key(tenant: str, *, limit: int, cursor: str | None) -> CacheKey:
    page = hashlib.sha256((cursor or "").encode()).hexdigest()[:16] if cursor else "first"
    return CacheKey(tenant, LISTING_ENTITY, f"limit={limit}:page={page}")


def keys_changed_by(event_type: str, tenant: str, data: Mapping[str, Any]) -> list[CacheKey]:
    """The entities an event makes stale (each key stands for every item of its entity)."""
    keys: list[CacheKey] = []
    showtime_id = data.get("showtimeId")
    if event_type in SEAT_EVENTS and isinstance(showtime_id, str) and showtime_id and "{" not in showtime_id:
        keys.append(showtime_key(tenant, showtime_id))
    if event_type in SEAT_EVENTS or event_type in LISTING_EVENTS:
        keys.append(CacheKey(tenant, LISTING_ENTITY))
    return keys
