"""The circuit breaker's state machine, with a fake clock and an in-memory compare-and-set store."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from marquee.resilience.breaker import (
    BreakerConfig,
    BreakerOpen,
    BreakerRecord,
    BreakerState,
    BreakerStoreError,
    CircuitBreaker,
    Permit,
    Transition,
)

CONFIG = BreakerConfig(failure_threshold=3, window_ms=1000, cooldown_ms=500, success_threshold=2, probe_lease_ms=200)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


class FakeStore:
    """Implements the port: compare-and-set on ``version``, transitions written with the state."""

    def __init__(self) -> None:
        self.records: dict[str, BreakerRecord] = {}
        self.log: list[Transition] = []
        self.lock = threading.Lock()
        self.fail_reads = False

    def load(self, name: str) -> BreakerRecord:
        if self.fail_reads:
            raise BreakerStoreError("store down")
        with self.lock:
            return self.records.get(name, BreakerRecord())

    def save(self, name: str, record: BreakerRecord, *, expected_version: int, transition: Transition | None) -> bool:
        with self.lock:
            if self.records.get(name, BreakerRecord()).version != expected_version:
                return False
            self.records[name] = record
            if transition is not None:
                self.log.append(transition)
            return True

    def transitions(self, name: str, limit: int = 50) -> list[Transition]:
        return [t for t in self.log if t.breaker == name][-limit:]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def breaker(clock: FakeClock, store: FakeStore) -> CircuitBreaker:
    return CircuitBreaker("provider", CONFIG, store, clock=clock)


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.record_failure(breaker.acquire(), "boom")


def states(store: FakeStore) -> list[tuple[str, str]]:
    return [(t.from_state.value, t.to_state.value) for t in store.log]


def test_closed_breaker_lets_calls_through_and_successes_write_nothing(
    breaker: CircuitBreaker, store: FakeStore
) -> None:
    permit = breaker.acquire()
    assert permit == Permit("provider", probe=False)
    breaker.record_success(permit)
    assert store.records == {}


def test_opens_after_n_failures_within_the_window(breaker: CircuitBreaker, store: FakeStore) -> None:
    fail(breaker, 2)
    assert breaker.state().state is BreakerState.CLOSED
    fail(breaker, 1)
    assert breaker.state().state is BreakerState.OPEN
    assert states(store) == [("CLOSED", "OPEN")]
    with pytest.raises(BreakerOpen) as refused:
        breaker.acquire()
    assert refused.value.retry_after_ms == CONFIG.cooldown_ms


def test_failures_in_an_old_window_do_not_count(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, 2)
    clock.advance(CONFIG.window_ms)
    fail(breaker, 2)
    assert breaker.state().state is BreakerState.CLOSED
    assert breaker.state().failures == 2


def test_half_open_after_the_cooldown_admits_exactly_one_probe(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, 3)
    clock.advance(CONFIG.cooldown_ms - 1)
    with pytest.raises(BreakerOpen):
        breaker.acquire()
    clock.advance(1)
    probe = breaker.acquire()
    assert probe.probe and probe.token
    for _ in range(5):
        with pytest.raises(BreakerOpen) as refused:
            breaker.acquire()
        assert refused.value.state is BreakerState.HALF_OPEN


def test_m_probe_successes_close_it_one_probe_at_a_time(
    breaker: CircuitBreaker, clock: FakeClock, store: FakeStore
) -> None:
    fail(breaker, 3)
    clock.advance(CONFIG.cooldown_ms)
    first = breaker.acquire()
    breaker.record_success(first)
    assert breaker.state().state is BreakerState.HALF_OPEN  # 1 of 2
    second = breaker.acquire()  # the slot is free again: the next caller is the next probe
    assert second.probe and second.token != first.token
    breaker.record_success(second)
    assert breaker.state().state is BreakerState.CLOSED
    assert states(store) == [("CLOSED", "OPEN"), ("OPEN", "HALF_OPEN"), ("HALF_OPEN", "CLOSED")]
    assert breaker.acquire() == Permit("provider", probe=False)


def test_a_failed_probe_reopens_with_a_new_cooldown(
    breaker: CircuitBreaker, clock: FakeClock, store: FakeStore
) -> None:
    fail(breaker, 3)
    clock.advance(CONFIG.cooldown_ms)
    breaker.record_failure(breaker.acquire(), "still down")
    record = breaker.state()
    assert record.state is BreakerState.OPEN
    assert record.opened_at_ms == clock.now
    assert states(store)[-1] == ("HALF_OPEN", "OPEN")
    with pytest.raises(BreakerOpen):
        breaker.acquire()


def test_a_probe_that_never_reports_frees_the_slot_after_its_lease(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, 3)
    clock.advance(CONFIG.cooldown_ms)
    lost = breaker.acquire()
    clock.advance(CONFIG.probe_lease_ms)
    taker = breaker.acquire()
    assert taker.probe and taker.token != lost.token
    breaker.record_success(lost)  # the lost probe's late report changes nothing
    assert breaker.state().probe_owner == taker.token


def test_racing_callers_elect_exactly_one_probe(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail(breaker, 3)
    clock.advance(CONFIG.cooldown_ms)
    barrier = threading.Barrier(20)
    probes: list[Permit] = []
    refused: list[BreakerOpen] = []

    def caller() -> None:
        barrier.wait()
        try:
            probes.append(breaker.acquire())
        except BreakerOpen as exc:
            refused.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(probes) == 1 and len(refused) == 19


def test_racing_failures_open_it_once(breaker: CircuitBreaker, store: FakeStore) -> None:
    permits = [breaker.acquire() for _ in range(20)]  # 20 calls in flight while it is still closed
    barrier = threading.Barrier(20)

    def failing(permit: Permit) -> None:
        barrier.wait()
        breaker.record_failure(permit, "boom")

    threads = [threading.Thread(target=failing, args=(permit,)) for permit in permits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert breaker.state().state is BreakerState.OPEN
    assert states(store) == [("CLOSED", "OPEN")]


def test_late_failures_while_open_change_nothing(breaker: CircuitBreaker, store: FakeStore) -> None:
    permits = [breaker.acquire() for _ in range(5)]  # all admitted while closed
    for permit in permits:
        breaker.record_failure(permit, "boom")
    assert states(store) == [("CLOSED", "OPEN")]
    assert breaker.state().failures == 3


def test_an_unreadable_store_lets_calls_through(breaker: CircuitBreaker, store: FakeStore) -> None:
    fail(breaker, 3)
    store.fail_reads = True
    assert breaker.acquire() == Permit("provider", probe=False)
    breaker.record_failure(Permit("provider", probe=False), "boom")  # not recorded, not raised


def test_config_rejects_non_positive_values() -> None:
    with pytest.raises(ValueError, match="cooldown_ms"):
        replace(CONFIG, cooldown_ms=0)
