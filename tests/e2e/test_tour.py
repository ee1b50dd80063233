"""The scenario tour (`marquee demo`) as tests: one test per scenario, each reported by name, on the session's stack.

A scenario passes by returning its evidence lines and fails by raising (``ScenarioFailed`` carries what it saw). The
scenarios run in the tour's order, sharing one ``Tour`` (its HTTP session and cached tokens), as ``marquee demo`` does.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import Any

import pytest

from devkit.tour import Scenario, ScenarioFailed, Tour, all_scenarios, scenario_id

SCENARIOS = all_scenarios()
ROOT = Path(__file__).resolve().parents[2]
# The slowest scenarios repeat, step for step, a dedicated test that asserts more: the suite runs that test and skips
# the scenario, naming it (10 minutes is the suite's budget). `make demo` runs every scenario; so does
# MARQUEE_TOUR_ALL=1 here.
COVERED_ELSEWHERE = {
    "notifications: both push providers down": (
        "tests/e2e/test_notifications.py::test_exhausted_retries_land_in_the_dlq_and_redrive_delivers_them"
    ),
    "notifications: quiet hours delay": "tests/e2e/test_notifications.py::test_quiet_hours_delay_a_reminder_but_not_a_receipt",
    "secrets: the primary provider key rotates": (
        "tests/e2e/test_secret_rotation.py::test_a_rotation_in_the_middle_of_traffic_loses_no_call"
    ),
    "payments: the primary provider is killed": (
        "tests/e2e/test_payments.py::test_with_the_primary_stopped_payments_go_through_the_secondary"
    ),
}


def _covered_by(title: str) -> str | None:
    if os.environ.get("MARQUEE_TOUR_ALL") == "1":
        return None
    return next((test for prefix, test in COVERED_ELSEWHERE.items() if title.startswith(prefix)), None)


def _params() -> list[Any]:
    params = []
    for title, run in SCENARIOS:
        covered = _covered_by(title)
        marks = [pytest.mark.skip(reason=f"covered by {covered}; `make demo` runs it")] if covered else []
        params.append(pytest.param(title, run, id=scenario_id(title), marks=marks))
    return params


@pytest.fixture(scope="module")
def tour(deployed: dict[str, Any]) -> Tour:
    return Tour(deployed["endpoint"], deployed["outputs"])


def test_the_tour_has_scenarios_for_each_capability() -> None:
    prefixes = {title.split(":")[0] for title, _ in SCENARIOS}
    assert {"auth", "health", "flags", "notifications", "outbox", "payments", "saga", "seat holds"} <= prefixes
    assert {"tenant isolation", "secrets", "webhooks"} <= prefixes


def test_each_skipped_scenario_names_a_test_that_exists() -> None:
    titles = [title for title, _ in SCENARIOS]
    for prefix, test in COVERED_ELSEWHERE.items():
        assert sum(title.startswith(prefix) for title in titles) == 1, prefix
        path, name = test.split("::")
        assert f"def {name}(" in (ROOT / path).read_text(), test


@pytest.mark.parametrize(("title", "run"), _params())
def test_tour_scenario(tour: Tour, title: str, run: Scenario) -> None:
    evidence: list[str] = []
    problem = None
    try:
        evidence = run(tour)
    except ScenarioFailed as failed:
        problem = f"failed: {failed}"
    except Exception as exc:  # noqa: BLE001 - any other error is the scenario's failure too, with its traceback
        problem = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    if problem is not None:
        pytest.fail(f"{title}\n  {problem}", pytrace=False)
    assert evidence and all(isinstance(line, str) for line in evidence), f"{title}: no evidence returned"
    print(f"PASS {title}", *(f"      {line}" for line in evidence), sep="\n")  # shown with -rP
