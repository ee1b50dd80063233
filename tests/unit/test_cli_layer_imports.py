"""The CLI's operator commands run in the CLI's environment, where the layer's ``marquee`` package is not installed:
each must put the layer on the path before its first ``marquee`` import (``marquee shards status`` once did not)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CALLS = {
    "shards status": "from devkit.shards import status_report; status_report('http://127.0.0.1:9', OUTPUTS, "
    "control_table=None, tables=None, window_s=1)",
    "shards move": "from devkit.shards import move_tenant; move_tenant('http://127.0.0.1:9', OUTPUTS, 't', 's1', "
    "control_table=None, tables=None, silo=False, abort=False, progress=lambda *_: None)",
}


@pytest.mark.parametrize("command", sorted(CALLS))
def test_the_command_reaches_the_cloud_without_the_layer_installed(command: str) -> None:
    code = "OUTPUTS = {'ShardControlTableName': 'control', 'ShardTableNames': 'main,s1'}\n" + CALLS[command]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"AWS_MAX_ATTEMPTS": "1"}
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed snippet
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode != 0  # nothing listens there
    assert "ModuleNotFoundError" not in done.stderr, done.stderr[-2000:]
    assert "Could not connect" in done.stderr or "EndpointConnectionError" in done.stderr, done.stderr[-2000:]
