"""Cache-aside on Valkey that does not stampede the origin (challenge 7).

``CacheAside.get(key, load)`` returns the cached value of ``key``, or calls ``load()`` (the origin) to fill it. What
makes it safe under load, each part in its own method and tested on its own (tests/integration/test_cache_aside.py):

- **Single flight across instances.** On a miss, a caller takes the value's lease (``SET lock token NX PX lease``).
  The winner loads and publishes (one Lua call writes the value and frees the lease if it still owns it). Everyone
  else polls for the value with jittered exponential backoff (2 ms doubling to 50 ms) and is served the winner's
  result. If the winner dies, its lease expires and the next poller that finds neither value nor lease takes over.
- **Stale-while-revalidate.** An entry is fresh for ``ttl`` and kept ``stale_ttl`` longer. A stale read is served at
  once; the one caller that wins the lease recomputes (inline: a Lambda may be frozen after it answers, so no
  background threads) and everyone else keeps getting the stale value meanwhile.
- **XFetch** (marquee.cache.xfetch): a fresh read recomputes early with probability ``exp(-(expiry - now) / (delta *
  beta))``, where ``delta`` is how long the value took to compute (stored with it). Only the lease winner recomputes.
- **Generations** (marquee.cache.keys): data keys carry the entity's generation, read with the value in one Lua call;
  ``invalidate`` bumps it. A load that began before a change publishes under the old generation, where nobody looks.
- **Negative caching**: ``load()`` returning None caches "not found" for ``negative_ttl``. **Jittered TTLs**: every TTL
  is spread by ``±jitter`` so that entries written together do not expire together.
- **Valkey down.** Cache errors (connection refused, timeouts, a failing script) are failures of an in-process circuit
  breaker (marquee.cache.breaker). While it is open, or when a call fails, the origin is read directly, but through a
  semaphore of ``origin_concurrency`` slots: however many threads arrive, the origin never sees more than that many at
  once. A caller that waits longer than ``bypass_wait_s`` for a slot gets ``OriginBusy``.
"""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from valkey.exceptions import ValkeyError

from marquee.cache.breaker import local_breaker
from marquee.cache.keys import CacheKey
from marquee.cache.xfetch import should_recompute
from marquee.resilience.breaker import BreakerOpen, CircuitBreaker

T = TypeVar("T")

# KEYS[1] the generation counter. ARGV[1] the slot prefix, ARGV[2] the item. Returns {generation, value or false}.
# The data key is built here from the generation just read; it shares KEYS[1]'s hash tag, so the same cluster slot.
READ = """
local gen = tonumber(redis.call('GET', KEYS[1]) or '0')
return {gen, redis.call('GET', ARGV[1] .. ':g' .. gen .. ':' .. ARGV[2])}
"""
# KEYS[1] the value, KEYS[2] its lease. ARGV: a token, the lease in ms, the entry the caller saw ('' for none).
# Double-checked: if the value changed since the caller looked (someone published), it gets that value, not the lease.
ACQUIRE = """
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[3] then return {'value', v} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'lease'} end
return {'busy'}
"""
# KEYS[1] the value, KEYS[2] its lease. ARGV: the entry, its TTL in ms, the winner's token.
PUBLISH = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
"""
# KEYS[1] a lease, ARGV[1] the token: delete it only if it is still ours.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class OriginBusy(RuntimeError):
    """Valkey is unavailable and every origin slot stayed taken for ``bypass_wait_s``."""


@dataclass(frozen=True)
class CachePolicy:
    ttl_s: float = 60.0  # fresh for this long
    stale_ttl_s: float = 0.0  # then served stale this long while one caller refreshes
    negative_ttl_s: float = 5.0  # "not found" cached this long
    jitter: float = 0.1  # every TTL times a factor in [1 - jitter, 1 + jitter]
    xfetch_beta: float = 1.0  # 0: no early recomputation
    lease_ms: int = 5_000  # a loader that dies frees the value after this
    wait_timeout_s: float = 10.0  # a waiter gives up on the winner after this and reads the origin (capped)
    poll_initial_s: float = 0.002
    poll_max_s: float = 0.05
    origin_concurrency: int = 4  # origin reads at once per instance while Valkey is unavailable
    bypass_wait_s: float = 5.0

    def __post_init__(self) -> None:
        if self.ttl_s <= 0 or self.lease_ms <= 0 or self.origin_concurrency <= 0:
            raise ValueError("CachePolicy: ttl_s, lease_ms and origin_concurrency must be positive")
        if not 0 <= self.jitter < 1:
            raise ValueError("CachePolicy.jitter must be in [0, 1)")


@dataclass(frozen=True)
class Entry:
    value: Any
    delta: float  # seconds the origin took to compute it
    fresh_until: float  # epoch seconds
    negative: bool = False

    def encode(self) -> str:
        return json.dumps({"v": self.value, "d": self.delta, "f": self.fresh_until, "n": self.negative})

    @classmethod
    def decode(cls, raw: bytes | str) -> Entry:
        data = json.loads(raw)
        return cls(data["v"], float(data["d"]), float(data["f"]), bool(data["n"]))


class _Unpublished(Exception):
    """The origin was read but the value could not be written: return it all the same."""

    def __init__(self, value: Any) -> None:
        super().__init__("loaded, but the cache write failed")
        self.value = value


class CacheAside:
    """Cache-aside reads of JSON values (dicts, lists, strings, numbers) on one Valkey keyspace. Thread-safe."""

    def __init__(
        self,
        client: Any,  # valkey.Valkey, or valkey.cluster.ValkeyCluster on ElastiCache Serverless
        *,
        namespace: str = "mq",
        policy: CachePolicy | None = None,
        breaker: CircuitBreaker | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.policy = policy or CachePolicy()
        self.breaker = breaker or local_breaker()
        self.clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter and XFetch draws, not secrets
        self._rng_lock = threading.Lock()
        self._origin_slots = threading.BoundedSemaphore(self.policy.origin_concurrency)
        self._read_script = client.register_script(READ)
        self._acquire_script = client.register_script(ACQUIRE)
        self._publish_script = client.register_script(PUBLISH)
        self._release_script = client.register_script(RELEASE)
        self.stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()

    # ---- the two calls -----------------------------------------------------------------------------------------------
    def get(self, key: CacheKey, load: Callable[[], T | None]) -> T | None:
        """The value of ``key``: cached, or loaded once (across every instance) and cached."""
        try:
            permit = self.breaker.acquire()
        except BreakerOpen:
            self._count("breaker_open")
            return self._bypass(load)
        try:
            value: T | None = self._cached(key, load)
        except _Unpublished as exc:
            self.breaker.record_failure(permit, f"publish: {type(exc.__cause__).__name__}")
            return exc.value  # type: ignore[no-any-return]
        except ValkeyError as exc:
            self.breaker.record_failure(permit, type(exc).__name__)
            self._count("cache_error")
            return self._bypass(load)
        self.breaker.record_success(permit)
        return value

    def invalidate(self, key: CacheKey) -> int:
        """Make every cached value of ``key``'s entity unreachable (all its items); returns the new generation.

        Raises ValkeyError when Valkey is unreachable: the caller decides (an entry lives at most ttl + stale_ttl)."""
        return int(self.client.incr(key.generation_key(self.namespace)))

    # ---- the cache path ----------------------------------------------------------------------------------------------
    def _cached(self, key: CacheKey, load: Callable[[], T | None]) -> T | None:
        generation, raw = self._read_script(
            keys=[key.generation_key(self.namespace)], args=[key.slot(self.namespace), key.item]
        )
        data_key = key.data_key(self.namespace, int(generation))
        if raw is None:
            self._count("miss")
            return self._single_flight(data_key, load)
        entry = Entry.decode(raw)
        now = self.clock()
        if now < entry.fresh_until:
            if not entry.negative and self._early(now, entry):
                outcome, newer, token = self._acquire(data_key, raw)
                if token is not None:
                    self._count("early_recompute")
                    return self._load_and_publish(data_key, token, load)
                if newer is not None:  # recomputed by someone else since we read
                    entry = Entry.decode(newer)
            self._count("negative_hit" if entry.negative else "hit")
            return entry.value  # type: ignore[no-any-return]
        outcome, newer, token = self._acquire(data_key, raw)  # stale: one caller refreshes, the rest get it stale
        if token is not None:
            self._count("stale_refresh")
            return self._load_and_publish(data_key, token, load)
        self._count("stale_hit")
        return (entry if newer is None else Entry.decode(newer)).value  # type: ignore[no-any-return]

    def _early(self, now: float, entry: Entry) -> bool:
        if self.policy.xfetch_beta <= 0:
            return False
        with self._rng_lock:
            return should_recompute(now, entry.delta, entry.fresh_until, self.policy.xfetch_beta, self._rng.random)

    def _single_flight(self, data_key: str, load: Callable[[], T | None]) -> T | None:
        lease_key = CacheKey.lock_key(data_key)
        deadline = time.monotonic() + self.policy.wait_timeout_s
        while True:
            _, published, token = self._acquire(data_key, None)
            if token is not None:
                return self._load_and_publish(data_key, token, load)
            if published is not None:  # the winner published between our read and our try
                self._count("coalesced")
                return Entry.decode(published).value  # type: ignore[no-any-return]
            delay = self.policy.poll_initial_s
            while True:  # someone else loads: wait for their value, or for their lease to go
                if time.monotonic() >= deadline:
                    self._count("wait_timeout")
                    return self._bypass(load)
                time.sleep(delay * (0.5 + self._random() / 2))
                delay = min(delay * 2, self.policy.poll_max_s)
                raw, lease = self.client.mget([data_key, lease_key])
                if raw is not None:
                    self._count("coalesced")
                    return Entry.decode(raw).value  # type: ignore[no-any-return]
                if lease is None:
                    self._count("lease_gone")  # the winner died (lease expired) or its load failed: try again
                    break

    def _acquire(self, data_key: str, seen: bytes | None) -> tuple[str, bytes | None, str | None]:
        """("lease", None, token) if this caller won the lease; ("value", newer, None) if a value other than the one it
        saw is there now; ("busy", None, None) if someone else holds the lease."""
        token = secrets.token_hex(8)
        reply = self._acquire_script(
            keys=[data_key, CacheKey.lock_key(data_key)], args=[token, self.policy.lease_ms, seen or b""]
        )
        outcome = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
        if outcome == "lease":
            return outcome, None, token
        return outcome, (reply[1] if outcome == "value" else None), None

    def _load_and_publish(self, data_key: str, token: str, load: Callable[[], T | None]) -> T | None:
        started = self.clock()  # delta on the same clock as the expiry it is compared with (a fake one in tests)
        try:
            value = load()
        except BaseException:
            try:
                self._release_script(keys=[CacheKey.lock_key(data_key)], args=[token])
            except ValkeyError:
                pass  # the lease expires by itself
            raise
        self._count("origin_load")
        delta = max(0.0, self.clock() - started)
        if value is None:
            ttl = self._jittered(self.policy.negative_ttl_s)
            entry, keep_s = Entry(None, delta, self.clock() + ttl, negative=True), ttl
        else:
            ttl = self._jittered(self.policy.ttl_s)
            entry, keep_s = Entry(value, delta, self.clock() + ttl), ttl + self.policy.stale_ttl_s
        try:
            self._publish_script(
                keys=[data_key, CacheKey.lock_key(data_key)],
                args=[entry.encode(), max(1, int(keep_s * 1000)), token],
            )
        except ValkeyError as exc:
            raise _Unpublished(value) from exc
        return value

    # ---- Valkey unavailable ------------------------------------------------------------------------------------------
    def _bypass(self, load: Callable[[], T | None]) -> T | None:
        """The origin, directly, never more than ``origin_concurrency`` calls at once from this instance."""
        if not self._origin_slots.acquire(timeout=self.policy.bypass_wait_s):
            self._count("origin_busy")
            raise OriginBusy(f"Valkey is unavailable and all {self.policy.origin_concurrency} origin slots are busy")
        try:
            self._count("bypass_load")
            return load()
        finally:
            self._origin_slots.release()

    # ---- helpers -----------------------------------------------------------------------------------------------------
    def _jittered(self, ttl: float) -> float:
        return ttl * (1 + self.policy.jitter * (2 * self._random() - 1))

    def _random(self) -> float:
        with self._rng_lock:
            return self._rng.random()

    def _count(self, name: str) -> None:
        with self._stats_lock:
            self.stats[name] += 1
