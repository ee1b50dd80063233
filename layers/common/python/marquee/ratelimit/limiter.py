"""``RateLimiter``: one decision per request, in Valkey, with a per-instance pre-limiter and a fail-open path.

- **Valkey first.** ``ValkeyGcra.decide``: one script call, the fleet's one answer.
- **Pre-limiter (hot keys).** A refusal says when the key is next allowed (``retry_after``). The TAT it rests on can
  only grow, so until then Valkey would refuse that key again whatever any instance does: this instance remembers the
  refusal and answers the key's next requests itself, without a round trip. That is exact, never looser (the local
  deadline starts when the reply arrives, after Valkey decided); it only saves work, and a flooding client's flood is
  where the work is (bench/ratelimit.py: round trips per 1,000 decisions of a hot key, with and without).
- **Fail open, and say so.** A Valkey error (or the breaker open after three) makes the decision in this process's
  memory (``MemoryGcra``, the same arithmetic on the same limit): each instance then enforces the limit alone, so a
  fleet of N instances admits up to N times it. Each switch to and from local decisions is logged (a WARNING
  ``rate limiter failing open`` and an INFO when Valkey answers again). Rate limiting must never become the outage.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from valkey.exceptions import ValkeyError

from marquee.cache.breaker import local_breaker
from marquee.core.logs import Logger
from marquee.ratelimit.gcra import MICROS, Decision, Limit
from marquee.ratelimit.stores import MemoryGcra, ValkeyGcra
from marquee.resilience.breaker import BreakerOpen, CircuitBreaker

logger = Logger(child=True)  # masked: logs through the function's Logger (marquee.core.logs)


def _now_us() -> int:
    return time.time_ns() // 1000


class RateLimiter:
    def __init__(
        self,
        valkey: ValkeyGcra | None,
        *,
        breaker: CircuitBreaker | None = None,
        local: MemoryGcra | None = None,
        prelimit: bool = True,
        prelimit_keys: int = 10_000,
        clock_us: Callable[[], int] = _now_us,
    ) -> None:
        self.valkey = valkey
        self.breaker = breaker or local_breaker("ratelimit-valkey")
        self.local = local or MemoryGcra()
        self.prelimit = prelimit
        self.clock_us = clock_us
        self._refused: OrderedDict[str, tuple[float, Decision]] = OrderedDict()  # key -> (monotonic deadline, refusal)
        self._refused_max = prelimit_keys
        self._lock = threading.Lock()
        self._failing_open = False
        self.round_trips = 0

    def decide(self, key: str, limit: Limit, quantity: int = 1) -> Decision:
        remembered = self._remembered_refusal(key)
        if remembered is not None:
            return remembered
        if self.valkey is None:
            return self.local.decide(key, limit, quantity, now_us=self.clock_us())
        try:
            permit = self.breaker.acquire()
        except BreakerOpen:
            return self._fail_open(key, limit, quantity, "breaker open")
        try:
            self.round_trips += 1
            decision = self.valkey.decide(key, limit, quantity)
        except ValkeyError as exc:
            self.breaker.record_failure(permit, type(exc).__name__)
            return self._fail_open(key, limit, quantity, type(exc).__name__)
        self.breaker.record_success(permit)
        if self._failing_open:
            self._failing_open = False
            logger.info("rate limiter: Valkey answers again; decisions are the fleet's again")
        if not decision.allowed and decision.retry_after_us > 0:
            self._remember(key, decision)
        return decision

    # ---- pre-limiter -------------------------------------------------------------------------------------------------
    def _remember(self, key: str, decision: Decision) -> None:
        if not self.prelimit:
            return
        with self._lock:
            self._refused[key] = (time.monotonic() + decision.retry_after_us / MICROS, decision)
            self._refused.move_to_end(key)
            while len(self._refused) > self._refused_max:
                self._refused.popitem(last=False)

    def _remembered_refusal(self, key: str) -> Decision | None:
        if not self.prelimit:
            return None
        with self._lock:
            entry = self._refused.get(key)
            if entry is None:
                return None
            deadline, refusal = entry
            left = deadline - time.monotonic()
            if left <= 0:
                del self._refused[key]
                return None
        retry_us = max(1, int(left * MICROS))
        return Decision(
            False,
            refusal.limit,
            0,
            retry_us,
            max(retry_us, refusal.reset_after_us - (refusal.retry_after_us - retry_us)),
            self.clock_us(),
            "prelimit",
        )

    # ---- failing open --------------------------------------------------------------------------------------------------
    def _fail_open(self, key: str, limit: Limit, quantity: int, reason: str) -> Decision:
        if not self._failing_open:
            self._failing_open = True
            logger.warning(
                "rate limiter failing open: Valkey is unreachable (%s); this instance decides alone until it answers",
                reason,
            )
        return self.local.decide(key, limit, quantity, now_us=self.clock_us())
