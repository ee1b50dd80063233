"""Code that runs in the test's child processes (spawned, so it is imported by name): the 'other instances'."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import valkey

from marquee.cache import CacheAside, CacheKey, CachePolicy

KEY = CacheKey("tenant-1", "catalog", "page=1")


def counted_origin(port: int, counter: str, value: Any, seconds: float) -> Any:
    """The origin: counts each load in Valkey itself (db 1, apart from the cache's keys), so every process's loads add
    up in one place; then takes ``seconds`` to answer."""
    valkey.Valkey(port=port, db=1).incr(counter)
    time.sleep(seconds)
    return value


def cold_requests(port: int, threads: int, barrier: Any, results: Any, counter: str) -> None:
    """One instance: ``threads`` concurrent requests for the same cold key, released together with the other
    processes by ``barrier``. Puts the values it was served on ``results``."""
    cache = CacheAside(valkey.Valkey(port=port, max_connections=threads + 8), policy=CachePolicy(lease_ms=10_000))
    served: list[Any] = []
    lock = threading.Lock()
    ready = threading.Barrier(threads + 1)

    def request() -> None:
        ready.wait()
        value = cache.get(KEY, lambda: counted_origin(port, counter, {"page": 1, "by": os.getpid()}, 0.3))
        with lock:
            served.append(value)

    workers = [threading.Thread(target=request) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()  # every process has its threads up
    ready.wait()
    for worker in workers:
        worker.join()
    results.put(served)


def die_while_loading(port: int, lease_ms: int, holding: Any) -> None:
    """A winner that takes the lease, starts loading, and is SIGKILLed: no publish, no release."""
    cache = CacheAside(valkey.Valkey(port=port), policy=CachePolicy(lease_ms=lease_ms))

    def load() -> Any:
        holding.set()
        time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGKILL)
        return None

    cache.get(KEY, load)
