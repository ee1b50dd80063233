"""Recording the event stream's signals and answering one customer. Knows nothing of Lambda or EventBridge.

``record`` takes one event envelope (the bus event's ``detail``) and applies it to the store:
- ShowtimeScheduled: the showtime's movie and city, and the movie as showing there;
- MovieChanged, MovieDeleted, MovieRestored: the movie's title, genres and deletion, kept by revision;
- OrderConfirmed: its tickets counted for the showtime's movie (popular now, in the city and the tenant) and the movie
  pushed onto the customer's recent list, once per event id.
Any other event is ignored. An envelope or data that does not validate is refused (``ValueError``): the delivery goes
to the on-failure queue after Lambda's retries, never half-applied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from marquee.booking import catalog, orders
from marquee.messaging.events import Envelope
from marquee.recommendations import RecommendationStore
from marquee.tenancy.tenant import TenantContext

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RECORDED = ("OrderConfirmed", "ShowtimeScheduled", "MovieChanged", "MovieDeleted", "MovieRestored")


def record(detail: Mapping[str, Any], *, store: RecommendationStore) -> str:
    """What was done with the event: ``counted``, ``duplicate``, ``stale`` (too old to matter), ``updated`` or
    ``ignored``."""
    event = Envelope.model_validate(detail)
    tenant, data = event.tenant_id, event.data
    if event.type == "OrderConfirmed":
        order = orders.OrderConfirmed.model_validate(data)
        return store.order_confirmed(
            tenant,
            event_id=event.id,
            showtime_id=order.showtime_id,
            customer_id=order.customer_id,
            seats=len(order.seat_ids),
            occurred_at=event.occurred_at,
        )
    if event.type == "ShowtimeScheduled":
        scheduled = catalog.ShowtimeScheduled.model_validate(data)
        store.showtime_scheduled(
            tenant,
            scheduled.showtime_id,
            movie_id=scheduled.movie_id,
            city=scheduled.city,
            starts_at=scheduled.starts_at,
        )
        return "updated"
    if event.type == "MovieChanged":
        movie = catalog.MovieChanged.model_validate(data)
        store.movie_changed(tenant, movie.movie_id, revision=movie.revision, title=movie.title, genres=movie.genres)
        return "updated"
    if event.type in ("MovieDeleted", "MovieRestored"):
        movie_id, revision = data.get("movieId"), data.get("revision")
        if not isinstance(movie_id, str) or not isinstance(revision, int):
            raise ValueError(f"{event.type} without movieId and revision")
        store.movie_deleted(tenant, movie_id, revision=revision, deleted=event.type == "MovieDeleted")
        return "updated"
    return "ignored"


def recommend(tenant: TenantContext, params: Mapping[str, Any], *, store: RecommendationStore) -> dict[str, Any]:
    """Up to five movies for the caller, for the city of ``params["showtimeId"]``, each with its reason."""
    showtime_id = str(params.get("showtimeId") or "")
    if not _ID.match(showtime_id):
        showtime_id = "-"  # no showtime can have this id: the tenant-wide answer
    result = store.recommend(tenant.tenant_id, tenant.user_id, showtime_id)
    return {
        "basis": result.basis,
        "city": result.city,
        "watchedGenres": result.watched_genres,
        "items": [
            {
                "movieId": item.movie_id,
                "title": item.title,
                "genres": item.genres,
                "reason": {_camel(k): v for k, v in asdict(item.reason).items() if v is not None},
            }
            for item in result.items
        ],
    }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
