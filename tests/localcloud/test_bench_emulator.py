"""bench/emulator.py works: every row of the side-by-side bench measures the local cloud (quick counts, no peers).

Figures are never asserted (shared machines are noisy): only that each row produced samples, and that the table and
the docs section come out of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import emulator


@pytest.fixture(scope="module")
def run() -> dict:
    return emulator.run_target("localcloud", emulator.QUICK, log=lambda _: None)


def test_every_row_measures_the_local_cloud(run: dict) -> None:
    assert "na" not in run, run.get("na")
    assert run["ready_s"] > 0
    assert run["rss_idle"]["server_mib"] > 0
    assert run["rss_after"]["workers"] >= 1  # the Lambda rows ran handlers in worker processes
    not_measured = {key: row["na"] for key, row in run["rows"].items() if "na" in row}
    assert not_measured == {}
    assert set(run["rows"]) == {key for key, _, _ in emulator.ROWS}
    for key, row in run["rows"].items():
        assert row["n"] > 0, key
        assert 0 < row["p50"] <= row["p99"], key


def test_the_server_and_its_workers_are_stopped(run: dict) -> None:
    processes = run["processes"]
    assert len(processes) >= 2  # the server and at least one Lambda worker
    still_running = [pid for pid, started in processes.items() if (stat := emulator._stat(pid)) and stat[1] == started]
    assert still_running == []


def test_the_table_and_the_docs_section_come_from_the_runs(run: dict, tmp_path: Path) -> None:
    peer = {"target": "moto", "na": "did not start: test"}
    combined = {"localcloud": emulator.combine([run, run]), "moto": emulator.combine([peer])}
    lines = emulator.table(combined, ["localcloud", "moto"], emulator.QUICK)
    assert lines[0].startswith("| measure") and "local / moto_server" in lines[0]
    warm = next(line for line in lines if line.startswith("| Lambda warm invoke"))
    assert " ms (" in warm and "n/a" in warm  # the local cloud's figures, the peer's n/a

    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nIntro.\n\n## Measured\nold\n\n## Latest run\nfigures\n")
    results = {"date": "d", "machine": "m", "targets": ["localcloud", "moto"], "rounds": 2}
    results |= {"counts": emulator.QUICK.__dict__, "runs": [run]}
    emulator.record(results, lines, doc)
    emulator.record(results, lines, doc)  # a second write replaces the section
    text = doc.read_text()
    assert text.count(emulator.SECTION) == 1
    assert text.index("## Measured") < text.index(emulator.SECTION) < text.index("## Latest run")
    assert text.endswith("## Latest run\nfigures\n")
