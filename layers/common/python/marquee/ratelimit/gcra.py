"""GCRA (the generic cell rate algorithm), the one decision both stores make: in Valkey (``valkey_store.SCRIPT``, one
Lua call) and in this process (``MemoryGcra``, the fail-open path). Same arithmetic, same integers (microseconds).

A limit is ``count`` requests per ``period_s`` with a burst of ``burst`` extra requests, as redis-cell's
``CL.THROTTLE key max_burst count period`` (its README and test table are reproduced by tests/unit/test_ratelimit.py):
- the emission interval ``T = period / count`` is the spacing of requests at exactly the rate (rounded UP to the
  microsecond, so rounding can only refuse, never admit, a request too many);
- the delay variation tolerance ``tau = T * (burst + 1)`` is how far ahead of schedule a client may run;
- the only state is the key's TAT (theoretical arrival time). A request of ``quantity`` is allowed when
  ``max(TAT, now) + T * quantity - tau <= now``; then ``TAT = max(TAT, now) + T * quantity``. Nothing else is stored
  and nothing drips in the background.
"""

from __future__ import annotations

from dataclasses import dataclass

MICROS = 1_000_000


@dataclass(frozen=True)
class Limit:
    count: int  # requests ...
    period_s: int  # ... per this many seconds, sustained
    burst: int  # extra requests a client may make at once (redis-cell's max_burst)

    def __post_init__(self) -> None:
        if self.count <= 0 or self.period_s <= 0 or self.burst < 0:
            raise ValueError("Limit: count and period_s must be positive, burst non-negative")

    @property
    def emission_interval_us(self) -> int:
        return -(-self.period_s * MICROS // self.count)  # ceiling division

    @property
    def tolerance_us(self) -> int:
        return self.emission_interval_us * (self.burst + 1)

    @property
    def capacity(self) -> int:
        """Requests a fresh client can make at once (redis-cell's ``limit``: max_burst + 1)."""
        return self.burst + 1


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int  # capacity (burst + 1)
    remaining: int
    retry_after_us: int  # -1 when allowed (or when the request can never fit)
    reset_after_us: int  # until the client is back to full capacity
    now_us: int  # the clock the decision was made on (Valkey's TIME, or this process's)
    source: str = "valkey"  # "valkey", "local" (failing open), "prelimit" (a refusal remembered by this instance)


def decide(stored_tat_us: int | None, now_us: int, limit: Limit, quantity: int = 1) -> tuple[Decision, int | None]:
    """The decision, and the TAT to store (None: store nothing). Mirrors ``valkey_store.SCRIPT`` line for line."""
    period = limit.emission_interval_us
    tolerance = limit.tolerance_us
    tat = now_us if stored_tat_us is None else stored_tat_us
    increment = period * quantity
    new_tat = max(tat, now_us) + increment
    diff = now_us - (new_tat - tolerance)
    if diff < 0:
        retry_after = -diff if increment <= tolerance else -1
        ttl = max(0, tat - now_us)
        store = None
        allowed = False
    else:
        retry_after = -1
        ttl = new_tat - now_us
        store = new_tat if ttl > 0 else None
        allowed = True
    spare = tolerance - ttl
    remaining = spare // period if spare > 0 else 0
    return Decision(allowed, limit.capacity, remaining, retry_after, ttl, now_us), store
