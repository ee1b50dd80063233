"""Docker-free AWS emulators side by side: the local cloud, MiniStack and plain moto_server, on the same rows.

Each target is started here as a subprocess on a free 127.0.0.1 port and measured through boto3 (test credentials,
us-east-1, keep-alive, no retries):
- ready: from ``Popen`` to the first answered API call (STS GetCallerIdentity, polled every 5 ms);
- RSS (VmRSS of the server process) idle right after ready, and after the run; the processes it started (Lambda
  workers) are counted apart;
- then the rows, each as p50 and p99 over a fixed count after a warm-up: DynamoDB PutItem, GetItem, a 20-item Query
  in a 10,000-item table, SQS FIFO SendMessage, Lambda cold start and warm invoke, SQS -> event source mapping ->
  Lambda, EventBridge rule -> Lambda, a one-Lambda-task Step Functions execution, a CloudFormation stack.

The Lambda handler writes the time it received each message to a file (in a temporary folder passed through an
environment variable); the bench compares it with the time just before the send. A row a target cannot do prints
"n/a" and the reason, and every wait has a deadline, so nothing hangs.

Peers run one at a time, in order, for ``--rounds`` rounds (local cloud, MiniStack, moto_server, then again); the
table shows each target's median over the rounds and the ratios local/peer. MiniStack is never a runtime dependency:
on first use it is installed into its own virtualenv under .cache/bench-peers/ (the pin is also the ``bench`` extra).

    python -m bench.emulator [--targets localcloud,ministack,moto] [--rounds 2] [--quick] [--write]

Figures, never assertions: shared machines are noisy (the load average is recorded beside them).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PEERS_DIR = ROOT / ".cache" / "bench-peers"
MINISTACK_VERSION = "1.5.33"  # keep in step with the `bench` extra in pyproject.toml
TARGETS = ("localcloud", "ministack", "moto")
LABELS = {"localcloud": "local cloud", "ministack": "MiniStack", "moto": "moto_server"}
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}  # noqa: S105 - test credentials
SECTION = "## Emulators side by side"

HANDLER = """\
import os
import time


def handler(event, context):
    now = time.time()
    if isinstance(event, dict) and event.get("log"):
        print("one log line")
    ids = []
    if isinstance(event, dict):
        if "Records" in event:
            ids = [record.get("body", "") for record in event["Records"]]
        elif isinstance(event.get("detail"), dict):
            ids = [event["detail"].get("id", "")]
    for name in ids:
        if name and name.isalnum():
            path = os.path.join(os.environ["BENCH_DIR"], name)
            with open(path + ".tmp", "w") as out:
                out.write(repr(now))
            os.replace(path + ".tmp", path)
    return {"at": now}
"""

CFN_CODE = "def handler(event, context):\n    return event\n"


@dataclass(frozen=True)
class Counts:
    api: int  # samples per synchronous API row
    events: int  # samples per asynchronous path (ESM, EventBridge, Step Functions)
    cold: int  # cold starts
    stacks: int  # CloudFormation stacks
    table_items: int  # items in the Query row's table
    warmup: int
    row_timeout_s: float  # a row that takes longer gives n/a
    wait_s: float  # the longest one event, execution or stack may take


FULL = Counts(api=200, events=40, cold=10, stacks=5, table_items=10_000, warmup=10, row_timeout_s=240, wait_s=10)
QUICK = Counts(api=10, events=3, cold=2, stacks=1, table_items=200, warmup=2, row_timeout_s=60, wait_s=10)


class NotAvailable(Exception):  # noqa: N818 - a row's outcome, not an error of the bench
    """The target cannot do this row; the message says why."""


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def summary(samples: list[float]) -> dict[str, Any]:
    return {"p50": percentile(samples, 50), "p99": percentile(samples, 99), "n": len(samples)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_line(exc: BaseException, limit: int = 140) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- processes ---------------------------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of a live process, from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[19])


def rss_mib(pid: int) -> float | None:
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def descendants(pid: int) -> dict[int, int]:
    """Every live process below ``pid``, as pid -> start time (workers in their own sessions included)."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))):
            children.setdefault(stat[0], []).append((int(entry.name), stat[1]))
    found: dict[int, int] = {}
    todo = [pid]
    while todo:
        for child, started in children.get(todo.pop(), []):
            found[child] = started
            todo.append(child)
    return found


@dataclass
class Target:
    name: str
    port: int
    argv: list[str]
    env: dict[str, str]
    cwd: Path


def target_command(name: str, port: int, workdir: Path) -> Target:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": REGION}
    if name == "localcloud":
        argv = [
            sys.executable,
            "-m",
            "localcloud",
            "--port",
            str(port),
            "--state-dir",
            str(workdir / "state"),
            "--quiet",
        ]
        return Target(name, port, argv, env, ROOT)
    if name == "moto":
        return Target(
            name, port, [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env, workdir
        )
    if name == "ministack":
        python = ministack_python()
        # MiniStack reads its port and bind address from the environment; its Lambda runs Python handlers as local
        # worker processes (LAMBDA_EXECUTOR=local, its default) on its own interpreter, with no Docker.
        env |= {
            "GATEWAY_PORT": str(port),
            "BIND_HOST": "127.0.0.1",
            "LAMBDA_EXECUTOR": "local",
            "TMPDIR": str(workdir),  # its pid file and scratch files
            "S3_DATA_DIR": str(workdir / "s3"),
        }
        return Target(name, port, [str(python), "-m", "ministack"], env, workdir)
    raise ValueError(f"unknown target {name!r}; choose from {', '.join(TARGETS)}")


def ministack_python() -> Path:
    """MiniStack's own virtualenv, created on first use: never in the project's environment."""
    venv = PEERS_DIR / "ministack"
    python = venv / "bin" / "python"
    marker = venv / f".ministack-{MINISTACK_VERSION}"
    if not marker.exists():
        print(f"installing ministack=={MINISTACK_VERSION} into {venv.relative_to(ROOT)} (once)", flush=True)  # noqa: T201
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                f"ministack=={MINISTACK_VERSION}",
            ],
            check=True,
        )
        marker.touch()
    return python


class Server:
    """One target's process: started in its own process group, stopped with everything it started."""

    def __init__(self, target: Target, port: int, log_path: Path) -> None:
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self._log = log_path.open("wb")
        self.log_path = log_path
        self._seen: dict[int, int] = {}
        self.proc = subprocess.Popen(
            target.argv,
            cwd=target.cwd,
            env=target.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started = time.perf_counter()
        self._started_ticks = (_stat(self.proc.pid) or (0, 0))[1]

    def wait_ready(self, sts: Any, timeout_s: float = 60) -> float:
        """Seconds from Popen to the first answered API call."""
        deadline = self.started + timeout_s
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                sts.get_caller_identity()
                return time.perf_counter() - self.started
            except Exception:  # noqa: BLE001 - refused or not yet serving: poll again
                time.sleep(0.005)
        raise RuntimeError(f"no API answer within {timeout_s:.0f} s:\n{self.log_tail()}")

    def memory(self) -> dict[str, Any]:
        """VmRSS of the server process, and of the processes it started (Lambda workers), in MiB."""
        below = descendants(self.proc.pid)
        self._seen |= below
        workers = [rss for pid in below if (rss := rss_mib(pid)) is not None]
        return {"server_mib": rss_mib(self.proc.pid), "workers_mib": sum(workers), "workers": len(workers)}

    def log_tail(self, lines: int = 15) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def processes(self) -> dict[int, int]:
        """pid -> start time of the server and of every process seen below it."""
        return {self.proc.pid: self._started_ticks, **self._seen}

    def stop(self) -> None:
        self._seen |= descendants(self.proc.pid)
        if self.proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything left in the group
        for pid, started in self._seen.items():  # workers in sessions of their own: only the very processes seen
            stat = _stat(pid)
            if stat and stat[1] == started:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self._log.close()


# --- the rows ----------------------------------------------------------------------------------------------------


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.at:
            raise NotAvailable(f"row took longer than {self.seconds:.0f} s")


@dataclass
class Bench:
    endpoint: str
    counts: Counts
    workdir: Path
    clients: dict[str, Any] = field(default_factory=dict)
    deadline: Deadline = field(default_factory=lambda: Deadline(60))
    role_arn: str = ""
    lambda_ok: str = ""  # why Lambda is unavailable, once known

    def client(self, service: str) -> Any:
        if service not in self.clients:
            import boto3
            from botocore.config import Config

            config = Config(
                retries={"total_max_attempts": 1, "mode": "standard"},
                connect_timeout=2,
                read_timeout=min(30, max(5, self.counts.wait_s * 2)),
                tcp_keepalive=True,
            )
            self.clients[service] = boto3.client(
                service, region_name=REGION, endpoint_url=self.endpoint, config=config, **CREDENTIALS
            )
        return self.clients[service]

    @property
    def events_dir(self) -> Path:
        return self.workdir / "events"


def timed(calls: Callable[[int], Any], n: int, warmup: int, deadline: Deadline) -> list[float]:
    for i in range(warmup):
        calls(-1 - i)
    samples = []
    for i in range(n):
        deadline.check()
        started = time.perf_counter()
        calls(i)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def ensure_role(b: Bench) -> str:
    if not b.role_arn:
        iam = b.client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        b.role_arn = iam.create_role(RoleName="bench-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    return b.role_arn


def handler_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.py", HANDLER)
    return buffer.getvalue()


def create_function(b: Bench, name: str) -> str:
    lam = b.client("lambda")
    answer = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ensure_role(b),
        Handler="index.handler",
        Code={"ZipFile": handler_zip()},
        Timeout=30,
        Environment={"Variables": {"BENCH_DIR": str(b.events_dir)}},
    )
    wait_function(b, name)
    return str(answer["FunctionArn"])


def wait_function(b: Bench, name: str) -> None:
    deadline = time.monotonic() + b.counts.wait_s
    while time.monotonic() < deadline:
        config = b.client("lambda").get_function_configuration(FunctionName=name)
        if config.get("State", "Active") == "Active" and config.get("LastUpdateStatus", "Successful") != "InProgress":
            return
        time.sleep(0.005)
    raise NotAvailable(f"function {name} not Active after {b.counts.wait_s:.0f} s")


def invoke(b: Bench, name: str, payload: bytes = b'{"ping": 1}') -> None:
    answer = b.client("lambda").invoke(FunctionName=name, Payload=payload)
    body = answer["Payload"].read()
    if answer.get("FunctionError") or answer.get("StatusCode") != 200:
        raise NotAvailable(f"invoke failed: {answer.get('FunctionError')} {body[:120]!r}")


def lambda_available(b: Bench) -> None:
    """Raise NotAvailable when this target cannot run a Lambda handler (the rows that need one say so)."""
    if b.lambda_ok == "yes":
        return
    if not b.lambda_ok:
        try:
            create_function(b, "bench-sink")
            invoke(b, "bench-sink")
            b.lambda_ok = "yes"
            return
        except NotAvailable as exc:
            b.lambda_ok = str(exc)
        except Exception as exc:  # noqa: BLE001 - any failure means: this target runs no Lambda here
            b.lambda_ok = one_line(exc)
        if "docker" in b.lambda_ok.lower():
            b.lambda_ok = f"needs Docker (runs Lambda handlers in containers): {b.lambda_ok}"
        else:
            b.lambda_ok = f"no Lambda runtime: {b.lambda_ok}"
    raise NotAvailable(b.lambda_ok)


def wait_event(b: Bench, name: str, sent: float) -> float:
    """Milliseconds from ``sent`` (wall clock) to the handler's receipt of event ``name``."""
    path = b.events_dir / name
    deadline = time.monotonic() + b.counts.wait_s
    while time.monotonic() < deadline:
        with suppress(FileNotFoundError):
            return (float(path.read_text()) - sent) * 1000
        time.sleep(0.001)
    raise NotAvailable(f"no delivery within {b.counts.wait_s:.0f} s")


def events_path(b: Bench, send: Callable[[str], None]) -> list[float]:
    def one(_: int) -> float:
        b.deadline.check()
        name = uuid.uuid4().hex
        sent = time.time()
        send(name)
        return wait_event(b, name, sent)

    for i in range(b.counts.warmup // 2 or 1):
        one(-1 - i)
    return [one(i) for i in range(b.counts.events)]


def row_put(b: Bench) -> list[float]:
    ddb = b.client("dynamodb")
    ddb.create_table(
        TableName="bench-kv",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    def put(i: int) -> None:
        ddb.put_item(TableName="bench-kv", Item={"pk": {"S": f"k{i}"}, "v": {"S": "x" * 100}, "n": {"N": str(i)}})

    return timed(put, b.counts.api, b.counts.warmup, b.deadline)


def row_get(b: Bench) -> list[float]:
    ddb = b.client("dynamodb")

    def get(i: int) -> None:
        if "Item" not in ddb.get_item(TableName="bench-kv", Key={"pk": {"S": f"k{max(i, 0)}"}}):
            raise NotAvailable("GetItem found no item")

    return timed(get, b.counts.api, b.counts.warmup, b.deadline)


PARTITION = 20


def row_query(b: Bench) -> list[float]:
    ddb = b.client("dynamodb")
    ddb.create_table(
        TableName="bench-query",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    items = b.counts.table_items
    for first in range(0, items, 25):
        b.deadline.check()
        batch = [
            {"PutRequest": {"Item": {"pk": {"S": f"P#{i // PARTITION}"}, "sk": {"S": f"I#{i:08d}"}, "v": {"N": "1"}}}}
            for i in range(first, min(items, first + 25))
        ]
        ddb.batch_write_item(RequestItems={"bench-query": batch})
    partitions = items // PARTITION

    def query(i: int) -> None:
        answer = ddb.query(
            TableName="bench-query",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": f"P#{(abs(i) * 7919) % partitions}"}},
        )
        if answer["Count"] != PARTITION:
            raise NotAvailable(f"Query returned {answer['Count']} items, not {PARTITION}")

    return timed(query, b.counts.api, b.counts.warmup, b.deadline)


def row_fifo(b: Bench) -> list[float]:
    sqs = b.client("sqs")
    url = sqs.create_queue(QueueName="bench.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]

    def send(i: int) -> None:
        sqs.send_message(
            QueueUrl=url, MessageBody=f"m{i}", MessageGroupId=f"g{i % 4}", MessageDeduplicationId=uuid.uuid4().hex
        )

    return timed(send, b.counts.api, b.counts.warmup, b.deadline)


def row_cold(b: Bench) -> list[float]:
    lambda_available(b)
    lam = b.client("lambda")
    samples = []
    for i in range(b.counts.cold):
        b.deadline.check()
        # A configuration change makes a new execution environment: the next invoke is a cold start.
        variables = {"BENCH_DIR": str(b.events_dir), "BENCH_ROUND": str(i)}
        lam.update_function_configuration(FunctionName="bench-sink", Environment={"Variables": variables})
        wait_function(b, "bench-sink")
        started = time.perf_counter()
        invoke(b, "bench-sink")
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def row_warm(b: Bench) -> list[float]:
    lambda_available(b)
    return timed(lambda _: invoke(b, "bench-sink"), b.counts.api, b.counts.warmup, b.deadline)


def row_warm_logging(b: Bench) -> list[float]:
    lambda_available(b)
    return timed(lambda _: invoke(b, "bench-sink", b'{"log": 1}'), b.counts.api, b.counts.warmup, b.deadline)


def row_esm(b: Bench) -> list[float]:
    lambda_available(b)
    sqs, lam = b.client("sqs"), b.client("lambda")
    url = sqs.create_queue(QueueName="bench-esm")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    uuid_ = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="bench-sink", BatchSize=1)["UUID"]
    deadline = time.monotonic() + b.counts.wait_s
    while lam.get_event_source_mapping(UUID=uuid_)["State"] not in ("Enabled",):
        if time.monotonic() > deadline:
            raise NotAvailable("event source mapping not Enabled")
        time.sleep(0.01)
    return events_path(b, lambda name: sqs.send_message(QueueUrl=url, MessageBody=name))


def row_eventbridge(b: Bench) -> list[float]:
    lambda_available(b)
    events, lam = b.client("events"), b.client("lambda")
    rule = events.put_rule(Name="bench-rule", EventPattern=json.dumps({"source": ["bench"]}))["RuleArn"]
    arn = lam.get_function_configuration(FunctionName="bench-sink")["FunctionArn"]
    with suppress(Exception):  # emulators rarely check it; AWS needs it
        lam.add_permission(
            FunctionName="bench-sink",
            StatementId="bench-events",
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            SourceArn=rule,
        )
    events.put_targets(Rule="bench-rule", Targets=[{"Id": "sink", "Arn": arn}])

    def send(name: str) -> None:
        answer = events.put_events(
            Entries=[{"Source": "bench", "DetailType": "bench", "Detail": json.dumps({"id": name})}]
        )
        if answer.get("FailedEntryCount"):
            raise NotAvailable(f"PutEvents failed: {answer['Entries']}")

    return events_path(b, send)


def row_stepfunctions(b: Bench) -> list[float]:
    lambda_available(b)
    sfn = b.client("stepfunctions")
    arn = b.client("lambda").get_function_configuration(FunctionName="bench-sink")["FunctionArn"]
    definition = {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": arn, "End": True}}}
    machine = sfn.create_state_machine(name="bench-machine", definition=json.dumps(definition), roleArn=ensure_role(b))

    def run(_: int) -> None:
        execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input="{}")["executionArn"]
        deadline = time.monotonic() + b.counts.wait_s
        while True:
            described = sfn.describe_execution(executionArn=execution)
            if described["status"] == "SUCCEEDED":
                return
            if described["status"] != "RUNNING":
                raise NotAvailable(
                    f"execution {described['status']}: {described.get('error', '')} {described.get('cause', '')}"[:140]
                )
            if time.monotonic() > deadline:
                raise NotAvailable(f"execution still RUNNING after {b.counts.wait_s:.0f} s")
            time.sleep(0.002)

    return timed(run, b.counts.events, b.counts.warmup // 2 or 1, b.deadline)


def row_cloudformation(b: Bench) -> list[float]:
    cfn = b.client("cloudformation")
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "BillingMode": "PAY_PER_REQUEST",
                },
            },
            "Queue": {"Type": "AWS::SQS::Queue"},
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "index.handler",
                    "Role": ensure_role(b),
                    "Code": {"ZipFile": CFN_CODE},
                },
            },
        },
    }
    body = json.dumps(template)

    def stack(i: int) -> None:
        name = f"bench-stack-{uuid.uuid4().hex[:8]}"
        cfn.create_stack(StackName=name, TemplateBody=body)
        deadline = time.monotonic() + b.counts.wait_s * 3
        while True:
            status = cfn.describe_stacks(StackName=name)["Stacks"][0]
            if status["StackStatus"] == "CREATE_COMPLETE":
                return
            if not status["StackStatus"].endswith("IN_PROGRESS"):
                raise NotAvailable(f"stack {status['StackStatus']}: {status.get('StackStatusReason', '')}"[:140])
            if time.monotonic() > deadline:
                raise NotAvailable(f"stack {status['StackStatus']} after {b.counts.wait_s * 3:.0f} s")
            time.sleep(0.005)

    return timed(stack, b.counts.stacks, 1, b.deadline)


# key, label, measurement (milliseconds per sample)
ROWS: list[tuple[str, str, Callable[[Bench], list[float]]]] = [
    ("lambda_warm", "Lambda warm invoke", row_warm),
    ("lambda_warm_logging", "Lambda warm invoke, the handler prints one line", row_warm_logging),
    ("lambda_cold", "Lambda cold start (invoke after a configuration change)", row_cold),
    ("sqs_esm_lambda", "SQS → event source mapping → Lambda", row_esm),
    ("eventbridge_lambda", "EventBridge rule → Lambda", row_eventbridge),
    ("dynamodb_put", "DynamoDB PutItem", row_put),
    ("dynamodb_get", "DynamoDB GetItem", row_get),
    ("dynamodb_query", "Query, 20 items of a {items:,}-item table", row_query),
    ("sqs_fifo_send", "SQS FIFO SendMessage", row_fifo),
    ("stepfunctions", "Step Functions, 1 Lambda task, start → SUCCEEDED", row_stepfunctions),
    ("cloudformation", "CloudFormation stack (table + queue + function)", row_cloudformation),
]


def run_target(name: str, counts: Counts, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Start one target, measure it, stop it. Every row is either a summary of samples or {"na": reason}."""
    import boto3
    from botocore.config import Config

    result: dict[str, Any] = {
        "target": name,
        "rows": {},
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
    }
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        workdir = Path(tmp)
        try:
            target = target_command(name, free_port(), workdir)
        except (subprocess.CalledProcessError, OSError) as exc:
            result["na"] = f"could not be installed: {one_line(exc)}"
            return result
        port = target.port
        sts = boto3.client(
            "sts",
            region_name=REGION,
            endpoint_url=f"http://127.0.0.1:{port}",
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=5),
            **CREDENTIALS,
        )
        server = Server(target, port, workdir / "server.log")
        try:
            result["ready_s"] = server.wait_ready(sts)
            result["rss_idle"] = server.memory()
            bench = Bench(server.endpoint, counts, workdir)
            bench.events_dir.mkdir()
            for key, label, measure in ROWS:
                bench.deadline = Deadline(counts.row_timeout_s)
                try:
                    result["rows"][key] = summary(measure(bench))
                except NotAvailable as exc:
                    result["rows"][key] = {"na": str(exc)}
                except Exception as exc:  # noqa: BLE001 - a row the target fails is reported, the others still run
                    result["rows"][key] = {"na": one_line(exc)}
                row = result["rows"][key]
                shown = f"{row['p50']:.1f} ms p50, {row['p99']:.1f} ms p99" if "p50" in row else f"n/a ({row['na']})"
                log(f"  {LABELS[name]:<12} {label.format(items=counts.table_items)}: {shown}")
            result["rss_after"] = server.memory()
        except RuntimeError as exc:
            result["na"] = f"did not start: {exc}"
        finally:
            server.stop()
            result["processes"] = server.processes()
    result["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    return result


# --- the table ---------------------------------------------------------------------------------------------------


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One target's rounds -> medians of each figure, or the reason it is n/a."""
    ok = [run for run in runs if "na" not in run]
    if not ok:
        return {"na": runs[0]["na"] if runs else "not run"}
    combined: dict[str, Any] = {
        "ready_s": statistics.median(run["ready_s"] for run in ok),
        "rss_idle_mib": statistics.median(run["rss_idle"]["server_mib"] or 0 for run in ok),
        "rss_after_mib": statistics.median(run["rss_after"]["server_mib"] or 0 for run in ok if "rss_after" in run),
        "workers_after_mib": statistics.median(run["rss_after"]["workers_mib"] for run in ok if "rss_after" in run),
        "workers_after": max(run["rss_after"]["workers"] for run in ok if "rss_after" in run),
        "rows": {},
    }
    for key, _, _ in ROWS:
        rows = [run["rows"][key] for run in ok if key in run["rows"]]
        measured = [row for row in rows if "p50" in row]
        if measured:
            combined["rows"][key] = {
                "p50": statistics.median(row["p50"] for row in measured),
                "p99": statistics.median(row["p99"] for row in measured),
                "n": sum(row["n"] for row in measured),
                "rounds": len(measured),
            }
        else:
            combined["rows"][key] = {"na": rows[0]["na"] if rows else "not run"}
    return combined


def short(reason: str, limit: int = 60) -> str:
    """A reason short enough for a table cell (the JSON keeps it whole)."""
    reason = (
        reason.replace("|", "/").split(": ", 1)[0] if reason.startswith("needs Docker") else reason.replace("|", "/")
    )
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


def ms(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def ratio(local: float | None, peer: float | None) -> str:
    if local is None or peer is None or peer <= 0:
        return "–"
    return f"{local / peer:.2f}×"


def table(combined: dict[str, dict[str, Any]], targets: list[str], counts: Counts) -> list[str]:
    peers = [t for t in ("ministack", "moto") if t in targets]
    head = ["measure (p50, p99 in brackets)", *(LABELS[t] for t in targets)]
    if "localcloud" in targets:
        head += [f"local / {LABELS[p]}" for p in peers]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def line(label: str, cells: dict[str, str], values: dict[str, float | None]) -> None:
        row = [label, *(cells[t] for t in targets)]
        if "localcloud" in targets:
            row += [ratio(values.get("localcloud"), values.get(p)) for p in peers]
        lines.append("| " + " | ".join(row) + " |")

    def na(t: str) -> str | None:
        return combined[t].get("na")

    def scalar(label: str, key: str, fmt: Callable[[float], str]) -> None:
        cells = {t: ("n/a" if na(t) else fmt(combined[t][key])) for t in targets}
        line(label, cells, {t: (None if na(t) else combined[t][key]) for t in targets})

    scalar("ready (process start → first API answer)", "ready_s", lambda v: f"{v:.2f} s")
    scalar("server RSS, idle right after ready", "rss_idle_mib", lambda v: f"{v:.0f} MiB")
    for key, label, _ in ROWS:
        cells, values = {}, {}
        for t in targets:
            row = None if na(t) else combined[t]["rows"][key]
            if row is None:
                cells[t], values[t] = "n/a", None
            elif "na" in row:
                cells[t], values[t] = f"n/a: {short(row['na'])}", None
            else:
                cells[t], values[t] = f"{ms(row['p50'])} ({ms(row['p99'])})", row["p50"]
        line(label.format(items=counts.table_items), cells, values)
    scalar("server RSS after the run", "rss_after_mib", lambda v: f"{v:.0f} MiB")
    cells = {
        t: ("n/a" if na(t) else f"{combined[t]['workers_after_mib']:.0f} MiB in {combined[t]['workers_after']}")
        for t in targets
    }
    line("Lambda worker processes' RSS after the run", cells, {})
    return lines


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def record(results: dict[str, Any], lines: list[str], path: Path = ROOT / "docs" / "benchmarks.md") -> None:
    """Replace (or add, before "## Latest run") the emulator section of docs/benchmarks.md."""
    text = path.read_text()
    counts = results["counts"]
    loads = ", ".join(" / ".join(run["loadavg_start"]) for run in results["runs"])
    section = "\n".join(
        [
            SECTION,
            f"{results['date']} on {results['machine']}; `python -m bench.emulator --write` (raw figures in "
            f"bench/emulator.json). Each target ran alone, {results['rounds']} rounds alternated "
            f"({' → '.join(LABELS[t] for t in results['targets'])}, then again); each cell is the median over the "
            f"rounds of the p50, with the p99 in brackets. {counts['api']} calls per API row, {counts['events']} per "
            f"asynchronous path, {counts['cold']} cold starts, {counts['stacks']} stacks, after a warm-up. Ratios are "
            f"local cloud / peer at p50 (below 1: the local cloud is faster). Load average (1/5/15 min) at the start "
            f"of each run: {loads}.",
            "",
            *lines,
            "",
            "- Ready: `Popen` → the first answered STS GetCallerIdentity (`python -m localcloud` bare, no extension; "
            "`python -m ministack`; `python -m moto.server`). RSS is VmRSS of the server process alone; the Lambda "
            "worker processes it started are the last row.",
            "- The Lambda handler writes the time it received each SQS message or event to a file; the bench compares it "
            "with the time just before the send. Step Functions polls DescribeExecution every 2 ms, CloudFormation "
            "DescribeStacks every 5 ms.",
            f"- What MiniStack {MINISTACK_VERSION}'s source shows: each service is its own in-memory store behind one "
            "ASGI app (hypercorn), not moto; a SendMessage wakes its event source poller at once (no polling "
            "interval). After each invoke it waits up to 50 ms for the handler's first stderr line before it answers "
            "(`_drain_stderr_bounded`), so a handler that prints nothing pays ~50 ms: the row with one printed line "
            "shows it. Its Python worker imports botocore at start (an invoke-depth hook), which its cold start and "
            "its ~30 MiB per worker pay. It ended each run with several workers for one function (its event source "
            "mapping runs up to 5 batches in flight): the ~0.5 s p99s of its asynchronous paths look like those "
            "workers' cold starts.",
            f"- MiniStack {MINISTACK_VERSION} runs from its own virtualenv (`.cache/bench-peers/`, the `bench` extra "
            "documents the pin), never from the project's. moto_server without Docker has no Lambda runtime: the rows "
            "that need one say so.",
            "",
        ]
    )
    if SECTION in text:
        before, rest = text.split(SECTION, 1)
        after = rest.split("\n## ", 1)
        text = before + section + ("\n## " + after[1] if len(after) > 1 else "")
    elif "## Latest run" in text:
        before, after = text.split("## Latest run", 1)
        text = before.rstrip() + "\n\n" + section + "\n## Latest run" + after
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text)


def _interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated: " + ", ".join(TARGETS))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke test, not figures")
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    parser.add_argument("--from-json", action="store_true", help="no run: redo the table from bench/emulator.json")
    args = parser.parse_args(argv)
    if args.from_json:
        results = json.loads((ROOT / "bench" / "emulator.json").read_text())
        lines = table(results["combined"], results["targets"], Counts(**results["counts"]))
        print("\n".join(lines))  # noqa: T201 - a bench prints its figures
        if args.write:
            record(results, lines)
        return 0
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if unknown := [t for t in targets if t not in TARGETS]:
        parser.error(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    counts = QUICK if args.quick else FULL
    # Ctrl-C and SIGTERM unwind through run_target's finally, which stops the target (also when started in the
    # background, where a non-interactive shell leaves SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupted)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "targets": targets,
        "rounds": args.rounds,
        "counts": counts.__dict__,
        "runs": [],
    }
    for round_ in range(1, args.rounds + 1):
        for name in targets:
            print(f"round {round_}: {LABELS[name]} (load {Path('/proc/loadavg').read_text().strip()})", flush=True)  # noqa: T201
            run = run_target(name, counts, log=lambda text: print(text, flush=True))  # noqa: T201
            run["round"] = round_
            results["runs"].append(run)
            if "na" in run:
                print(f"  {LABELS[name]}: n/a ({run['na']})", flush=True)  # noqa: T201
    combined = {t: combine([run for run in results["runs"] if run["target"] == t]) for t in targets}
    results["combined"] = combined
    lines = table(combined, targets, counts)
    print("\n".join(lines))  # noqa: T201 - a bench prints its figures
    (ROOT / "bench" / "emulator.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    if args.write:
        record(results, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
