"""Fault injection through the ``chaos_latency_ms`` feature flag (marquee.resilience.chaos): make one backend of the
aggregator hang for one tenant, without a deploy. Used by the tour, the e2e tests and bench/aggregator.py."""

from __future__ import annotations

import copy
from typing import Any

from devkit.flags import FlagsClient

FLAG = "chaos_latency_ms"


def with_latency(flags: dict[str, Any], *, tenant: str, service: str, delay_ms: int) -> dict[str, Any]:
    """A copy of ``flags`` where ``service`` sleeps ``delay_ms`` before answering ``tenant``'s internal requests (other
    rules of the flag are kept; one rule per tenant and service)."""
    updated = copy.deepcopy(flags)
    feature = updated.setdefault(FLAG, {"default": 0, "boolean_type": False, "rules": {}})
    rules = feature.setdefault("rules", {})
    rules[f"{tenant}/{service}"] = {
        "when_match": int(delay_ms),
        "conditions": [
            {"action": "EQUALS", "key": "tenant", "value": tenant},
            {"action": "EQUALS", "key": "service", "value": service},
        ],
    }
    return updated


def inject_latency(endpoint_url: str, *, tenant: str, service: str, delay_ms: int) -> dict[str, Any]:
    """Deploy the flag; returns the flags as they were, for ``restore``."""
    client = FlagsClient(endpoint_url)
    _, before = client.current()
    client.deploy(with_latency(before, tenant=tenant, service=service, delay_ms=delay_ms))
    return before


def restore(endpoint_url: str, flags: dict[str, Any]) -> None:
    FlagsClient(endpoint_url).deploy(flags)
