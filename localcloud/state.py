"""Where a detached local cloud leaves its traces: ``.localcloud/state.json`` and ``.localcloud/outputs.json``."""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = PROJECT_ROOT / ".localcloud"
STATE_FILE = STATE_DIR / "state.json"
OUTPUTS_FILE = STATE_DIR / "outputs.json"
LOG_FILE = STATE_DIR / "cloud.log"
STACK_NAME = "Marquee"
REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass
class CloudState:
    pid: int
    port: int
    started_at: float

    @property
    def endpoint_url(self) -> str:
        return f"http://localhost:{self.port}"


def write_state(state: CloudState) -> None:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    STATE_FILE.write_text(json.dumps(asdict(state), indent=2))


def read_state() -> CloudState | None:
    try:
        data = json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return None
    return CloudState(**data)


def clear_state() -> None:
    STATE_FILE.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_healthy(port: int, timeout: float = 1.0) -> bool:
    try:
        response = requests.get(f"http://127.0.0.1:{port}/_localcloud/health", timeout=timeout)
    except requests.RequestException:
        return False
    return response.status_code == 200 and response.json().get("status") == "running"


def wait_healthy(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_healthy(port):
            return True
        time.sleep(0.1)
    return False


def running_cloud() -> CloudState | None:
    state = read_state()
    if state is None or not pid_alive(state.pid):
        return None
    return state


def stop_cloud(state: CloudState, timeout: float) -> bool:
    """SIGTERM (the cloud drains), then wait; True if it exited in time."""
    os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(state.pid):
            return True
        time.sleep(0.1)
    return False


def read_outputs() -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(OUTPUTS_FILE.read_text())
    except (OSError, ValueError):
        return {}
    stack: dict[str, Any] = data.get(STACK_NAME, {})
    return stack
