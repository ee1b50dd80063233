"""Graceful shutdown (challenge 20), on a local cloud in its own process, signalled like a container is.

AWS behaviour mirrored: Lambda sends SIGTERM to the runtime before it shuts an execution environment down, so that
registered shutdown hooks run (flush metrics and logs); a service draining behind a load balancer stops taking new
requests and finishes the ones in flight.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.config import Config

from localcloud.aws import local_client
from tests.cloud_process import CloudProcess
from tests.localcloud.conftest import zip_code

SLOW_WITH_HOOK = """
import os, signal, sys, time

def _on_sigterm(signum, frame):
    with open(os.path.join(os.environ["MARKER_DIR"], f"hook-{os.getpid()}"), "w") as marker:
        marker.write("shutdown hook ran")
    sys.exit(0)

signal.signal(signal.SIGTERM, _on_sigterm)

def handler(event, context):
    if "Records" in event:  # an SQS batch: the work is in the message body
        import json
        event = json.loads(event["Records"][0]["body"])
    time.sleep(event.get("sleep", 0))
    return {"done": event.get("n")}
"""


def _client(cloud: CloudProcess, service: str, **config: Any) -> Any:
    return local_client(
        service, cloud.endpoint_url, config=Config(retries={"total_max_attempts": 1}, read_timeout=60, **config)
    )


def _deploy_function(cloud: CloudProcess, marker_dir: Path, name: str = "slow") -> str:
    iam = _client(cloud, "iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))
    _client(cloud, "lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role["Role"]["Arn"],
        Handler="app.handler",
        Timeout=60,
        Code={"ZipFile": zip_code({"app.py": SLOW_WITH_HOOK})},
        Environment={"Variables": {"MARKER_DIR": str(marker_dir)}},
    )
    return name


def _wait_busy(cloud: CloudProcess, name: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = requests.get(f"{cloud.endpoint_url}/_localcloud/stats", timeout=5).json()["workers"]
        if stats.get(name, {}).get("busy"):
            return
        time.sleep(0.05)
    pytest.fail(f"{name} never got busy")


def _invoke_in_thread(cloud: CloudProcess, name: str, event: dict[str, Any]) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            response = _client(cloud, "lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
            result["status"] = response["StatusCode"]
            result["error"] = response.get("FunctionError")
            result["body"] = json.loads(response["Payload"].read())
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            result["exception"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_sigterm_finishes_in_flight_work_refuses_new_work_and_runs_shutdown_hooks(tmp_path: Path) -> None:
    """The invocation in flight at SIGTERM completes; a new API request during the drain gets 503; the worker's
    SIGTERM hook runs before the process exits 0."""
    cloud = CloudProcess(tmp_path / "cloud", drain_deadline=10)
    try:
        name = _deploy_function(cloud, tmp_path)
        thread, result = _invoke_in_thread(cloud, name, {"sleep": 2, "n": 1})
        _wait_busy(cloud, name)
        cloud.signal(signal.SIGTERM)
        deadline = time.monotonic() + 1.5  # the in-flight invocation sleeps 2 s: the drain is still on until then
        while True:
            refused = requests.get(f"{cloud.endpoint_url}/_aws/execute-api/x/v1/anything", timeout=5)
            if refused.status_code == 503 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        thread.join(timeout=20)
        code = cloud.proc.wait(timeout=20)
    finally:
        cloud.stop()
    assert result.get("status") == 200 and result.get("error") is None, result
    assert result["body"] == {"done": 1}
    assert refused.status_code == 503
    assert code == 0
    hooks = list(tmp_path.glob("hook-*"))
    assert len(hooks) == 1 and hooks[0].read_text() == "shutdown hook ran"


def test_drain_deadline_bounds_the_wait_then_workers_get_sigterm(tmp_path: Path) -> None:
    """Work that outlasts the drain deadline does not hold the exit: past the deadline the busy worker gets SIGTERM
    (its hook runs) and the process exits 0."""
    cloud = CloudProcess(tmp_path / "cloud", drain_deadline=1)
    try:
        name = _deploy_function(cloud, tmp_path)
        thread, _ = _invoke_in_thread(cloud, name, {"sleep": 30, "n": 2})
        _wait_busy(cloud, name)
        started = time.monotonic()
        cloud.signal(signal.SIGTERM)
        code = cloud.proc.wait(timeout=20)
        elapsed = time.monotonic() - started
        thread.join(timeout=20)
    finally:
        cloud.stop()
    assert code == 0
    assert elapsed < 15, f"shutdown took {elapsed:.1f} s with a 1 s deadline"
    assert list(tmp_path.glob("hook-*")), "the busy worker got SIGTERM and its hook ran"
    assert "deadline reached" in cloud.log()


def test_a_second_sigterm_forces_the_exit(tmp_path: Path) -> None:
    """An operator who cannot wait sends SIGTERM twice: the second one exits at once, non-zero."""
    cloud = CloudProcess(tmp_path / "cloud", drain_deadline=60)
    try:
        name = _deploy_function(cloud, tmp_path)
        thread, _ = _invoke_in_thread(cloud, name, {"sleep": 30, "n": 3})
        _wait_busy(cloud, name)
        cloud.signal(signal.SIGTERM)
        time.sleep(0.5)
        assert cloud.proc.poll() is None, "still draining after the first SIGTERM"
        cloud.signal(signal.SIGTERM)
        code = cloud.proc.wait(timeout=10)
        thread.join(timeout=40)
    finally:
        cloud.stop()
    assert code != 0
    assert "forcing exit" in cloud.log()


def test_sqs_batch_in_flight_at_sigterm_is_processed_before_exit(tmp_path: Path) -> None:
    """AWS: an SQS batch being processed completes and is deleted; nothing is lost and nothing is taken after the
    signal."""
    cloud = CloudProcess(tmp_path / "cloud", drain_deadline=10)
    try:
        name = _deploy_function(cloud, tmp_path, name="consumer")
        sqs = _client(cloud, "sqs")
        queue_url = sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        _client(cloud, "lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=1)
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"sleep": 2, "n": 4}))
        _wait_busy(cloud, name)
        cloud.signal(signal.SIGTERM)
        time.sleep(0.3)
        code = cloud.proc.wait(timeout=20)
    finally:
        cloud.stop()
    assert code == 0
    log = cloud.log()
    assert "[consumer] END RequestId" in log, log[-2000:]
    assert "drained; bye" in log
    # Deleting the finished batch goes through the SQS API while draining: it must not be refused.
    assert "Traceback" not in log and "shutting down" not in log.replace("SIGTERM: draining", ""), log[-3000:]
