"""Where a GCRA decision is made: in Valkey (the fleet's one answer) or in this process (failing open).

``ValkeyGcra.decide`` is ONE round trip: a Lua script reads the key's TAT, decides, writes the new TAT with its expiry
and returns the decision. Valkey runs a script atomically, so concurrent callers on any number of instances are
serialised per key: none can read a TAT another is about to replace (0 over-admission, tests/integration/
test_ratelimit.py). The clock is Valkey's own (``TIME``), so instances with skewed clocks agree; tests may pass ``now``.

Each key is one TAT (a number of microseconds) with a TTL equal to the time until it no longer matters, so idle
clients cost nothing. A script touches one key only, so it is valid on a cluster (ElastiCache Serverless is one).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from marquee.ratelimit.gcra import Decision, Limit, decide

# KEYS[1] the TAT. ARGV: emission interval (us), tolerance (us), quantity, now (us; '' = Valkey's TIME).
# Returns {allowed 1|0, limit, remaining, retry_after_us, reset_after_us, now_us}. Numbers are written with %.0f:
# tostring() of a Lua number keeps 14 significant digits, fewer than a microsecond timestamp has.
SCRIPT = """
local now
if ARGV[4] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[4])
end
local period = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local increment = period * tonumber(ARGV[3])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then tat = tonumber(stored) end
local new_tat = math.max(tat, now) + increment
local diff = now - (new_tat - tolerance)
local allowed, retry, ttl = 1, -1, 0
if diff < 0 then
  allowed = 0
  if increment <= tolerance then retry = -diff end
  ttl = math.max(0, tat - now)
else
  ttl = new_tat - now
  if ttl > 0 then
    redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil(ttl / 1000))
  end
end
local spare = tolerance - ttl
local remaining = 0
if spare > 0 then remaining = math.floor(spare / period) end
return {allowed, tolerance / period, remaining, retry, ttl, string.format('%.0f', now)}
"""


class ValkeyGcra:
    """GCRA decisions in Valkey, one script call each. Raises ``valkey.exceptions.ValkeyError`` when unreachable."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._script = client.register_script(SCRIPT)

    def decide(self, key: str, limit: Limit, quantity: int = 1, *, now_us: int | None = None) -> Decision:
        reply = self._script(
            keys=[key],
            args=[limit.emission_interval_us, limit.tolerance_us, quantity, "" if now_us is None else now_us],
        )
        allowed, _, remaining, retry, reset, now = (int(x) for x in reply)
        return Decision(bool(allowed), limit.capacity, remaining, retry, reset, now, "valkey")


class MemoryGcra:
    """The same decisions on this instance's memory (bounded: the least recently used keys are dropped first)."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self._tats: OrderedDict[str, tuple[int, int]] = OrderedDict()  # key -> (TAT, expires at)
        self._max_keys = max_keys
        self._lock = threading.Lock()

    def decide(self, key: str, limit: Limit, quantity: int = 1, *, now_us: int) -> Decision:
        with self._lock:
            stored = self._tats.get(key)
            tat = stored[0] if stored is not None and stored[1] > now_us else None
            decision, new_tat = decide(tat, now_us, limit, quantity)
            if new_tat is not None:
                self._tats[key] = (new_tat, new_tat)
                self._tats.move_to_end(key)
                while len(self._tats) > self._max_keys:
                    self._tats.popitem(last=False)
        return Decision(
            decision.allowed,
            decision.limit,
            decision.remaining,
            decision.retry_after_us,
            decision.reset_after_us,
            now_us,
            "local",
        )
