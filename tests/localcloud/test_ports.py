"""The local cloud's ports as a new user meets them: side-by-side clouds, a busy port's error, down then up at once.

A cloud takes one port; its simulated providers take free ports from the OS and the cloud reports them
(``GET /_localcloud/simulators``, the state file, ``marquee cloud status``). The CLI tests run ``marquee`` in
subprocesses with ``LOCALCLOUD_STATE_DIR`` set to a temporary folder, so a developer's own cloud is never touched.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devkit.deploy import DeployFailed, simulator_context
from localcloud.aws import local_client
from localcloud.http import PortInUse, port_holder, serve
from localcloud.server import port_is_free
from tests.cloud_process import PROJECT_ROOT, CloudProcess, free_port
from tests.waiting import wait_for

PROC_TCP = Path("/proc/net/tcp")
TCP_TIME_WAIT = "06"
needs_proc = pytest.mark.skipif(not PROC_TCP.exists(), reason="reads /proc/net/tcp (Linux)")


def tcp_states(port: int) -> set[str]:
    """The states (hex, as /proc/net/tcp writes them) of the IPv4 TCP sockets whose local port is ``port``."""
    states = set()
    for line in PROC_TCP.read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port:
            states.add(fields[3])
    return states


def plain_bind_fails(port: int) -> bool:
    """True if a bind without SO_REUSEADDR is refused: what the old port check did, and why it refused after `down`."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def listener(port: int = 0) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


# ---- the port check ---------------------------------------------------------------------------------------------------
@needs_proc
def test_the_port_check_accepts_time_wait_and_refuses_a_listener() -> None:
    server = listener()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end of the connection goes to TIME_WAIT, on `port`
    client.close()
    server.close()
    wait_for(lambda: TCP_TIME_WAIT in tcp_states(port), timeout=10, interval=0.05)

    assert plain_bind_fails(port), "the check below must face a TIME_WAIT that blocks a plain bind"
    assert port_is_free(port)
    with listener(port):
        assert not port_is_free(port)


# ---- a busy port's error ----------------------------------------------------------------------------------------------
def test_a_busy_port_error_names_the_port_and_the_process_holding_it() -> None:
    with listener() as taken:
        port = taken.getsockname()[1]
        with pytest.raises(PortInUse) as excinfo:
            serve("127.0.0.1", port, lambda environ, start_response: [], name="test")
        holder = port_holder(port)
    message = str(excinfo.value)
    assert f"Port {port}" in message
    if PROC_TCP.exists():  # Linux: the holder is found, and it is this test process
        assert holder is not None and holder.startswith(f"pid {os.getpid()} (")
        assert f"by pid {os.getpid()} (" in message


def test_port_holder_is_none_for_a_free_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: nobody holds it for connections
        assert port_holder(port) is None


# ---- two clouds side by side ------------------------------------------------------------------------------------------
def neighbouring_ports() -> int:
    for _ in range(50):
        port = free_port()
        if port_is_free(port + 1):
            return port
    raise AssertionError("no two neighbouring free ports")


def test_two_clouds_on_neighbouring_ports_run_side_by_side(tmp_path: Path) -> None:
    port = neighbouring_ports()
    first = CloudProcess(tmp_path / "first", port=port)
    try:
        second = CloudProcess(tmp_path / "second", port=port + 1)
        try:
            urls = [url for cloud in (first, second) for urls in cloud.simulators().values() for url in urls.values()]
            ports = [int(url.rsplit(":", 1)[1]) for url in urls]
            assert len(ports) == 16 and len(set(ports)) == 16  # 2 payment + 6 notification providers each
            assert not {port, port + 1} & set(ports)
            for url in urls:  # every simulator of both clouds answers
                assert requests.get(f"{url}/_admin/stats", timeout=10).status_code == 200
        finally:
            second.stop()
    finally:
        first.stop()


# ---- the CLI: up, down, up at once ------------------------------------------------------------------------------------
@pytest.fixture
def marquee(tmp_path: Path) -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """Runs `marquee ...` (python -m devkit) as a user would, with its state in a temporary folder."""
    env = {**os.environ, "LOCALCLOUD_STATE_DIR": str(tmp_path / "state")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "devkit", *args],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    yield run
    run("cloud", "down")  # whatever a failed test left running


def get_until_the_server_closes(port: int, path: str) -> bytes:
    """One HTTP request; the client reads until the server has closed, and only then closes its own end."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n".encode())
        response = b""
        while chunk := conn.recv(65536):
            response += chunk
    return response


def state_file(tmp_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp_path / "state" / "state.json").read_text())
    return data


@needs_proc
def test_up_down_up_on_the_same_port_with_connections_in_time_wait(
    marquee: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    port = free_port()
    up = marquee("cloud", "up", "--detach", "--port", str(port))
    assert up.returncode == 0, up.stdout + up.stderr

    recorded = state_file(tmp_path)
    assert recorded["port"] == port and set(recorded["simulators"]) == {"payment", "notification"}
    status = marquee("cloud", "status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    assert json.loads(status.stdout)["simulators"] == recorded["simulators"]

    # Real client traffic: SDK calls, and requests whose connection the cloud closes first (so its end, on `port`,
    # goes to TIME_WAIT, as after any browser or client that lets the server close).
    sqs = local_client("sqs", f"http://localhost:{port}")
    queue_url = sqs.create_queue(QueueName="up-down-up")["QueueUrl"]
    assert queue_url == f"http://localhost:{port}/123456789012/up-down-up"
    sqs.send_message(QueueUrl=queue_url, MessageBody="hello")
    sqs.close()
    for _ in range(3):
        assert get_until_the_server_closes(port, "/_localcloud/health").startswith(b"HTTP/1.1 200")

    down = marquee("cloud", "down")
    assert down.returncode == 0, down.stdout + down.stderr
    wait_for(lambda: TCP_TIME_WAIT in tcp_states(port), timeout=10, interval=0.05)
    assert plain_bind_fails(port), "the restart below must face connections that block a plain bind"

    again = marquee("cloud", "up", "--detach", "--port", str(port))
    assert again.returncode == 0, again.stdout + again.stderr
    assert requests.get(f"http://127.0.0.1:{port}/_localcloud/health", timeout=10).json()["status"] == "running"
    down = marquee("cloud", "down")
    assert down.returncode == 0, down.stdout + down.stderr


@needs_proc
def test_cloud_up_on_a_busy_port_names_the_port_and_its_holder(
    marquee: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    with listener() as taken:
        port = taken.getsockname()[1]
        result = marquee("cloud", "up", "--detach", "--port", str(port))
    assert result.returncode == 1
    output = " ".join((result.stdout + result.stderr).split())  # rich may wrap the line
    assert f"port {port}" in output and f"pid {os.getpid()} (" in output


# ---- what the deployed stack hands out --------------------------------------------------------------------------------
QUEUE_TEMPLATE = {
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "stack-output-queue"}}},
    "Outputs": {"QueueUrl": {"Value": {"Ref": "Queue"}}},
}


def test_a_stack_queue_url_points_at_the_cloud_and_works_with_boto3(aws: Callable[[str], Any], endpoint: str) -> None:
    cfn = aws("cloudformation")
    cfn.create_stack(StackName="queue-url-output", TemplateBody=json.dumps(QUEUE_TEMPLATE))
    try:
        (stack,) = cfn.describe_stacks(StackName="queue-url-output")["Stacks"]
        url = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["QueueUrl"]
        assert url == f"{endpoint}/123456789012/stack-output-queue"
        sqs = aws("sqs")
        sqs.send_message(QueueUrl=url, MessageBody="via the output")
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        assert [m["Body"] for m in messages] == ["via the output"]
    finally:
        cfn.delete_stack(StackName="queue-url-output")
    assert "stack-output-queue" not in str(aws("sqs").list_queues().get("QueueUrls", []))


def test_deploy_takes_the_simulator_urls_from_the_running_cloud(endpoint: str) -> None:
    from devkit.providers import provider_urls

    args = simulator_context(endpoint)
    context = dict(arg.split("=", 1) for arg in args[1::2])
    payment = provider_urls(endpoint)
    assert context["marquee:paymentPrimaryUrl"] == payment["primary"]
    assert context["marquee:paymentSecondaryUrl"] == payment["secondary"]
    assert len([key for key in context if key.startswith("marquee:notificationProvider:")]) == 6


def test_deploy_without_a_cloud_at_the_endpoint_says_so() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: the connection is refused
        with pytest.raises(DeployFailed, match=f"no local cloud answers at http://localhost:{port}"):
            simulator_context(f"http://localhost:{port}")
