"""The local cloud's web console over HTTP (localcloud/console): its JSON, its live stream and its safety checks.

The console is the emulator's own (not an AWS API); where it mirrors AWS, the docstring says which behaviour.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from localcloud.server import LocalCloud
from tests.cloud_process import PROJECT_ROOT, CloudProcess
from tests.localcloud.conftest import ROLE, invoke

ECHO = """
def handler(event, context):
    print("echo says", event.get("word"))
    return {"echoed": event}
"""
FAILS = """
def handler(event, context):
    raise ValueError("seat taken")
"""


def console(endpoint: str) -> str:
    return f"{endpoint}/_localcloud/console"


def token(endpoint: str) -> str:
    page = requests.get(f"{console(endpoint)}/", timeout=10)
    match = re.search(r'name="console-token" content="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match.group(1)


def wait_until(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not true within {timeout} s")


def make_queue_with_dlq(aws: Callable[[str], Any], max_receives: int = 1) -> tuple[str, str, str, str]:
    sqs = aws("sqs")
    suffix = uuid.uuid4().hex[:8]
    dlq_url = sqs.create_queue(QueueName=f"console-dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives})
    url = sqs.create_queue(QueueName=f"console-q-{suffix}", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, dlq_url, dlq_arn


def dead_letter(aws: Callable[[str], Any], url: str, body: str) -> None:
    """A message received max_receives (1) times, then redriven by SQS to the DLQ on the next receive."""
    sqs = aws("sqs")
    sqs.send_message(QueueUrl=url, MessageBody=body)
    assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, WaitTimeSeconds=0).get("Messages")
    assert not sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages")  # moved to the DLQ


# ---- reading --------------------------------------------------------------------------------------------------------
def test_the_page_is_served_with_its_token_and_a_strict_content_policy(endpoint: str) -> None:
    page = requests.get(f"{console(endpoint)}/", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert re.search(r'name="console-token" content="[A-Za-z0-9_-]{20,}"', page.text)
    script = requests.get(f"{console(endpoint)}/static/console.js", timeout=10)
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")
    assert requests.get(f"{console(endpoint)}/static/../__init__.py", timeout=10).status_code == 404


def test_overview_lists_functions_queues_with_their_dlq_tables_and_rules(
    aws: Callable[[str], Any], make_function: Any, endpoint: str
) -> None:
    name = make_function(ECHO)
    invoke(aws, name, {"word": "hi"})
    url, _arn, _dlq_url, dlq_arn = make_queue_with_dlq(aws)
    dead_letter(aws, url, "poison")
    table = f"console-t-{uuid.uuid4().hex[:6]}"
    aws("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(3):
        aws("dynamodb").put_item(TableName=table, Item={"pk": {"S": str(i)}})
    overview = requests.get(f"{console(endpoint)}/api/overview", timeout=10).json()
    function = next(f for f in overview["functions"] if f["name"] == name)
    assert function["invocations"] == 1 and function["errors"] == 0 and function["p50Ms"] > 0
    assert function["warm"] == 1 and function["busy"] == 0
    queue = next(q for q in overview["queues"] if q["url"] == url)
    assert queue["redrivePolicy"]["maxReceiveCount"] == 1
    assert queue["dlq"]["arn"] == dlq_arn and queue["dlq"]["visible"] == 1
    assert next(t for t in overview["tables"] if t["name"] == table)["items"] == 3


def test_an_invocation_shows_its_event_response_and_log_lines(
    aws: Callable[[str], Any], make_function: Any, endpoint: str
) -> None:
    ok, failing = make_function(ECHO), make_function(FAILS)
    response, _ = invoke(aws, ok, {"word": "popcorn"})
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    invoke(aws, failing, {})
    listed = requests.get(f"{console(endpoint)}/api/invocations", params={"function": failing}, timeout=10).json()
    assert [(i["status"], i["errorType"], i["cold"]) for i in listed["invocations"]] == [("error", "ValueError", True)]
    detail = requests.get(f"{console(endpoint)}/api/invocation", params={"id": request_id}, timeout=10).json()
    assert detail["function"] == ok and detail["status"] == "ok"
    assert json.loads(detail["event"]) == {"word": "popcorn"}
    assert json.loads(detail["response"]) == {"echoed": {"word": "popcorn"}}
    assert any("echo says popcorn" in line for line in detail["logs"])
    missing = requests.get(f"{console(endpoint)}/api/invocation", params={"id": "nope"}, timeout=10)
    assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/problem+json"


def test_the_stream_delivers_an_invocation_as_it_happens(
    aws: Callable[[str], Any], make_function: Any, endpoint: str
) -> None:
    name = make_function(ECHO)
    seen: list[dict[str, Any]] = []
    connected = threading.Event()

    def listen() -> None:
        with requests.get(f"{console(endpoint)}/stream", stream=True, timeout=20) as stream:
            assert stream.headers["Content-Type"].startswith("text/event-stream")
            kind = None
            for line in stream.iter_lines(decode_unicode=True):
                connected.set()
                if line.startswith("event: "):
                    kind = line[len("event: ") :]
                elif line.startswith("data: ") and kind == "invocation":
                    note = json.loads(line[len("data: ") :])
                    if note["function"] == name:
                        seen.append(note)
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert connected.wait(10)
    wait_until(lambda: requests.get(f"{console(endpoint)}/api/overview", timeout=10).json()["watchers"] >= 1)
    response, _ = invoke(aws, name, {"word": "live"})
    thread.join(timeout=15)
    assert seen and seen[0]["requestId"] == response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert seen[0]["status"] == "ok" and seen[0]["cold"] is True


def test_the_events_timeline_shows_matched_rules_reached_targets_and_failed_deliveries(
    aws: Callable[[str], Any], make_function: Any, endpoint: str
) -> None:
    """AWS: an event matched by a rule goes to each target; a target that cannot be reached (a deleted function) is
    not retried, and without a DLQ the event is dropped for that target."""
    name = make_function(ECHO)
    arn = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    source = f"console.test.{uuid.uuid4().hex[:6]}"
    rule = f"console-rule-{uuid.uuid4().hex[:6]}"
    aws("events").put_rule(Name=rule, EventPattern=json.dumps({"source": [source], "detail-type": ["Booked"]}))
    missing = arn.replace(name, "no-such-function")
    aws("events").put_targets(Rule=rule, Targets=[{"Id": "ok", "Arn": arn}, {"Id": "gone", "Arn": missing}])
    entries = aws("events").put_events(
        Entries=[
            {"Source": source, "DetailType": "Booked", "Detail": json.dumps({"seat": "A1"})},
            {"Source": source, "DetailType": "Ignored", "Detail": "{}"},
        ]
    )["Entries"]
    matched_id, unmatched_id = entries[0]["EventId"], entries[1]["EventId"]

    def settled() -> dict[str, Any] | None:
        events = {e["id"]: e for e in requests.get(f"{console(endpoint)}/api/events", timeout=10).json()["events"]}
        event = events.get(matched_id)
        if event and all(t["status"] not in ("queued", "retrying") for r in event["rules"] for t in r["targets"]):
            return events
        return None

    events = wait_until(settled)
    matched = events[matched_id]
    assert matched["source"] == source and matched["detailType"] == "Booked" and json.loads(matched["detail"])
    [matched_rule] = matched["rules"]
    assert matched_rule["name"] == rule
    outcomes = {t["arn"]: t for t in matched_rule["targets"]}
    assert outcomes[arn]["status"] == "delivered"
    assert outcomes[missing]["status"] == "dropped" and "ResourceNotFoundException" in outcomes[missing]["error"]
    assert events[unmatched_id]["rules"] == []


def test_peeking_changes_no_receive_count_and_the_dlq_redrives_to_its_source(
    aws: Callable[[str], Any], endpoint: str
) -> None:
    """AWS StartMessageMoveTask: a DLQ's messages move back to the source queue, with their ids and bodies."""
    url, arn, dlq_url, dlq_arn = make_queue_with_dlq(aws)
    dead_letter(aws, url, "poison-1")
    for _ in range(3):
        peeked = requests.get(f"{console(endpoint)}/api/queue", params={"arn": dlq_arn}, timeout=10).json()
    [message] = peeked["messages"]
    assert message["body"] == "poison-1" and message["state"] == "visible"
    assert message["attributes"]["ApproximateReceiveCount"] == 1  # the one receive on the source queue
    assert peeked["deadLetterSources"] == [arn]
    moved = requests.post(
        f"{console(endpoint)}/api/redrive",
        json={"queue": dlq_arn},
        headers={"X-Console-Token": token(endpoint), "Origin": endpoint},
        timeout=10,
    )
    assert moved.status_code == 200 and moved.json() == {"moved": 1, "from": dlq_arn, "to": arn}
    sqs = aws("sqs")
    assert sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
        "ApproximateNumberOfMessages"
    ] == "0"
    [back] = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert back["MessageId"] == message["messageId"] and back["Body"] == "poison-1"
    assert back["Attributes"]["ApproximateReceiveCount"] == "1"  # counted again from 0


def test_an_execution_graph_colours_each_state_by_outcome_with_retries_and_catches(
    aws: Callable[[str], Any], make_function: Any, endpoint: str
) -> None:
    """AWS: a Task's Retry re-runs it; when the retries are spent its Catch leads on to the handler state, and the
    execution succeeds through it."""
    function_arn = aws("lambda").get_function(FunctionName=make_function(FAILS))["Configuration"]["FunctionArn"]
    definition = {
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task",
                "Resource": function_arn,
                "Retry": [{"ErrorEquals": ["ValueError"], "MaxAttempts": 1, "IntervalSeconds": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Refund", "ResultPath": "$.error"}],
                "Next": "Confirm",
            },
            "Confirm": {"Type": "Succeed"},
            "Refund": {"Type": "Pass", "End": True},
        },
    }
    machine = aws("stepfunctions").create_state_machine(
        name=f"console-sm-{uuid.uuid4().hex[:6]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    execution_arn = aws("stepfunctions").start_execution(stateMachineArn=machine, input='{"order": 7}')["executionArn"]
    wait_until(
        lambda: aws("stepfunctions").describe_execution(executionArn=execution_arn)["status"] != "RUNNING", timeout=30
    )
    listed = requests.get(f"{console(endpoint)}/api/executions", timeout=10).json()["executions"]
    assert any(e["arn"] == execution_arn and e["status"] == "SUCCEEDED" for e in listed)
    detail = requests.get(f"{console(endpoint)}/api/execution", params={"arn": execution_arn}, timeout=10).json()
    nodes = {n["name"]: n for n in detail["graph"]["nodes"]}
    assert nodes["Charge"]["status"] == "caught"
    assert nodes["Charge"]["attempts"] == 2 and nodes["Charge"]["retries"] == 1
    assert nodes["Charge"]["error"] == "ValueError"
    assert nodes["Refund"]["status"] == "succeeded" and nodes["Confirm"]["status"] == "not-run"
    assert json.loads(nodes["Charge"]["input"]) == {"order": 7}
    edges = {(e["from"], e["to"], e["kind"]): e for e in detail["graph"]["edges"]}
    assert edges[("Charge", "Refund", "catch")]["taken"] and not edges[("Charge", "Confirm", "next")]["taken"]
    assert nodes["Charge"]["y"] < nodes["Refund"]["y"]  # laid out in layers from StartAt


# ---- safety ---------------------------------------------------------------------------------------------------------
def _redrive(endpoint: str, headers: dict[str, str]) -> requests.Response:
    return requests.post(f"{console(endpoint)}/api/redrive", json={"queue": "arn:nope"}, headers=headers, timeout=10)


def test_a_cross_origin_post_is_refused_even_with_the_token(endpoint: str) -> None:
    refused = _redrive(endpoint, {"Origin": "http://evil.example", "X-Console-Token": token(endpoint)})
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["title"] == "Forbidden" and "origin" in refused.json()["detail"]


def test_a_post_without_the_token_or_with_a_wrong_one_is_refused(endpoint: str) -> None:
    for headers in ({"Origin": endpoint}, {"Origin": endpoint, "X-Console-Token": "guess"}, {}):
        refused = _redrive(endpoint, headers)
        assert refused.status_code == 403 and refused.headers["Content-Type"] == "application/problem+json"
        assert "token" in refused.json()["detail"]
    allowed = _redrive(endpoint, {"Origin": endpoint, "X-Console-Token": token(endpoint)})
    assert allowed.status_code == 404  # past the checks: the queue does not exist


def test_a_rebinding_host_header_is_refused(cloud: LocalCloud, endpoint: str) -> None:
    """DNS rebinding: a page whose name now points at 127.0.0.1 sends its own name as Host."""
    port = cloud.settings.port
    for host in ("evil.example", f"evil.example:{port}", f"localhost.evil.example:{port}", f"localhost:{port + 1}"):
        for path in ("/", "/api/overview", "/stream"):
            refused = requests.get(f"{console(endpoint)}{path}", headers={"Host": host}, timeout=10)
            assert refused.status_code == 403, (host, path)
            assert refused.headers["Content-Type"] == "application/problem+json"
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
        assert requests.get(f"{console(endpoint)}/api/overview", headers={"Host": host}, timeout=10).status_code == 200


def test_reads_are_not_writes(endpoint: str) -> None:
    assert requests.post(f"{console(endpoint)}/api/overview", timeout=10).status_code == 403  # no token
    assert requests.get(f"{console(endpoint)}/api/redrive", timeout=10).status_code == 404
    bad = requests.get(f"{console(endpoint)}/api/invocations", params={"limit": "0"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["status"] == 400


# ---- lazy start, panels, shutdown -----------------------------------------------------------------------------------
LAZY_SCRIPT = """
import sys, tempfile, urllib.request
from pathlib import Path
from localcloud.server import LocalCloud, Settings
from tests.localcloud.conftest import free_port
cloud = LocalCloud(Settings(port=free_port(), state_dir=Path(tempfile.mkdtemp()), quiet=True)).start()
before = sorted(m for m in sys.modules if m.startswith("localcloud.console"))
with urllib.request.urlopen(cloud.settings.endpoint_url + "/_localcloud/console/api/overview") as answer:
    status = answer.status
after = "localcloud.console" in sys.modules
cloud.shutdown(deadline_s=2)
print(before, status, after)
"""


def test_the_console_is_loaded_by_its_first_request_not_at_start() -> None:
    result = subprocess.run(
        [sys.executable, "-c", LAZY_SCRIPT], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[] 200 True", result.stderr[-2000:]


def test_extension_panels_are_listed_and_served_and_an_open_stream_does_not_hold_up_shutdown(tmp_path: Path) -> None:
    cloud = CloudProcess(tmp_path / "cloud", extensions=("tests.localcloud.console_panel_example:Panels",))
    try:
        base = console(cloud.endpoint_url)
        panels = requests.get(f"{base}/api/panels", timeout=10).json()["panels"]
        assert panels == [
            {"id": "example-script", "title": "Example script", "module": "/_localcloud/console/panels/example-script.js"},
            {"id": "example-rows", "title": "Example rows", "endpoint": "/_localcloud/example/rows"},
        ]
        script = requests.get(f"{cloud.endpoint_url}{panels[0]['module']}", timeout=10)
        assert script.status_code == 200 and "export async function render" in script.text
        assert requests.get(f"{base}/panels/example-rows.js", timeout=10).status_code == 404
        # The extension's console API: reads as they are, mutations behind the token and origin checks.
        count = f"{base}/api/x/count"
        assert requests.get(count, timeout=10).json() == {"count": 0}
        assert requests.post(count, json={"add": 2}, timeout=10).status_code == 403
        mine = {"X-Console-Token": token(cloud.endpoint_url), "Origin": cloud.endpoint_url}
        foreign = requests.post(count, json={"add": 2}, headers={**mine, "Origin": "http://evil.example"}, timeout=10)
        assert foreign.status_code == 403
        assert requests.post(count, json={"add": 2}, headers=mine, timeout=10).json() == {"count": 2}
        refused = requests.post(count, json={"add": "two"}, headers=mine, timeout=10)
        assert refused.status_code == 422 and refused.json()["detail"] == "add must be a whole number"
        assert requests.get(f"{base}/api/x/nothing", timeout=10).status_code == 404
        stream = requests.get(f"{base}/stream", stream=True, timeout=30)
        assert stream.status_code == 200
        started = time.monotonic()
        cloud.signal(signal.SIGTERM)
        code = cloud.proc.wait(timeout=20)
        assert code == 0 and time.monotonic() - started < 5
        assert b"connected" in b"".join(stream.iter_content(chunk_size=None))  # the stream ended with the cloud
    finally:
        cloud.stop()


@pytest.mark.parametrize("kind", ["invocation", "event"])
def test_idle_recorder_builds_no_notes(kind: str) -> None:
    """Nobody watching: a record is kept but no notification is built (the hooks stay cheap)."""
    from localcloud.activity import Activity

    activity = Activity(max_invocations=3)
    for i in range(5):
        if kind == "invocation":
            activity.invocation(
                function="f", qualifier=None, version="$LATEST", request_id=str(i), started=0.0, duration_ms=1.0,
                cold=False, status="ok", event=b"{}", response=b"x" * 100_000, logs=["line"],
            )  # fmt: skip
        else:
            activity.bus_event(event_id=str(i), bus="default", source="s", detail_type="d", detail="{}")
    assert not activity._notes
    if kind == "invocation":
        assert [i["requestId"] for i in activity.invocations()] == ["4", "3", "2"]  # the ring keeps the last 3
        assert len(activity.invocation_detail("4")["response"]) == 64 * 1024  # type: ignore[index]
        assert activity.function_stats()["f"] == {"invocations": 5, "errors": 0, "p50Ms": 1.0}
