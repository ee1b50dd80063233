from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import pytest

from marquee.resilience import health
from marquee.resilience.health import HealthCheck, Status, overall, run_checks

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Lets hanging fake probes finish once the test is over, so no thread outlives the test."""
    event = threading.Event()
    yield event
    event.set()


def ok() -> None:
    return None


def failing() -> None:
    raise ConnectionError("connection refused")


def check(name: str, probe, *, timeout_ms: int = 1000, warn_ms: int = 500) -> HealthCheck:  # noqa: ANN001
    return HealthCheck(name, "component", f"{name}-id", probe, timeout_ms, warn_ms)


def test_all_passing_checks_pass() -> None:
    report = run_checks([check("dynamodb", ok), check("sqs", ok)])
    assert report.status is Status.PASS
    assert [r.status for r in report.results] == [Status.PASS, Status.PASS]


def test_one_failing_check_fails_the_report_and_says_why() -> None:
    report = run_checks([check("dynamodb", ok), check("sqs", failing)])
    assert report.status is Status.FAIL
    body = report.as_json()
    assert body["status"] == "fail"
    assert body["checks"]["dynamodb:responseTime"][0]["status"] == "pass"
    sqs = body["checks"]["sqs:responseTime"][0]
    assert sqs["status"] == "fail"
    assert "ConnectionError" in sqs["output"]
    assert "sqs:responseTime" in body["output"]


def test_a_slow_success_is_a_warning() -> None:
    report = run_checks([check("secretsmanager", lambda: time.sleep(0.05), warn_ms=1), check("sqs", ok)])
    assert report.status is Status.WARN
    assert report.as_json()["checks"]["secretsmanager:responseTime"][0]["status"] == "warn"


def test_a_hanging_check_fails_within_its_own_timeout(release: threading.Event) -> None:
    started = time.monotonic()
    report = run_checks(
        [
            check("stepfunctions", lambda: release.wait(30), timeout_ms=200),
            check("dynamodb", ok, timeout_ms=5000),
        ]
    )
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, "the runner waited for the hanging probe instead of its timeout"
    hanging, healthy = report.results
    assert hanging.status is Status.FAIL
    assert hanging.output == "timed out after 200 ms"
    assert hanging.latency_ms >= 190
    assert healthy.status is Status.PASS
    assert report.status is Status.FAIL


def test_checks_run_concurrently() -> None:
    barrier = threading.Barrier(3, timeout=2)
    # Each probe can only pass if all three are running at the same time.
    report = run_checks([check(name, barrier.wait) for name in ("a", "b", "c")])
    assert report.status is Status.PASS


def test_result_items_follow_the_health_json_draft() -> None:
    body = run_checks([check("dynamodb", ok)], service_id="health", description="deep").as_json()
    assert body["serviceId"] == "health"
    item = body["checks"]["dynamodb:responseTime"][0]
    assert item["componentId"] == "dynamodb-id"
    assert item["componentType"] == "component"
    assert item["observedUnit"] == "ms"
    assert isinstance(item["observedValue"], float)
    assert ISO_UTC.match(item["time"])
    assert "output" not in item


def test_component_id_is_optional() -> None:
    body = run_checks([HealthCheck("cache", "component", None, ok)]).as_json()
    assert "componentId" not in body["checks"]["cache:responseTime"][0]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], Status.PASS),
        ([Status.PASS, Status.PASS], Status.PASS),
        ([Status.PASS, Status.WARN], Status.WARN),
        ([Status.WARN, Status.FAIL, Status.PASS], Status.FAIL),
    ],
)
def test_overall_status_is_the_worst(statuses: list[Status], expected: Status) -> None:
    assert overall(statuses) is expected


def test_aws_probe_builders_name_their_checks() -> None:
    limits = {"timeout_ms": 500, "warn_ms": 100}
    checks = [
        health.dynamodb_table("t", **limits),
        health.sqs_queue("https://sqs.us-east-1.amazonaws.com/123456789012/q", **limits),
        health.event_bus("bus", **limits),
        health.secret("arn:aws:secretsmanager:us-east-1:123456789012:secret:s", **limits),
        health.state_machine("arn:aws:states:us-east-1:123456789012:stateMachine:m", **limits),
    ]
    assert [c.key for c in checks] == [
        "dynamodb:responseTime",
        "sqs:responseTime",
        "eventbridge:responseTime",
        "secretsmanager:responseTime",
        "stepfunctions:responseTime",
    ]
    assert {c.timeout_ms for c in checks} == {500}
    assert checks[0].component_type == "datastore"


def test_a_degraded_dependency_is_a_warning_that_says_why() -> None:
    def degraded() -> None:
        raise health.Degraded("no shard map stored yet")

    report = run_checks([check("shard-map", degraded), check("sqs", ok)])
    assert report.status is Status.WARN and not report.failed
    item = report.as_json()["checks"]["shard-map:responseTime"][0]
    assert (item["status"], item["output"]) == ("warn", "no shard map stored yet")


def test_each_shard_table_is_its_own_check_in_shard_order() -> None:
    checks = health.shard_tables(["main", "shard-1", "shard-2"], timeout_ms=500, warn_ms=100)
    assert [(c.key, c.component_id) for c in checks] == [
        ("shard-s0:responseTime", "main"),
        ("shard-s1:responseTime", "shard-1"),
        ("shard-s2:responseTime", "shard-2"),
    ]
    assert health.shard_map("control", ["main"], timeout_ms=500, warn_ms=100).key == "shard-map:responseTime"
