"""The local cloud console's answer times with a stack deployed, and the cost of the activity hooks.

A local cloud is started as a subprocess on a free 127.0.0.1 port. Through boto3 the bench deploys a CloudFormation
stack (queues with DLQs and a table, with outputs), then ``--functions`` functions, ``--queues`` queues with their
DLQs (a message each in some), ``--tables`` tables with ``--items`` items each, a rule per function, a state machine
with executions, and invokes every function a few times. Then each console answer is timed over ``--rounds`` GETs
(p50, p95, max, bytes): the overview JSON, the page's HTML, the invocations, events and executions lists, one
execution's graph, one queue's peek.

The hooks' cost is timed in-process: ``Activity.invocation`` and ``Activity.bus_event`` with nobody watching (what
every invocation and event pays), and with one watcher.

    python -m bench.console [--functions 20] [--queues 20] [--tables 10] [--items 500] [--rounds 50]

Figures, never assertions: shared machines are noisy (the load average is printed beside them).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
import zipfile
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
ROLE = "arn:aws:iam::123456789012:role/bench-console"
HANDLER = "def handler(event, context):\n    print('order', event.get('n'))\n    return {'ok': True, 'n': event.get('n')}\n"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client(service: str, endpoint: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - the local cloud's test credentials
    )


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
    return buffer.getvalue()


def _stack_template(queues: int) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            },
        }
    }
    outputs: dict[str, Any] = {"TableName": {"Value": {"Ref": "Table"}}}
    for i in range(queues):
        resources[f"Dlq{i}"] = {"Type": "AWS::SQS::Queue"}
        resources[f"Queue{i}"] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [f"Dlq{i}", "Arn"]}, "maxReceiveCount": 3}
            },
        }
        outputs[f"Queue{i}Url"] = {"Value": {"Ref": f"Queue{i}"}}
    return {"Resources": resources, "Outputs": outputs}


def deploy(endpoint: str, args: argparse.Namespace) -> dict[str, str]:
    iam = _client("iam", endpoint)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}  # noqa: E501
    iam.create_role(RoleName="bench-console", AssumeRolePolicyDocument=json.dumps(trust))
    cfn = _client("cloudformation", endpoint)
    cfn.create_stack(StackName="bench-console", TemplateBody=json.dumps(_stack_template(5)))
    lam, sqs, ddb, events, sfn = (_client(s, endpoint) for s in ("lambda", "sqs", "dynamodb", "events", "stepfunctions"))
    code = _zip()
    arns = []
    for i in range(args.functions):
        arns.append(
            lam.create_function(
                FunctionName=f"bench-fn-{i}", Runtime="python3.12", Role=ROLE, Handler="app.handler", Code={"ZipFile": code}
            )["FunctionArn"]
        )
    dlq_arn = ""
    for i in range(args.queues):
        dlq = sqs.create_queue(QueueName=f"bench-dlq-{i}")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
        url = sqs.create_queue(QueueName=f"bench-q-{i}", Attributes={"RedrivePolicy": policy})["QueueUrl"]
        for n in range(5):
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))
            sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"dead": n}))
    for t in range(args.tables):
        name = f"bench-table-{t}"
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for start in range(0, args.items, 25):
            items = [{"PutRequest": {"Item": {"pk": {"S": f"k{n}"}}}} for n in range(start, min(start + 25, args.items))]
            ddb.batch_write_item(RequestItems={name: items})
    for i, arn in enumerate(arns):
        events.put_rule(Name=f"bench-rule-{i}", EventPattern=json.dumps({"source": [f"bench.{i}"]}))
        events.put_targets(Rule=f"bench-rule-{i}", Targets=[{"Id": "fn", "Arn": arn}])
    definition = {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": arns[0], "End": True}}}
    machine = sfn.create_state_machine(name="bench-machine", definition=json.dumps(definition), roleArn=ROLE)
    executions = [
        sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps({"n": n}))["executionArn"]
        for n in range(10)
    ]
    for arn in arns:
        for n in range(5):
            lam.invoke(FunctionName=arn, Payload=json.dumps({"n": n}).encode())
    for i in range(args.functions):
        events.put_events(Entries=[{"Source": f"bench.{i}", "DetailType": "Bench", "Detail": json.dumps({"i": i})}])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if all(sfn.describe_execution(executionArn=e)["status"] != "RUNNING" for e in executions):
            break
        time.sleep(0.2)
    return {"execution": executions[0], "dlq": dlq_arn}


def time_get(url: str, rounds: int) -> dict[str, float]:
    session = requests.Session()
    session.get(url, timeout=30).raise_for_status()  # warm: the console's first request loads it
    samples = []
    size = 0
    for _ in range(rounds):
        started = time.perf_counter()
        answer = session.get(url, timeout=30)
        samples.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
        size = len(answer.content)
    samples.sort()
    return {
        "p50": statistics.median(samples),
        "p95": samples[max(0, int(len(samples) * 0.95) - 1)],
        "max": samples[-1],
        "bytes": size,
    }


def hook_costs() -> dict[str, float]:
    """Microseconds per call of the hooks, nobody watching and with one watcher."""
    out: dict[str, float] = {}
    for watching in (False, True):
        out.update(_hook_cost(watching))
    return out


def _hook_cost(watching: bool, n: int = 20000) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from localcloud.activity import Activity

    payload, response, logs = b'{"orderId": "o-1", "seats": ["A1", "A2"]}' * 20, b'{"ok": true}' * 10, ["a line"] * 3
    activity = Activity()
    if watching:
        threading.Thread(target=lambda: [None for _ in activity.watch()], daemon=True).start()
        time.sleep(0.05)
    counter = iter(range(10**9))

    def one_invocation() -> None:
        activity.invocation(
            function="fn", qualifier=None, version="$LATEST", request_id=str(next(counter)), started=0.0,
            duration_ms=1.5, cold=False, status="ok", event=payload, response=response, logs=logs,
        )  # fmt: skip

    def one_event() -> None:
        activity.bus_event(event_id=str(next(counter)), bus="default", source="s", detail_type="d", detail="{}")

    label = "watched" if watching else "idle"
    costs = {
        f"invocation_{label}_us": min(timeit.repeat(one_invocation, number=n, repeat=3)) / n * 1e6,
        f"event_{label}_us": min(timeit.repeat(one_event, number=n, repeat=3)) / n * 1e6,
    }
    activity.close()  # ends the watcher
    return costs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--functions", type=int, default=20)
    parser.add_argument("--queues", type=int, default=20)
    parser.add_argument("--tables", type=int, default=10)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args(argv)
    port = _free_port()
    state = tempfile.mkdtemp(prefix="bench-console-")
    process = subprocess.Popen(
        [sys.executable, "-m", "localcloud", "--port", str(port), "--state-dir", state, "--quiet"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{endpoint}/_localcloud/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        started = time.perf_counter()
        ids = deploy(endpoint, args)
        deployed_s = time.perf_counter() - started
        base = f"{endpoint}/_localcloud/console"
        rows = {
            "page (HTML)": f"{base}/",
            "overview (JSON)": f"{base}/api/overview",
            "invocations": f"{base}/api/invocations",
            "events": f"{base}/api/events",
            "executions": f"{base}/api/executions",
            "execution graph": f"{base}/api/execution?arn={ids['execution']}",
            "queue peek (DLQ)": f"{base}/api/queue?arn={ids['dlq']}",
        }
        figures = {name: time_get(url, args.rounds) for name, url in rows.items()}
    finally:
        process.terminate()
        process.wait(timeout=30)
    load = os.getloadavg()[0]
    print(
        f"deployed: 1 stack (5 queues + 5 DLQs + 1 table), {args.functions} functions ({args.functions * 5} invocations), "
        f"{args.queues} queues + DLQs, {args.tables} tables x {args.items} items, {args.functions} rules, "
        f"1 state machine x 10 executions in {deployed_s:.1f} s; load average {load:.2f}"
    )
    print(f"{'answer':<20} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'bytes':>9}")
    for name, row in figures.items():
        print(f"{name:<20} {row['p50']:>8.1f} {row['p95']:>8.1f} {row['max']:>8.1f} {row['bytes']:>9}")
    costs = hook_costs()
    print("hook cost per call (us): " + ", ".join(f"{k} {v:.2f}" for k, v in costs.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
