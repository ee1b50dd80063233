"""The scenario tour (`marquee demo`): each capability shows its guarantee with evidence, against the deployed stack.

A scenario is a function decorated with ``@scenario("...")`` that takes a ``Tour`` and returns the evidence lines it wants
printed; it fails by raising ``ScenarioFailed`` (or any exception). Capabilities add their scenarios in a module of
``devkit/tours/`` (imported automatically), by importing ``scenario`` from here.
"""

from __future__ import annotations

import json
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from devkit.identity import ApiClient
from devkit.state import read_outputs


class ScenarioFailed(Exception):
    pass


@dataclass
class Tour(ApiClient):
    """What a scenario is given: the deployed API (``call``, ``token``), its endpoint and its outputs."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise ScenarioFailed(message)


Scenario = Callable[[Tour], list[str]]
SCENARIOS: list[tuple[str, Scenario]] = []


def scenario(title: str) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        SCENARIOS.append((title, fn))
        return fn

    return register


# ---- identity and tenants ---------------------------------------------------------------------------------------------
@scenario("auth: a request without a token, or with a forged one, never reaches a handler (401)")
def _auth_rejects(tour: Tour) -> list[str]:
    missing = tour.call("GET", "/me")
    expect(missing.status_code == 401, f"no token gave {missing.status_code}")
    real = tour.token("t1", "alice")
    header, payload, signature = real.split(".")
    forged = ".".join([header, payload, signature[::-1]])
    bad = tour.call("GET", "/me", token=forged)
    expect(bad.status_code == 401, f"forged token gave {bad.status_code}")
    return [
        f"no token -> {missing.status_code} {missing.json()}",
        f"tampered signature -> {bad.status_code} {bad.json()}",
    ]


@scenario("auth: the tenant comes only from the verified token, never from a header or the body")
def _tenant_from_claims(tour: Tour) -> list[str]:
    token = tour.token("t1", "alice")
    response = tour.call("GET", "/me", token=token, headers={"X-Tenant-Id": "t2"}, params={"tenantId": "t2"})
    expect(response.status_code == 200, f"/me gave {response.status_code}: {response.text}")
    body = response.json()
    expect(body.get("tenantId") == "t1", f"tenant leaked from the request: {body}")
    return [f"token of t1 + header X-Tenant-Id: t2 -> {json.dumps(body)}"]


# ---- deep health checks (challenge 18) ----------------------------------------------------------------------------------
@scenario("health: liveness needs no auth and checks no dependency")
def _liveness(tour: Tour) -> list[str]:
    started = time.perf_counter()
    response = tour.call("GET", "/health")
    expect(response.status_code == 200, f"/health gave {response.status_code}")
    expect(response.json().get("status") == "pass", f"/health body {response.text}")
    return [f"GET /health -> 200 {response.text.strip()} in {(time.perf_counter() - started) * 1000:.0f} ms"]


@scenario("health: the deep check is staff-only and reports each dependency with its latency")
def _deep_health(tour: Tour) -> list[str]:
    customer = tour.call("GET", "/health/deep", token=tour.token("t1", "alice"))
    expect(customer.status_code == 403, f"customer got {customer.status_code}")
    expect(customer.headers.get("Content-Type", "").startswith("application/problem+json"), "403 is not problem+json")
    staff = tour.call("GET", "/health/deep", token=tour.token("t1", "sam", "staff"))
    expect(staff.status_code == 200, f"staff got {staff.status_code}: {staff.text}")
    expect(staff.headers.get("Content-Type", "").startswith("application/health+json"), "not application/health+json")
    body = staff.json()
    expect(body.get("status") in ("pass", "warn"), f"status {body.get('status')}")
    lines = [f"customer -> 403 {customer.headers['Content-Type']}", f"staff -> 200 status={body['status']}"]
    for name, results in sorted(body.get("checks", {}).items()):
        for result in results:
            lines.append(
                f"  {name}: {result['status']} in {result.get('observedValue')} {result.get('observedUnit', '')}"
            )
    expect(len(body.get("checks", {})) >= 5, "fewer than 5 dependency checks")
    return lines


def load_capability_scenarios() -> None:
    """Import every module of ``devkit.tours``: each registers its scenarios, in file-name order."""
    import importlib
    import pkgutil

    from devkit import tours

    for module in sorted(m.name for m in pkgutil.iter_modules(tours.__path__)):
        importlib.import_module(f"devkit.tours.{module}")


def all_scenarios() -> list[tuple[str, Scenario]]:
    """Every scenario, built-in and per capability, in the order the tour runs them."""
    load_capability_scenarios()
    return list(SCENARIOS)


def scenario_id(title: str) -> str:
    """A short, stable, shell-friendly name for a scenario (a pytest id): its title, slugged and cut at 80 characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug[:80].rstrip("-")


def run_tour(endpoint_url: str, console: Console, outputs: dict[str, Any] | None = None) -> tuple[int, int]:
    load_capability_scenarios()
    tour = Tour(endpoint_url, outputs if outputs is not None else read_outputs())
    passed = failed = 0
    for title, fn in SCENARIOS:
        started = time.perf_counter()
        try:
            evidence = fn(tour)
        except Exception as exc:  # noqa: BLE001 - a scenario's failure is reported and the tour goes on
            failed += 1
            console.print(f"[red]FAIL[/] {title}\n      {type(exc).__name__}: {exc}")
            if not isinstance(exc, ScenarioFailed):
                console.print(traceback.format_exc(), style="dim")
            continue
        passed += 1
        console.print(f"[green]PASS[/] {title} [dim]({time.perf_counter() - started:.1f} s)[/]")
        for line in evidence:
            console.print(f"      {line}", highlight=False)
    return passed, failed
