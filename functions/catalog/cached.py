"""GET /showtimes/{id} through the edge cache (challenge 7): the showtime and its seat map, cache-aside.

The entry is one per showtime and view (staff may see a soft-deleted showtime, customers may not), lives 2 s, and is
invalidated by every seat event of the showtime (marquee.cache.showtimes, functions/cache_invalidator). A showtime
that does not exist is cached as "not found" for the same 2 s. Knows nothing of API Gateway.
"""

from __future__ import annotations

from marquee.booking.errors import NotFound
from marquee.cache import CacheAside
from marquee.cache.showtimes import showtime_key
from marquee.tenancy.tenant import TenantContext

from . import logic
from .models import CatalogEnv, ShowtimeDetail

STAFF = "staff"


def get_showtime(showtime_id: str, *, tenant: TenantContext, env: CatalogEnv, cache: CacheAside) -> ShowtimeDetail:
    def load() -> dict | None:
        try:
            return logic.get_showtime(showtime_id, tenant=tenant, env=env).model_dump(mode="json", by_alias=True)
        except NotFound:
            return None

    key = showtime_key(tenant.tenant_id, showtime_id, view=STAFF if STAFF in tenant.groups else "public")
    value = cache.get(key, load)
    if value is None:
        raise NotFound(f"No showtime {showtime_id}.")
    return ShowtimeDetail.model_validate(value)
