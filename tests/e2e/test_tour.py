"""The scenario tour (`marquee demo`) as tests: one test per scenario, each reported by name, on the session's stack.

A scenario passes by returning its evidence lines and fails by raising (``ScenarioFailed`` carries what it saw). The
scenarios run in the tour's order, sharing one ``Tour`` (its HTTP session and cached tokens), as ``marquee demo`` does.
"""

from __future__ import annotations

import traceback
from typing import Any

import pytest

from devkit.tour import Scenario, ScenarioFailed, Tour, all_scenarios, scenario_id

SCENARIOS = all_scenarios()


@pytest.fixture(scope="module")
def tour(deployed: dict[str, Any]) -> Tour:
    return Tour(deployed["endpoint"], deployed["outputs"])


def test_the_tour_has_scenarios_for_each_capability() -> None:
    prefixes = {title.split(":")[0] for title, _ in SCENARIOS}
    assert {"auth", "health", "flags", "notifications", "outbox", "payments", "saga", "seat holds"} <= prefixes
    assert {"tenant isolation", "secrets", "webhooks", "search"} <= prefixes


@pytest.mark.parametrize(("title", "run"), SCENARIOS, ids=[scenario_id(title) for title, _ in SCENARIOS])
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
