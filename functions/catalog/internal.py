"""The catalog's internal entry point (challenge 17): what the aggregator (functions/overview) asks for by a direct
invoke, answered with the same tenant rules as the API (a customer never sees a soft-deleted showtime or movie).

- ``showtime-overview``: the showtime and its movie (title, runtime, genres, director, synopsis). ``NotFound`` (an
  answer, not a failure) for an id that is not the caller's tenant's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marquee.aggregation import InternalRouter
from marquee.booking import catalog
from marquee.booking.errors import NotFound
from marquee.tenancy.tenant import TenantContext

from .models import CatalogEnv

STAFF = "staff"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def router(env: CatalogEnv) -> InternalRouter:
    internal = InternalRouter(chaos_service="catalog")

    @internal.op("showtime-overview")
    def showtime_overview(tenant: TenantContext, params: Mapping[str, Any]) -> dict[str, Any]:
        showtime_id = str(params.get("showtimeId") or "")
        if not _ID.match(showtime_id):
            raise NotFound(f"No showtime {showtime_id[:64]}.")
        client = env.dynamodb_for(tenant)
        showtime = catalog.get_showtime(tenant, showtime_id, table_name=env.table_name, client=client)
        movie, meta = catalog.get_movie(tenant, showtime.movie_id, table_name=env.table_name, client=client)
        if meta["deleted"] and not tenant.in_group(STAFF):
            raise NotFound(f"No showtime {showtime_id}.")
        return {
            "showtimeId": showtime.showtime_id,
            "auditoriumId": showtime.auditorium_id,
            "startsAt": showtime.starts_at.isoformat().replace("+00:00", "Z"),
            "price": showtime.price.model_dump(mode="json"),
            "holdLeaseSeconds": showtime.hold_lease_seconds,
            "movie": {
                "movieId": movie.movie_id,
                "title": movie.title,
                "runtimeMinutes": movie.runtime_minutes,
                "genres": list(movie.genres),
                "director": movie.director,
                "synopsis": movie.synopsis,
            },
        }

    return internal
