"""marquee.aggregation without a network: the fan-out's deadlines and breakers, and the internal entry points' protocol."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from marquee.aggregation import BackendRefused, Caller, FanOut, InternalRouter, Section, SectionStatus
from marquee.booking.errors import NotFound
from marquee.tenancy.tenant import TenantContext

CALLER = TenantContext(tenant_id="t1", user_id="u1", groups=frozenset({"customer"}))


def sleeper(seconds: float, value: Any = "ok") -> Any:
    def load() -> Any:
        time.sleep(seconds)
        return value

    return load


def failing() -> Any:
    raise ConnectionError("backend down")


def test_sections_run_at_once_so_the_answer_waits_for_the_slowest_only() -> None:
    started = time.monotonic()
    outcomes = FanOut().gather([Section(n, sleeper(0.2, n), 1000) for n in ("a", "b", "c", "d")])
    elapsed = time.monotonic() - started
    assert {o.status for o in outcomes.values()} == {SectionStatus.OK}
    assert [outcomes[n].value for n in "abcd"] == list("abcd")
    assert elapsed < 0.2 * 1.5, f"4 x 200 ms sections took {elapsed:.3f} s"


def test_a_hung_section_costs_its_own_timeout_and_nothing_more() -> None:
    release = threading.Event()
    started = time.monotonic()
    outcomes = FanOut().gather([Section("hung", lambda: release.wait(10), 300), Section("quick", sleeper(0.01), 1000)])
    elapsed = time.monotonic() - started
    release.set()
    assert outcomes["hung"].status is SectionStatus.TIMEOUT and outcomes["hung"].degraded
    assert outcomes["hung"].error == "timed out after 300 ms"
    assert outcomes["quick"].status is SectionStatus.OK
    assert 0.3 <= elapsed < 0.45


def test_sections_run_on_the_pools_threads_which_outlive_the_request() -> None:
    fan_out = FanOut()
    names: set[str] = set()

    def where() -> str:
        names.add(threading.current_thread().name)
        return "ok"

    for _ in range(20):
        outcomes = fan_out.gather([Section(n, where, 1000) for n in ("a", "b", "c", "d")])
        assert {o.status for o in outcomes.values()} == {SectionStatus.OK}
    assert fan_out.pool.threads == 4  # started with the FanOut; no thread started per section
    assert names and all(name.startswith("fanout-") for name in names)
    assert all(thread.daemon for thread in threading.enumerate() if thread.name in names)


def test_with_every_thread_held_by_hung_sections_a_new_section_times_out_on_its_own_clock() -> None:
    fan_out = FanOut(pool_start=2, pool_limit=2)
    release = threading.Event()
    hung = fan_out.gather([Section(n, lambda: release.wait(10), 100) for n in ("h1", "h2")])
    assert {o.status for o in hung.values()} == {SectionStatus.TIMEOUT}
    queued = fan_out.gather([Section("next", sleeper(0, "late"), 100)])["next"]
    assert queued.status is SectionStatus.TIMEOUT  # waited in the queue: degraded, never a hang
    release.set()
    for _ in range(50):  # the freed threads take the queued call, then new ones
        answer = fan_out.gather([Section("next", sleeper(0, "now"), 1000)])["next"]
        if answer.status is SectionStatus.OK:
            break
    assert answer.value == "now"
    assert fan_out.pool.threads == 2


def test_a_failing_section_is_degraded_and_the_others_answer() -> None:
    outcomes = FanOut().gather([Section("down", failing, 500), Section("up", sleeper(0), 500)])
    assert outcomes["down"].status is SectionStatus.FAILED and "ConnectionError" in str(outcomes["down"].error)
    assert outcomes["up"].status is SectionStatus.OK and not outcomes["up"].degraded


def test_three_failures_open_the_sections_breaker_and_it_is_then_not_called() -> None:
    fan_out = FanOut()
    calls = []

    def counted() -> Any:
        calls.append(1)
        raise ConnectionError("down")

    for _ in range(3):
        assert fan_out.gather([Section("reco", counted, 500)])["reco"].status is SectionStatus.FAILED
    outcome = fan_out.gather([Section("reco", counted, 500)])["reco"]
    assert outcome.status is SectionStatus.OPEN and outcome.degraded
    assert len(calls) == 3
    # Another section's breaker is its own.
    assert fan_out.gather([Section("orders", sleeper(0), 500)])["orders"].status is SectionStatus.OK


def test_a_domain_refusal_is_an_answer_not_a_failure() -> None:
    fan_out = FanOut()

    def not_found() -> Any:
        raise BackendRefused(404, "not-found", "No showtime s1.")

    for _ in range(5):
        outcome = fan_out.gather([Section("catalog", not_found, 500)])["catalog"]
        assert outcome.status is SectionStatus.REFUSED and not outcome.degraded
        assert outcome.refused is not None and outcome.refused.status == 404


# ---- internal entry points ------------------------------------------------------------------------------------------
router = InternalRouter()


@router.op("echo")
def _echo(tenant: TenantContext, params: Any) -> dict[str, Any]:
    return {"tenant": tenant.tenant_id, "user": tenant.user_id, "params": dict(params)}


@router.op("missing")
def _missing(tenant: TenantContext, params: Any) -> dict[str, Any]:
    raise NotFound("No showtime s9.")


def request(op: str, **extra: Any) -> dict[str, Any]:
    return {
        "marqueeInternal": {"op": op, "v": 1},
        "caller": Caller.of(CALLER).model_dump(by_alias=True),
        "params": {"showtimeId": "s1"},
        "requestId": "req-1",
        **extra,
    }


def test_an_internal_request_reaches_its_operation_as_the_caller() -> None:
    assert router.owns(request("echo"))
    assert router.resolve(request("echo")) == {
        "ok": True,
        "value": {"tenant": "t1", "user": "u1", "params": {"showtimeId": "s1"}},
    }


def test_api_gateway_events_are_not_internal() -> None:
    assert not router.owns({"httpMethod": "GET", "path": "/x", "requestContext": {}})
    assert not router.owns([1, 2])


@pytest.mark.parametrize(
    ("event", "status", "slug"),
    [
        (request("missing"), 404, "not-found"),
        (request("nope"), 404, "unknown-operation"),
        ({**request("echo"), "caller": {"tenantId": "t1"}}, 400, "bad-internal-request"),
        ({**request("echo"), "caller": {**request("echo")["caller"], "tenantId": "t#2"}}, 400, "bad-internal-request"),
        ({**request("echo"), "extra": 1}, 400, "bad-internal-request"),
    ],
)
def test_refusals_are_answers_with_a_status(event: dict[str, Any], status: int, slug: str) -> None:
    answer = router.resolve(event)
    assert answer["ok"] is False and answer["status"] == status and answer["slug"] == slug
