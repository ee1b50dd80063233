"""The scenario tour (`marquee demo`) as tests: one test per scenario, each reported by name, on the session's stack.

A scenario passes by returning its evidence lines and fails by raising (``ScenarioFailed`` carries what it saw). The
scenarios run in the tour's order, sharing one ``Tour`` (its HTTP session and cached tokens), as ``marquee demo`` does.
"""

from __future__ import annotations

import traceback
from typing import Any

import pytest

from devkit.tour import Scenario, ScenarioFailed, Tour, all_scenarios, scenario_id
from tests.e2e.drills import long_drill

SCENARIOS = all_scenarios()
# Scenarios that mostly wait (retries, quiet hours, cache ages) and that a dedicated e2e test already proves, by title
# prefix -> that test. `make demo` and `make drills` run them; `make test` keeps its 10 minutes.
COVERED_ELSEWHERE = {
    "notifications: both push providers down": "test_notifications.py::test_exhausted_retries_land_in_the_dlq_and_re...",
    "notifications: quiet hours": "test_notifications.py::test_quiet_hours_delay_a_reminder_but_not_a_receipt",
    "secrets: the primary provider key rotates": "test_secret_rotation.py::test_a_rotation_in_the_middle_of_traffic...",
    "flags: a flag flipped at run time": "test_feature_flags.py::test_a_flag_change_reaches_the_running_function...",
    "deploys: a new seat-holds version": "test_zero_downtime.py::test_a_new_holds_version_ships_under_traffic_with_...",
    "deploys: a broken seat-holds version": "test_zero_downtime.py::test_a_broken_holds_version_is_rolled_back_on_its...",
    "outbox chaos: the holds function is killed": "test_outbox.py::test_a_producer_killed_mid_request_leaves_an_...",
    "outbox chaos: the relay is killed": "test_outbox.py::test_relay_or_consumer_killed_mid_batch_repeatedly_loses_...",
    "sharding: a tenant moved": "test_sharding.py::test_a_tenant_moved_to_s1_under_traffic_loses_no_write_and_then...",
}


# Scenarios that wait out real intervals and have no e2e copy, by title prefix -> why.
LONG = {"failover: the primary region fails": "Route 53 health-check intervals; also `make drill-failover`"}


def _marks(title: str) -> list[pytest.MarkDecorator]:
    covering = next((test for prefix, test in COVERED_ELSEWHERE.items() if title.startswith(prefix)), None)
    if covering:
        return [long_drill(f"the same as {covering}")]
    why = next((why for prefix, why in LONG.items() if title.startswith(prefix)), None)
    return [long_drill(why)] if why else []


@pytest.fixture(scope="module")
def tour(deployed: dict[str, Any]) -> Tour:
    return Tour(deployed["endpoint"], deployed["outputs"])


def test_every_scenario_skipped_here_exists() -> None:
    titles = [title for title, _ in SCENARIOS]
    for prefix in [*COVERED_ELSEWHERE, *LONG]:
        assert any(t.startswith(prefix) for t in titles), f"no tour scenario starts with {prefix!r}"


def test_the_tour_has_scenarios_for_each_capability() -> None:
    prefixes = {title.split(":")[0] for title, _ in SCENARIOS}
    assert {"auth", "health", "flags", "notifications", "outbox", "payments", "saga", "seat holds"} <= prefixes
    assert {"tenant isolation", "secrets", "webhooks", "search"} <= prefixes


@pytest.mark.parametrize(
    ("title", "run"),
    [pytest.param(title, run, id=scenario_id(title), marks=_marks(title)) for title, run in SCENARIOS],
)
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
