"""The cache's circuit breaker: marquee.resilience's breaker, with its state kept in this process.

The shared breaker (DynamoDB-backed, one state for the fleet) suits a provider that is down for everyone. Whether this
instance can reach Valkey is a fact about this instance (its network path, its connections), and asking DynamoDB on
every cache read would cost more than the read. So the same state machine (CLOSED, OPEN, one HALF_OPEN probe) runs
on an in-memory store with the same compare-and-set contract.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from marquee.resilience.breaker import BreakerConfig, BreakerRecord, CircuitBreaker, Transition

DEFAULT_CONFIG = BreakerConfig(failure_threshold=3, window_ms=10_000, cooldown_ms=2_000, success_threshold=1)


class MemoryBreakerStore:
    """BreakerStore in memory: ``save`` is a compare-and-set on ``version`` under a lock."""

    def __init__(self, keep_transitions: int = 50) -> None:
        self._records: dict[str, BreakerRecord] = {}
        self._transitions: dict[str, list[Transition]] = {}
        self._keep = keep_transitions
        self._lock = threading.Lock()

    def load(self, name: str) -> BreakerRecord:
        with self._lock:
            return self._records.get(name) or BreakerRecord()

    def save(self, name: str, record: BreakerRecord, *, expected_version: int, transition: Transition | None) -> bool:
        with self._lock:
            current = self._records.get(name) or BreakerRecord()
            if current.version != expected_version:
                return False
            self._records[name] = replace(record)
            if transition is not None:
                log = self._transitions.setdefault(name, [])
                log.append(transition)
                del log[: -self._keep]
            return True

    def transitions(self, name: str, limit: int = 50) -> list[Transition]:
        with self._lock:
            return list(reversed(self._transitions.get(name, [])))[:limit]


def local_breaker(name: str = "valkey", config: BreakerConfig = DEFAULT_CONFIG) -> CircuitBreaker:
    return CircuitBreaker(name, config, MemoryBreakerStore())
