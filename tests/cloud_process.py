"""A local cloud in its own process, as users run it: for the e2e and the graceful-shutdown tests.

It runs with Marquee's extension (devkit/simulators.py), so deploys find the simulated providers.
"""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from devkit.state import fetch_simulators
from localcloud.server import port_is_free

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SIMULATORS = "devkit.simulators:Simulators"  # the extension that runs the simulated providers


def free_port() -> int:
    """A free loopback port for a cloud (its simulated providers take their own ports from the OS).

    Chosen below the ephemeral range (Linux 32768+, macOS 49152+): a port the OS hands to outgoing connections can be
    taken by one between this check and the cloud's bind, which busy test machines do.
    """
    for _ in range(200):
        port = random.randrange(20000, 32000)  # noqa: S311 - a port number, not a secret
        if port_is_free(port):
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CloudProcess:
    def __init__(
        self,
        state_dir: Path,
        *,
        drain_deadline: float = 10.0,
        port: int | None = None,
        extensions: tuple[str, ...] = (SIMULATORS,),
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.port = port or free_port()
        self.state_dir = state_dir
        self.log_path = state_dir / "cloud.log"
        state_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "localcloud",
                "--port",
                str(self.port),
                "--state-dir",
                str(state_dir),
                "--drain-deadline",
                str(drain_deadline),
                *(arg for extension in extensions for arg in ("--extension", extension)),
                *extra_args,
            ],
            cwd=PROJECT_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"local cloud exited early:\n{self.log()}")
            try:
                if requests.get(f"{self.endpoint_url}/_localcloud/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"local cloud did not start:\n{self.log()}")

    @property
    def endpoint_url(self) -> str:
        return f"http://localhost:{self.port}"

    def simulators(self) -> dict[str, dict[str, str]]:
        """The simulated providers' URLs by kind ("payment", "notification"), then name: their ports come from the OS."""
        return fetch_simulators(self.endpoint_url)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return int(self.proc.returncode)
