"""Fault injection through a feature flag: added latency per service and tenant, for drills, tours and tests.

The flag ``chaos_latency_ms`` (a non-boolean Powertools feature flag, default 0) is evaluated with the caller's
context plus ``service``, so a rule such as "tenant in [drill-tenant] and service == recommendations -> 3000" makes
that one backend hang for that one tenant, on every target (AWS, LocalStack, the local cloud), with no deploy; the
change reaches running functions within FLAGS_MAX_AGE_SECONDS. Only internal entry points (marquee.aggregation) call
it, only in functions given the flags. A value is capped at MAX_DELAY_MS; a flag store that cannot be read injects
nothing (chaos must never become the outage).
"""

from __future__ import annotations

import time

from marquee.core import flags
from marquee.core.logs import Logger
from marquee.tenancy.tenant import TenantContext

logger = Logger(child=True)  # masked: logs through the function's Logger (marquee.core.logs)

FLAG = "chaos_latency_ms"
MAX_DELAY_MS = 30_000


def latency_ms(service: str, caller: TenantContext) -> int:
    try:
        value = flags.feature_flags().evaluate(
            name=FLAG, context={**flags.flag_context(caller), "service": service}, default=0
        )
    except Exception:  # noqa: BLE001 - an unreadable flag store (or no flags at all) injects nothing
        logger.debug("chaos flag unreadable; no latency injected", exc_info=True)
        return 0
    return (
        min(max(int(value), 0), MAX_DELAY_MS) if isinstance(value, int | float) and not isinstance(value, bool) else 0
    )


def inject_latency(service: str, caller: TenantContext) -> int:
    """Sleep for the flag's latency for ``service`` and ``caller``; returns the milliseconds slept."""
    delay = latency_ms(service, caller)
    if delay:
        logger.warning("chaos: injecting latency", extra={"service": service, "delay_ms": delay})
        time.sleep(delay / 1000.0)
    return delay
