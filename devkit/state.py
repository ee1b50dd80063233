"""Where a detached local cloud leaves its traces: ``.localcloud/state.json`` and ``.localcloud/outputs.json``.

``LOCALCLOUD_STATE_DIR`` moves the folder (the CLI's tests use a temporary one, so they never touch a developer's
running cloud). The state file records the cloud's pid and port and the URLs of its simulated providers, whose ports
the OS picks (``GET /_localcloud/simulators`` on the cloud answers the same).
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("LOCALCLOUD_STATE_DIR") or PROJECT_ROOT / ".localcloud")
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
    # Simulated providers by kind ("payment", "notification"), then name -> URL: their ports come from the OS.
    simulators: dict[str, dict[str, str]] = field(default_factory=dict)

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
    if not isinstance(data, dict):
        return None
    known = {f.name for f in fields(CloudState)}
    try:
        return CloudState(**{k: v for k, v in data.items() if k in known})
    except TypeError:  # a field is missing: not a state file this version wrote
        return None


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


def fetch_simulators(cloud: int | str, timeout: float = 5.0) -> dict[str, dict[str, str]]:
    """The simulated providers' URLs of the running cloud ``cloud`` (its port, or its endpoint URL), by kind then name.

    Asked over HTTP (``GET /_localcloud/simulators``), so it works for any cloud, whatever its state folder.
    Raises ``requests.RequestException`` if no cloud answers there.
    """
    base = f"http://127.0.0.1:{cloud}" if isinstance(cloud, int) else cloud.rstrip("/")
    response = requests.get(f"{base}/_localcloud/simulators", timeout=timeout)
    response.raise_for_status()
    simulators: dict[str, dict[str, str]] = response.json()
    return simulators


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
