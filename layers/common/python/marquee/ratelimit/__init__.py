"""Distributed rate limiting (challenge 1): GCRA in Valkey, one Lua call per decision, limits per tenant plan from the
feature flags, IETF RateLimit headers, 429 problems, a per-instance pre-limiter for hot keys and a fail-open path.
See docs/patterns/01-rate-limiting.md."""

from collections.abc import Callable
from typing import Any

from marquee.ratelimit.gcra import Decision, Limit, decide
from marquee.ratelimit.http import Outcome, RequestLimiter, Subject, subject_of
from marquee.ratelimit.limiter import RateLimiter
from marquee.ratelimit.plans import DEFAULT_PLAN, FLAG, FlagPlans, LimitSpec, Plan
from marquee.ratelimit.stores import MemoryGcra, ValkeyGcra

__all__ = [
    "DEFAULT_PLAN",
    "FLAG",
    "Decision",
    "FlagPlans",
    "Limit",
    "LimitSpec",
    "MemoryGcra",
    "Outcome",
    "Plan",
    "RateLimiter",
    "RequestLimiter",
    "Subject",
    "ValkeyGcra",
    "decide",
    "subject_of",
    "valkey_request_limiter",
]


def valkey_request_limiter(client_factory: Callable[[], Any]) -> RequestLimiter:
    """What an API function passes to ``ApiResolver(rate_limit=...)``: GCRA in the Valkey ``client_factory()`` returns
    (called on the first request, never at import), plans from the feature flags."""
    return RequestLimiter(lambda: RateLimiter(ValkeyGcra(client_factory())), FlagPlans())
