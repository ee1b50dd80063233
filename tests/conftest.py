"""Session-wide test reporting: each tier's total time (unit, integration, infra, localcloud, e2e), after the
per-test durations (``--durations=0`` in pyproject.toml), so that the cost of each tier can be read off one run."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

TIERS = ("unit", "integration", "infra", "localcloud", "contracts", "e2e")
_seconds: defaultdict[str, float] = defaultdict(float)
_tests: defaultdict[str, set[str]] = defaultdict(set)


def _tier(nodeid: str) -> str:
    parts = Path(nodeid.split("::")[0]).parts
    return parts[1] if len(parts) > 2 and parts[0] == "tests" and parts[1] in TIERS else "other"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Setup, call and teardown all count: an e2e tier's deploy is in its first test's setup."""
    tier = _tier(report.nodeid)
    _seconds[tier] += report.duration
    _tests[tier].add(report.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _seconds:
        return
    terminalreporter.section("time per tier")
    for tier in (*TIERS, "other"):
        if tier in _seconds:
            terminalreporter.write_line(f"{tier:<12} {_seconds[tier]:8.1f} s  {len(_tests[tier]):5d} tests")
    terminalreporter.write_line(f"{'total':<12} {sum(_seconds.values()):8.1f} s")
