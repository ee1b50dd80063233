"""Deep health checks, reported as ``application/health+json`` (draft-inadarei-api-health-check).

- A ``HealthCheck`` names one dependency probe. The runner starts every probe at once, each in its own daemon thread,
  and waits for each one only until ITS OWN deadline: a hanging dependency becomes a ``fail`` for that check within its
  timeout and never hangs the request. (Probes also use clients with short timeouts and no retries, see
  ``marquee.core.aws.probe_client``, so their threads end soon after.)
- A probe that succeeds slower than its ``warn_ms`` threshold is a ``warn``; so is one that raises ``Degraded`` (the
  dependency answers, but not as it should, and the platform still works: a shard map not stored yet).
  Overall: ``fail`` if any check failed, else ``warn`` if any warned, else ``pass``.
- Adding a check is one line: ``HealthCheck("cache", "component", "redis", probe=lambda: ping())``, or one of the
  AWS probe builders below.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from marquee.core import aws

HEALTH_CONTENT_TYPE = "application/health+json"


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a health status, not a password
    WARN = "warn"
    FAIL = "fail"


class Degraded(Exception):  # noqa: N818 - a verdict, not an error: the probe's dependency works, but not as it should
    """Raised by a probe whose dependency answered but is degraded: the check is a ``warn`` with this message."""


@dataclass(frozen=True)
class HealthCheck:
    """One named probe. ``probe`` returns nothing and raises if the dependency is unhealthy."""

    component: str
    component_type: str
    component_id: str | None
    probe: Callable[[], object]
    timeout_ms: int = 2000
    warn_ms: int = 1000
    measurement: str = "responseTime"

    @property
    def key(self) -> str:
        return f"{self.component}:{self.measurement}"


@dataclass(frozen=True)
class CheckResult:
    check: HealthCheck
    status: Status
    latency_ms: float
    time: datetime
    output: str | None = None

    def as_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "componentType": self.check.component_type,
            "status": self.status.value,
            "observedValue": round(self.latency_ms, 1),
            "observedUnit": "ms",
            "time": self.time.isoformat().replace("+00:00", "Z"),
        }
        if self.check.component_id:
            item["componentId"] = self.check.component_id
        if self.output:
            item["output"] = self.output
        return item


# The JSON Schema of a report (draft-inadarei-api-health-check), as published in the OpenAPI document.
HEALTH_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"type": "string", "enum": ["pass", "warn", "fail"]},
        "serviceId": {"type": "string"},
        "description": {"type": "string"},
        "output": {"type": "string"},
        "checks": {
            "type": "object",
            "additionalProperties": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["componentType", "status", "observedValue", "observedUnit", "time"],
                    "properties": {
                        "componentId": {"type": "string"},
                        "componentType": {"type": "string"},
                        "status": {"type": "string", "enum": ["pass", "warn", "fail"]},
                        "observedValue": {"type": "number"},
                        "observedUnit": {"type": "string"},
                        "time": {"type": "string", "format": "date-time"},
                        "output": {"type": "string"},
                    },
                },
            },
        },
    },
}


@dataclass(frozen=True)
class HealthReport:
    status: Status
    results: tuple[CheckResult, ...]
    service_id: str | None = None
    description: str | None = None

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    def as_json(self) -> dict[str, Any]:
        checks: dict[str, list[dict[str, Any]]] = {}
        for result in self.results:
            checks.setdefault(result.check.key, []).append(result.as_json())
        body: dict[str, Any] = {"status": self.status.value}
        if self.service_id:
            body["serviceId"] = self.service_id
        if self.description:
            body["description"] = self.description
        if checks:
            body["checks"] = checks
        failed = [r.check.key for r in self.results if r.status is Status.FAIL]
        if failed:
            body["output"] = "failing: " + ", ".join(failed)
        return body


def overall(statuses: Iterable[Status]) -> Status:
    seen = set(statuses)
    if Status.FAIL in seen:
        return Status.FAIL
    if Status.WARN in seen:
        return Status.WARN
    return Status.PASS


class _Probe(threading.Thread):
    def __init__(self, check: HealthCheck, clock: Callable[[], float]) -> None:
        super().__init__(name=f"health-{check.component}", daemon=True)
        self.check = check
        self.clock = clock
        self.started_at = clock()
        self.finished_at: float | None = None
        self.error: str | None = None
        self.degraded: str | None = None

    def run(self) -> None:
        try:
            self.check.probe()
        except Degraded as exc:
            self.degraded = str(exc)
        except Exception as exc:  # noqa: BLE001 - any probe error (ClientError, EndpointConnectionError...) is a "fail"
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.finished_at = self.clock()


def run_checks(
    checks: Sequence[HealthCheck],
    *,
    service_id: str | None = None,
    description: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> HealthReport:
    """Run ``checks`` concurrently, each bounded by its own timeout, and aggregate the results."""
    now = datetime.now(UTC)
    probes = [_Probe(check, clock) for check in checks]
    for probe in probes:
        probe.start()
    results = []
    for probe in probes:
        deadline = probe.started_at + probe.check.timeout_ms / 1000.0
        probe.join(timeout=max(deadline - clock(), 0.0))
        results.append(_result(probe, now, clock))
    return HealthReport(
        status=overall(r.status for r in results),
        results=tuple(results),
        service_id=service_id,
        description=description,
    )


def _result(probe: _Probe, now: datetime, clock: Callable[[], float]) -> CheckResult:
    check = probe.check
    if probe.is_alive() or probe.finished_at is None:
        latency = (clock() - probe.started_at) * 1000.0
        return CheckResult(check, Status.FAIL, latency, now, f"timed out after {check.timeout_ms} ms")
    latency = (probe.finished_at - probe.started_at) * 1000.0
    if probe.error is not None:
        return CheckResult(check, Status.FAIL, latency, now, probe.error)
    if probe.degraded is not None:
        return CheckResult(check, Status.WARN, latency, now, probe.degraded)
    if latency > check.warn_ms:
        return CheckResult(check, Status.WARN, latency, now, f"slower than {check.warn_ms} ms")
    return CheckResult(check, Status.PASS, latency, now)


# --- AWS dependency probes: each returns a HealthCheck; none reads data (DescribeSecret never reads the value). ---


def dynamodb_table(table_name: str, *, timeout_ms: int, warn_ms: int) -> HealthCheck:
    return _describe_table("dynamodb", table_name, timeout_ms=timeout_ms, warn_ms=warn_ms)


def _describe_table(component: str, table_name: str, *, timeout_ms: int, warn_ms: int) -> HealthCheck:
    client = aws.probe_client("dynamodb", timeout_ms)
    return HealthCheck(
        component, "datastore", table_name, lambda: client.describe_table(TableName=table_name), timeout_ms, warn_ms
    )


def shard_tables(tables: Sequence[str], *, timeout_ms: int, warn_ms: int) -> list[HealthCheck]:
    """One check per tenant shard table (``shard-s0`` is the main table), each its own dependency: a deleted shard
    table is an outage for the tenants on it only, and the report says which."""
    return [
        _describe_table(f"shard-s{i}", table, timeout_ms=timeout_ms, warn_ms=warn_ms) for i, table in enumerate(tables)
    ]


def shard_map(control_table: str, configured: Sequence[str], *, timeout_ms: int, warn_ms: int) -> HealthCheck:
    """The shard control table's map item: it loads (a ``ShardMap``) and names only tables this deployment configures
    (``SHARD_TABLES``, the ones its functions are granted) and that exist (DescribeTable). No map stored yet is a
    ``warn``: every routed function stores the default one on its first call (version 1, every tenant on the ring).
    One consistent GetItem on the ``SHARDMAP`` item, which routed functions may read anyway."""
    client = aws.probe_client("dynamodb", timeout_ms)

    def probe() -> None:
        from marquee.sharding.control import ControlStore  # only a sharded deployment's health function needs it

        loaded = ControlStore(control_table, client).load()  # type: ignore[arg-type]
        if loaded is None:
            raise Degraded("no shard map stored yet: the first routed call stores the default one")
        named = sorted(set(loaded.shards.values()))
        unknown = [t for t in named if t not in configured]
        if unknown:
            raise LookupError(f"shard map v{loaded.version} names tables not in SHARD_TABLES: {', '.join(unknown)}")
        for table in named:
            client.describe_table(TableName=table)

    return HealthCheck("shard-map", "datastore", control_table, probe, timeout_ms, warn_ms)


def sqs_queue(queue_url: str, *, timeout_ms: int, warn_ms: int) -> HealthCheck:
    client = aws.probe_client("sqs", timeout_ms)
    return HealthCheck(
        "sqs",
        "component",
        queue_url,
        lambda: client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"]),
        timeout_ms,
        warn_ms,
    )


def event_bus(bus_name: str, *, timeout_ms: int, warn_ms: int) -> HealthCheck:
    client = aws.probe_client("events", timeout_ms)
    return HealthCheck(
        "eventbridge", "component", bus_name, lambda: client.describe_event_bus(Name=bus_name), timeout_ms, warn_ms
    )


def secret(secret_arn: str, *, timeout_ms: int, warn_ms: int) -> HealthCheck:
    client = aws.probe_client("secretsmanager", timeout_ms)
    return HealthCheck(
        "secretsmanager",
        "component",
        secret_arn,
        lambda: client.describe_secret(SecretId=secret_arn),
        timeout_ms,
        warn_ms,
    )


def state_machine(state_machine_arn: str, *, timeout_ms: int, warn_ms: int) -> HealthCheck:
    client = aws.probe_client("stepfunctions", timeout_ms)
    return HealthCheck(
        "stepfunctions",
        "component",
        state_machine_arn,
        lambda: client.describe_state_machine(stateMachineArn=state_machine_arn),
        timeout_ms,
        warn_ms,
    )


def aurora_cluster(cluster_arn: str, secret_arn: str, database: str, *, timeout_ms: int, warn_ms: int) -> HealthCheck:
    """``SELECT 1`` through the Data API: the cluster is up, the secret signs in, and the database answers. It has
    its own timeout, longer than the others': a serverless v2 cluster's first statement after a quiet spell is slow."""
    client = aws.probe_client("rds-data", timeout_ms)
    return HealthCheck(
        "aurora",
        "datastore",
        cluster_arn,
        lambda: client.execute_statement(
            resourceArn=cluster_arn, secretArn=secret_arn, database=database, sql="SELECT 1"
        ),
        timeout_ms,
        warn_ms,
    )


READ_MODEL_SHARDS = r"""SELECT s.shard,
        (SELECT count(*) FROM information_schema.views v
         WHERE v.table_schema = s.schema_name AND v.table_name LIKE 'rm\_%') AS views,
        (SELECT count(*) FROM information_schema.views v
         WHERE v.table_schema = 'public' AND v.table_name LIKE 'rm\_%') AS expected,
        to_regclass(s.schema_name || '.search_documents') IS NOT NULL
            AND to_regclass(s.schema_name || '.search_tombstones') IS NOT NULL AS search
    FROM read_model_shards s ORDER BY s.shard"""


def read_model_shards(
    cluster_arn: str, secret_arn: str, database: str, *, timeout_ms: int, warn_ms: int, client: Any = None
) -> HealthCheck:
    """Each read-model shard's schema (challenge 9: ``public`` for s0, ``shard_sN``) has every read model's view that
    s0 has, and its search tables: ONE statement through the Data API. A schema missing one would answer that
    shard's tenants with errors; the migrations not applied at all fail it too."""
    rds = client or aws.probe_client("rds-data", timeout_ms)

    def probe() -> None:
        answer = rds.execute_statement(
            resourceArn=cluster_arn, secretArn=secret_arn, database=database, sql=READ_MODEL_SHARDS,
            formatRecordsAs="JSON",
        )  # fmt: skip
        rows = json.loads(answer.get("formattedRecords") or "[]")
        broken = [
            f"{r['shard']} ({r['views']} of {r['expected']} views{'' if r['search'] else ', no search tables'})"
            for r in rows
            if not r["expected"] or r["views"] != r["expected"] or not r["search"]
        ]
        if not rows or broken:
            raise RuntimeError(f"read-model shards incomplete: {', '.join(broken) or 'none registered'}")

    return HealthCheck("read-model-shards", "datastore", cluster_arn, probe, timeout_ms, warn_ms)


def valkey_cache(address: str, port: int, *, tls: bool, cluster: bool, timeout_ms: int, warn_ms: int) -> HealthCheck:
    """``PING`` on the edge cache (ElastiCache Serverless for Valkey; the local cloud's real Valkey), through a client
    of its own whose connect and socket timeouts are this check's, not the request path's quarter second."""
    from marquee.cache.client import cache_client  # the valkey package is imported only by functions that probe it

    def ping() -> None:
        client = cache_client(address, port, tls=tls, cluster=cluster, timeout_s=max(timeout_ms / 1000.0, 0.1))
        if client.ping() is not True:
            raise ConnectionError("PING did not answer PONG")

    return HealthCheck("valkey", "datastore", f"{address}:{port}", ping, timeout_ms, warn_ms)
