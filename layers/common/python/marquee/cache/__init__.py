"""Cache-aside on Valkey (ElastiCache Serverless), stampede-safe: single flight across instances, stale-while-revalidate,
XFetch early recomputation, generation invalidation, negative caching, jittered TTLs, and a capped origin path while
Valkey is down. See docs/patterns/07-cache-aside.md."""

from marquee.cache.aside import CacheAside, CachePolicy, Entry, OriginBusy
from marquee.cache.breaker import MemoryBreakerStore, local_breaker
from marquee.cache.keys import CacheKey
from marquee.cache.xfetch import probability, should_recompute

__all__ = [
    "CacheAside",
    "CacheKey",
    "CachePolicy",
    "Entry",
    "MemoryBreakerStore",
    "OriginBusy",
    "local_breaker",
    "probability",
    "should_recompute",
]
