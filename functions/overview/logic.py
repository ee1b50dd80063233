"""The overview: four sections fetched at once, each with its own deadline and breaker, cached where its data allows.

- catalog: the catalog's ``showtime-overview``; cached 10 s per showtime and view, dropped with the showtime's
  generation (a movie's rename shows within those 10 s);
- availability: the queries function's ``availability``; cached 2 s per showtime, dropped with the showtime's
  generation (every seat event bumps it);
- recommendations: the recommendations function's ``recommend``; not cached (per customer, one Valkey read);
- myOrders: the queries function's ``my-orders``; not cached (per customer, changes with each of their orders).

A catalog answer of "not found" (the id is not the caller's tenant's, or is deleted) is the overview's 404. Any other
section that failed, timed out or whose breaker is open is null and named in ``degraded``: the answer is a 200 with
what could be had, never a 5xx. Knows nothing of API Gateway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marquee.aggregation import FanOut, LambdaBackend, Outcome, Section, SectionStatus
from marquee.booking.errors import NotFound
from marquee.cache import CacheAside, CachePolicy
from marquee.cache.showtimes import NAMESPACE, showtime_key
from marquee.core.logs import Logger
from marquee.tenancy.tenant import TenantContext

from .models import Overview, OverviewEnv

logger = Logger(child=True)  # masked: logs through the function's Logger (marquee.core.logs)

STAFF = "staff"
CATALOG_POLICY = CachePolicy(ttl_s=10.0, negative_ttl_s=2.0, jitter=0.1, lease_ms=3_000, wait_timeout_s=2.0)
AVAILABILITY_POLICY = CachePolicy(ttl_s=2.0, negative_ttl_s=2.0, jitter=0.1, lease_ms=3_000, wait_timeout_s=2.0)
SECTIONS = ("catalog", "availability", "recommendations", "myOrders")


@dataclass(frozen=True)
class Answer:
    overview: Overview
    outcomes: dict[str, Outcome]
    cached: dict[str, bool]
    total_ms: float

    def server_timing(self) -> str:
        """The ``Server-Timing`` header: each section's time, and the whole fan-out's."""
        parts = []
        for name in SECTIONS:
            outcome = self.outcomes[name]
            desc = "cached" if self.cached.get(name) else outcome.status.value
            parts.append(f'{name};desc="{desc}";dur={outcome.duration_ms:.1f}')
        parts.append(f"total;dur={self.total_ms:.1f}")
        return ", ".join(parts)


@dataclass(frozen=True)
class SectionCaches:
    """One cache-aside per cached section (each its own policy) on the edge cache."""

    catalog: CacheAside
    availability: CacheAside

    @classmethod
    def on(cls, client: Any) -> SectionCaches:
        return cls(
            CacheAside(client, namespace=NAMESPACE, policy=CATALOG_POLICY),
            CacheAside(client, namespace=NAMESPACE, policy=AVAILABILITY_POLICY),
        )


@dataclass(frozen=True)
class Backends:
    catalog: LambdaBackend
    availability: LambdaBackend
    recommendations: LambdaBackend
    orders: LambdaBackend

    @classmethod
    def of(cls, env: OverviewEnv) -> Backends:
        return cls(
            catalog=LambdaBackend(env.catalog_function, "showtime-overview", env.catalog_timeout_ms),
            availability=LambdaBackend(env.queries_function, "availability", env.availability_timeout_ms),
            recommendations=LambdaBackend(env.recommendations_function, "recommend", env.recommendations_timeout_ms),
            orders=LambdaBackend(env.queries_function, "my-orders", env.orders_timeout_ms),
        )


def overview(
    showtime_id: str,
    *,
    tenant: TenantContext,
    backends: Backends,
    fan_out: FanOut,
    caches: SectionCaches | None,
    request_id: str | None,
) -> Answer:
    params = {"showtimeId": showtime_id}
    cached: dict[str, bool] = {}

    def call(backend: LambdaBackend) -> Callable[[], Any]:
        return lambda: backend(tenant, params, request_id=request_id)

    def through_cache(name: str, item: str, load: Callable[[], Any]) -> Callable[[], Any]:
        if caches is None:
            return load
        cache: CacheAside = getattr(caches, name)

        def cached_load() -> Any:
            loaded = []

            def origin() -> Any:
                loaded.append(True)
                return load()

            value = cache.get(showtime_key(tenant.tenant_id, showtime_id, view=item), origin)
            cached[name] = not loaded
            return value

        return cached_load

    view = STAFF if tenant.in_group(STAFF) else "public"
    started = time.monotonic()
    outcomes = fan_out.gather(
        [
            Section(
                "catalog",
                through_cache("catalog", f"overview:catalog:{view}", call(backends.catalog)),
                backends.catalog.timeout_ms,
            ),
            Section(
                "availability",
                through_cache("availability", "overview:availability", call(backends.availability)),
                backends.availability.timeout_ms,
            ),
            Section("recommendations", call(backends.recommendations), backends.recommendations.timeout_ms),
            Section("myOrders", call(backends.orders), backends.orders.timeout_ms),
        ]
    )
    total_ms = (time.monotonic() - started) * 1000.0
    catalog = outcomes["catalog"]
    if catalog.status is SectionStatus.REFUSED and catalog.refused is not None and catalog.refused.status == 404:
        raise NotFound(f"No showtime {showtime_id}.")
    degraded = [name for name in SECTIONS if outcomes[name].status is not SectionStatus.OK]
    for name in degraded:
        logger.warning(
            "overview section degraded",
            extra={"section": name, "status": outcomes[name].status.value, "error": outcomes[name].error},
        )
    values = {name: outcomes[name].value if name not in degraded else None for name in SECTIONS}
    availability = values["availability"]
    body = Overview.model_validate(
        {
            "showtimeId": showtime_id,
            "catalog": values["catalog"],
            "availability": (
                {key: availability[key] for key in ("cinemaId", "cinemaName", "city", "availability")}
                if availability
                else None
            ),
            "recommendations": values["recommendations"],
            "myOrders": values["myOrders"],
            "degraded": degraded,
            "sections": {
                name: {
                    "status": outcomes[name].status.value,
                    "ms": round(outcomes[name].duration_ms, 1),
                    "cached": cached.get(name, False),
                }
                for name in SECTIONS
            },
        }
    )
    return Answer(body, outcomes, cached, total_ms)
