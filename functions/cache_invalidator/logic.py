"""Bump the generation of every cached entity an event makes stale (marquee.cache.showtimes.keys_changed_by).

A bump is one INCR per entity; readers then look under the next generation, so the stale entry is never read again
(a load that began before the change publishes under the old generation). Replays and duplicates are harmless: a
second bump only costs one cache miss. Valkey unreachable: the error propagates, so Lambda retries the async invoke
(twice) and then the event goes to the on-failure queue; meanwhile the entries expire by their TTL (2 s for a seat map).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marquee.cache import CacheAside, CacheKey
from marquee.cache.showtimes import keys_changed_by


def invalidate(detail: Mapping[str, Any], *, cache: CacheAside) -> list[str]:
    """The entities bumped (``tenant/entity``) for one event's envelope; none for an event it does not know."""
    event_type = detail.get("type")
    tenant = detail.get("tenantId")
    data = detail.get("data")
    if not isinstance(event_type, str) or not isinstance(tenant, str) or not isinstance(data, Mapping):
        return []
    try:
        keys: list[CacheKey] = keys_changed_by(event_type, tenant, data)
    except ValueError:  # a tenant or id that cannot be a cache key (braces): nothing of it is cached
        return []
    for key in keys:
        cache.invalidate(key)
    return [f"{key.tenant}/{key.entity}" for key in keys]
