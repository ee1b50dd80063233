"""The cloud starts without loading any AWS service, and each service's patches are in place by its first request.

Run in a fresh process (`python -m localcloud`): the in-process parity tests import moto before the cloud starts, so
there every patch is applied at once and the lazy path (localcloud.patches.when_imported) would go untested.
AWS references for the behaviours checked are in the parity tables of docs/local-cloud.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from localcloud.aws import local_client
from tests.localcloud.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bare_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    state = tmp_path_factory.mktemp("lazy")
    process = subprocess.Popen(
        [sys.executable, "-m", "localcloud", "--port", str(port), "--state-dir", str(state), "--quiet"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    endpoint = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{endpoint}/_localcloud/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.02)
        else:
            raise AssertionError("the cloud did not answer its health check within 30 s")
        yield endpoint
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
        assert b"Traceback" not in stderr, stderr.decode(errors="replace")[-3000:]


def _services(endpoint: str) -> list[str]:
    services: list[str] = requests.get(f"{endpoint}/_localcloud/stats", timeout=5).json()["services"]
    return services


def test_no_service_is_loaded_until_its_first_request(bare_cloud: str) -> None:
    time.sleep(1.0)  # the pollers and the schedule clock have ticked: they must not have loaded anything either
    assert _services(bare_cloud) == []
    local_client("dynamodb", bare_cloud).list_tables()
    assert "dynamodb" in _services(bare_cloud)
    assert "stepfunctions" not in _services(bare_cloud) and "cloudformation" not in _services(bare_cloud)


def test_step_functions_patches_apply_on_first_use(bare_cloud: str) -> None:
    """moto's interpreter runs executions (execute_state_machine), and two unnamed starts are two executions, as AWS
    names each with a fresh UUID (Step Functions API reference, StartExecution)."""
    sfn = local_client("stepfunctions", bare_cloud)
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"ok": True}, "End": True}}}
    arn = sfn.create_state_machine(
        name=f"lazy-{uuid.uuid4().hex[:6]}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/local-test",
    )["stateMachineArn"]
    first, second = (sfn.start_execution(stateMachineArn=arn)["executionArn"] for _ in range(2))
    assert first != second
    deadline = time.monotonic() + 20
    while sfn.describe_execution(executionArn=first)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    described: dict[str, Any] = sfn.describe_execution(executionArn=first)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"ok": True}


def test_a_deploy_gets_strict_types_and_queue_urls_on_this_cloud(bare_cloud: str) -> None:
    """CloudFormation's patches arrive with its first call: an unknown type fails the stack by name, and a queue's
    Ref is its URL on this cloud (docs/local-cloud-cfn.md)."""
    cfn = local_client("cloudformation", bare_cloud)
    bad = {"Resources": {"X": {"Type": "AWS::Nope::Thing", "Properties": {}}}}
    with pytest.raises(cfn.exceptions.ClientError, match="AWS::Nope::Thing"):
        cfn.create_stack(StackName=f"bad-{uuid.uuid4().hex[:6]}", TemplateBody=json.dumps(bad))
    name = f"lazy-{uuid.uuid4().hex[:6]}"
    template = {
        "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"QueueUrl": {"Value": {"Ref": "Q"}}},
    }
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))
    outputs = cfn.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]
    assert outputs[0]["OutputValue"].startswith(bare_cloud + "/123456789012/")


def test_underscored_metadata_headers_reach_moto_as_sent(bare_cloud: str) -> None:
    """S3 user metadata keeps its key as written, underscores included (S3 User Guide, "Working with object
    metadata"). werkzeug drops headers with an underscore; the cloud's handler becomes moto's for such a request."""
    s3 = local_client("s3", bare_cloud)
    bucket = f"lazy-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"my_key": "v1", "plain": "v2"})
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {"my_key": "v1", "plain": "v2"}
