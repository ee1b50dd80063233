"""Fan-out with a deadline and a breaker per backend (challenge 17, docs/patterns/17-api-aggregator.md).

``FanOut.gather(sections)`` starts every section at once, each on a thread of the fan-out's own pool, and waits for
each one only until ITS OWN deadline (its start + ``timeout_ms``): the answer is ready when the slowest healthy
section is, and a hung backend costs its timeout, never more.

The pool's daemon threads outlive a request (started with the FanOut, more only when every one is busy, up to
``POOL_LIMIT``). A thread started per section cost the fan-out its start: ``Thread.start()`` waits for the new thread
to run, and the caller then waits for the GIL while that thread prepares its request (up to the 5 ms switch
interval), once per section, in sequence, so the last section began milliseconds late (fan-out / slowest section:
p50 1.18-1.31 in-process, 1.26 on the deployed stack). Handing a section to an idle thread is a queue put
(p50 1.008 in-process; docs/benchmarks.md). Each section has a circuit breaker (marquee.resilience.breaker's state
machine, in this process's memory, as the cache's: whether this instance gets answers is a fact about this instance,
and asking DynamoDB per section would cost more than the section). While a breaker is open, its section is not called
at all and is degraded at once; a timeout, an error or a throttle is a failure for the breaker; a domain answer
(``BackendRefused``, e.g. 404) is not.

A section still running at its deadline is abandoned: its thread is free again when its client's own timeout (the
same value) fires. Nothing waits for it. Should every thread be busy with abandoned sections, a new section waits in
the queue, on its own clock: it times out like a hung one.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from marquee.aggregation.internal import BackendRefused
from marquee.cache.breaker import MemoryBreakerStore
from marquee.resilience.breaker import BreakerConfig, BreakerOpen, CircuitBreaker

# Three failures in 10 s open a section's breaker for 5 s; one probe then decides.
SECTION_BREAKER = BreakerConfig(
    failure_threshold=3, window_ms=10_000, cooldown_ms=5_000, success_threshold=1, probe_lease_ms=3_000
)


class SectionStatus(StrEnum):
    OK = "ok"
    REFUSED = "refused"  # the backend answered with a domain error (not found, forbidden): it works
    FAILED = "failed"
    TIMEOUT = "timeout"
    OPEN = "breaker-open"


DEGRADED = frozenset({SectionStatus.FAILED, SectionStatus.TIMEOUT, SectionStatus.OPEN})


@dataclass(frozen=True)
class Section:
    name: str
    load: Callable[[], Any]  # returns the section's value; raises on failure
    timeout_ms: int


@dataclass(frozen=True)
class Outcome:
    name: str
    status: SectionStatus
    value: Any
    duration_ms: float
    error: str | None = None
    refused: BackendRefused | None = None

    @property
    def degraded(self) -> bool:
        return self.status in DEGRADED


POOL_START = 4  # the overview's four sections
POOL_LIMIT = 32  # a Lambda instance serves one request at a time: 4 sections, plus abandoned ones until their timeouts


class _Call:
    """One section's run: its clock starts when it is handed to the pool."""

    def __init__(self, section: Section, clock: Callable[[], float]) -> None:
        self.section, self.clock = section, clock
        self.started_at = clock()
        self.finished_at: float | None = None
        self.value: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self.value = self.section.load()
        except BaseException as exc:  # noqa: BLE001 - any failure of a section is that section's outcome
            self.error = exc
        finally:
            self.finished_at = self.clock()
            self.done.set()


class _Pool:
    """Daemon threads taking calls from one queue; a new thread only when none is idle (as ThreadPoolExecutor, whose
    threads are not daemons: an abandoned hung section would hold up the process's exit). The semaphore counts the
    threads waiting for a call."""

    def __init__(self, *, start: int, limit: int) -> None:
        self._calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._threads = 0
        self.limit = limit
        for _ in range(min(start, limit)):
            self._add_thread(idle=True)

    @property
    def threads(self) -> int:
        return self._threads

    def submit(self, call: _Call) -> None:
        if not self._idle.acquire(blocking=False):
            self._add_thread(idle=False)  # this call is the new thread's first (or queues if at the limit)
        self._calls.put(call)

    def _add_thread(self, *, idle: bool) -> None:
        with self._lock:
            if self._threads >= self.limit:
                return
            self._threads += 1
            name = f"fanout-{self._threads}"
        threading.Thread(target=self._work, args=(idle,), name=name, daemon=True).start()

    def _work(self, idle: bool) -> None:
        if idle:
            self._idle.release()
        while True:
            self._calls.get().run()
            self._idle.release()


class FanOut:
    """Thread-safe; one per process (the breakers live as long as it does)."""

    def __init__(
        self,
        *,
        config: BreakerConfig = SECTION_BREAKER,
        clock: Callable[[], float] = time.monotonic,
        pool_start: int = POOL_START,
        pool_limit: int = POOL_LIMIT,
    ) -> None:
        self.config = config
        self.clock = clock
        self.pool = _Pool(start=pool_start, limit=pool_limit)
        self._store = MemoryBreakerStore()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def breaker(self, name: str) -> CircuitBreaker:
        with self._lock:
            if name not in self._breakers:
                self._breakers[name] = CircuitBreaker(f"section:{name}", self.config, self._store)
            return self._breakers[name]

    def gather(self, sections: Iterable[Section]) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        running = []
        for section in sections:
            breaker = self.breaker(section.name)
            try:
                permit = breaker.acquire()
            except BreakerOpen as exc:
                outcomes[section.name] = Outcome(section.name, SectionStatus.OPEN, None, 0.0, f"breaker open: {exc}")
                continue
            call = _Call(section, self.clock)
            self.pool.submit(call)
            running.append((call, breaker, permit))
        for call, breaker, permit in running:
            section = call.section
            call.done.wait(timeout=max(call.started_at + section.timeout_ms / 1000.0 - self.clock(), 0.0))
            if not call.done.is_set() or call.finished_at is None:
                elapsed = (self.clock() - call.started_at) * 1000.0
                breaker.record_failure(permit, f"timed out after {section.timeout_ms} ms")
                outcomes[section.name] = Outcome(
                    section.name, SectionStatus.TIMEOUT, None, elapsed, f"timed out after {section.timeout_ms} ms"
                )
                continue
            elapsed = (call.finished_at - call.started_at) * 1000.0
            if isinstance(call.error, BackendRefused):
                breaker.record_success(permit)
                outcomes[section.name] = Outcome(
                    section.name, SectionStatus.REFUSED, None, elapsed, call.error.slug, call.error
                )
            elif call.error is not None:
                breaker.record_failure(permit, type(call.error).__name__)
                outcomes[section.name] = Outcome(
                    section.name, SectionStatus.FAILED, None, elapsed, f"{type(call.error).__name__}: {call.error}"
                )
            else:
                breaker.record_success(permit)
                outcomes[section.name] = Outcome(section.name, SectionStatus.OK, call.value, elapsed)
        return outcomes
