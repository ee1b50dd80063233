"""The `marquee` CLI's own behaviour: clear errors, machine-readable status."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devkit import cli, state
from devkit.functions import EventFileError, load_event

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the CLI's .localcloud/ at a temporary folder, so a developer's running cloud is never touched."""
    monkeypatch.setattr(state, "STATE_DIR", tmp_path)
    monkeypatch.setattr(state, "STATE_FILE", tmp_path / "state.json")
    monkeypatch.setattr(state, "OUTPUTS_FILE", tmp_path / "outputs.json")
    monkeypatch.setattr(state, "LOG_FILE", tmp_path / "cloud.log")
    yield tmp_path


def test_malformed_event_names_the_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "path": "/health",\n  "httpMethod": GET\n}\n')
    with pytest.raises(EventFileError) as excinfo:
        load_event(bad)
    assert str(bad) in str(excinfo.value)
    assert "line 3, column 17" in str(excinfo.value)


def test_invoke_with_a_malformed_event_exits_2_with_the_position(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1,}')
    result = runner.invoke(cli.app, ["invoke", "health", "--event", str(bad)])
    assert result.exit_code == 2
    assert "malformed JSON at line 1, column 9" in result.output


def test_invoke_with_a_missing_event_file_says_so(tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["invoke", "health", "--event", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "cannot read event file" in result.output


def test_every_sample_event_is_valid_json() -> None:
    events = sorted((state.PROJECT_ROOT / "events").rglob("*.json"))
    assert events, "no sample events"
    for path in events:
        assert isinstance(load_event(path), dict), path


def test_every_function_has_a_sample_event() -> None:
    functions = [p.name for p in (state.PROJECT_ROOT / "functions").iterdir() if (p / "handler.py").exists()]
    for name in functions:
        assert list((state.PROJECT_ROOT / "events" / name).glob("*.json")), f"functions/{name} has no sample event"


def test_cloud_up_on_a_port_in_use_gives_a_clear_message() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(cli.app, ["cloud", "up", "--detach", "--port", str(port)])
    assert result.exit_code == 1
    output = " ".join(result.output.split())  # rich may wrap the line
    assert f"port {port}" in output and "already in use" in output
    if Path("/proc/net/tcp").exists():  # Linux: the process holding the port is named (here: this test)
        assert f"by pid {os.getpid()} (" in output


def test_the_state_file_records_the_simulators_and_reads_older_files(isolated_state: Path) -> None:
    simulators = {"payment": {"primary": "http://127.0.0.1:40001"}, "notification": {}}
    state.write_state(state.CloudState(pid=1, port=4610, started_at=0.0, simulators=simulators))
    assert json.loads((isolated_state / "state.json").read_text())["simulators"] == simulators
    assert state.read_state() == state.CloudState(pid=1, port=4610, started_at=0.0, simulators=simulators)
    # A file an older version wrote (no simulators), or a newer one (an extra field), still reads.
    (isolated_state / "state.json").write_text(json.dumps({"pid": 2, "port": 4566, "started_at": 1.0, "new": 1}))
    assert state.read_state() == state.CloudState(pid=2, port=4566, started_at=1.0)
    (isolated_state / "state.json").write_text(json.dumps({"port": 4566}))
    assert state.read_state() is None


def test_status_json_reports_a_stopped_cloud_and_the_last_outputs(isolated_state: Path) -> None:
    (isolated_state / "outputs.json").write_text(json.dumps({"Marquee": {"ApiId": "abc123"}}))
    result = runner.invoke(cli.app, ["cloud", "status", "--json"])
    report = json.loads(result.output)
    assert report["running"] is False
    assert report["outputs"] == {"ApiId": "abc123"}


def test_commands_that_need_a_cloud_say_how_to_start_one(tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["auth", "token", "--tenant", "t1", "--user", "alice"])
    assert result.exit_code == 1
    assert "marquee cloud up --detach" in result.output
