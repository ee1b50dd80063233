"""API aggregation (challenge 17): internal entry points invoked directly, and a fan-out with a deadline and a breaker
per backend. See docs/patterns/17-api-aggregator.md."""

from marquee.aggregation.fanout import DEGRADED, FanOut, Outcome, Section, SectionStatus
from marquee.aggregation.internal import BackendError, BackendRefused, Caller, InternalRouter, LambdaBackend

__all__ = [
    "DEGRADED",
    "BackendError",
    "BackendRefused",
    "Caller",
    "FanOut",
    "InternalRouter",
    "LambdaBackend",
    "Outcome",
    "Section",
    "SectionStatus",
]
