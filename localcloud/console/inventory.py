"""The overview: what is deployed, read from moto's backends in-process (no HTTP, no copies of function code).

Only the services whose moto models are already loaded are read: a service nobody has called has nothing to show, and
looking must not import it (importing moto's CloudFormation alone takes seconds and loads every service).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.server import LocalCloud


def backends(module: str, attr: str) -> Iterator[tuple[str, str, Any]]:
    """(account, region, backend) of every backend moto has created, if ``module`` is loaded."""
    loaded = sys.modules.get(module)
    if loaded is None:
        return
    for account, regions in list(getattr(loaded, attr).items()):
        for region, backend in list(regions.items()):
            yield account, region, backend


def overview(cloud: LocalCloud) -> dict[str, Any]:
    return {
        "endpoint": cloud.settings.endpoint_url,
        "stacks": stacks(),
        "functions": functions(cloud),
        "queues": queues(cloud.settings.endpoint_url),
        "tables": tables(),
        "buses": buses(),
        "stateMachines": state_machines(),
        "engines": cloud.rds.status(),
        "watchers": cloud.activity.watchers,
    }


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return None if value is None else str(value)


def stacks() -> list[dict[str, Any]]:
    out = []
    for _account, region, backend in backends("moto.cloudformation.models", "cloudformation_backends"):
        for stack in list(backend.stacks.values()):
            if stack.status == "DELETE_COMPLETE":
                continue
            try:
                outputs = [
                    {"key": o.key, "value": o.value, "description": o.description} for o in stack.output_map.values() if o
                ]
            except Exception:  # noqa: BLE001 - a stack whose outputs cannot resolve still shows
                outputs = []
            out.append(
                {
                    "name": stack.name,
                    "id": stack.stack_id,
                    "region": region,
                    "status": stack.status,
                    "created": _iso(getattr(stack, "creation_time", None)),
                    "resources": len(getattr(stack, "resource_map", {}) or {}),
                    "outputs": outputs,
                }
            )
    return out


def functions(cloud: LocalCloud) -> list[dict[str, Any]]:
    workers = cloud.runner.stats()
    stats = cloud.activity.function_stats()
    out = []
    for _account, region, backend in backends("moto.awslambda.models", "lambda_backends"):
        for name, group in list(backend._lambdas._functions.items()):
            fn = group.get("latest")
            if fn is None:
                continue
            pool = workers.get(name, {})
            seen = stats.get(name, {})
            out.append(
                {
                    "name": name,
                    "arn": fn.function_arn,
                    "region": region,
                    "runtime": fn.run_time,
                    "handler": fn.handler,
                    "memory": fn.memory_size,
                    "timeout": fn.timeout,
                    "reservedConcurrency": fn.reserved_concurrency,
                    "versions": len(group.get("versions") or []),
                    "warm": pool.get("idle", 0),
                    "busy": pool.get("busy", 0),
                    "invocations": seen.get("invocations", 0),
                    "errors": seen.get("errors", 0),
                    "p50Ms": seen.get("p50Ms"),
                }
            )
    return sorted(out, key=lambda f: f["name"])


def queue_counts(queue: Any) -> dict[str, int]:
    """Visible, in flight and delayed, in one pass over moto's messages, reading them only."""
    visible = inflight = delayed = 0
    for message in list(queue._messages):
        if message.delayed:
            delayed += 1
        elif message.visible:
            visible += 1
        else:
            inflight += 1
    return {"visible": visible, "inFlight": inflight, "delayed": delayed}


def queues(endpoint: str) -> list[dict[str, Any]]:
    found: list[tuple[str, Any]] = []
    for account, _region, backend in backends("moto.sqs.models", "sqs_backends"):
        found += [(account, q) for q in list(backend.queues.values())]
    sources: dict[str, list[str]] = {}
    for _account, queue in found:
        if queue.dead_letter_queue is not None:
            sources.setdefault(queue.dead_letter_queue.queue_arn, []).append(queue.queue_arn)
    by_arn = {q.queue_arn: q for _a, q in found}
    out = []
    for account, queue in found:
        policy = queue.redrive_policy or None
        dlq = by_arn.get(policy.get("deadLetterTargetArn")) if isinstance(policy, dict) else None
        out.append(
            {
                "name": queue.name,
                "arn": queue.queue_arn,
                "url": f"{endpoint}/{account}/{queue.name}",
                "fifo": bool(queue.fifo_queue),
                **queue_counts(queue),
                "redrivePolicy": policy if isinstance(policy, dict) else None,
                "dlq": None if dlq is None else {"arn": dlq.queue_arn, "name": dlq.name, **queue_counts(dlq)},
                "deadLetterSources": sources.get(queue.queue_arn, []),
            }
        )
    return sorted(out, key=lambda q: q["name"])


def tables() -> list[dict[str, Any]]:
    out = []
    for _account, region, backend in backends("moto.dynamodb.models", "dynamodb_backends"):
        for table in list(backend.tables.values()):
            stream = getattr(table, "stream_specification", None) or {}
            out.append(
                {
                    "name": table.name,
                    "arn": table.table_arn,
                    "region": region,
                    "items": len(table),
                    "keys": [f"{k['AttributeName']} ({k['KeyType']})" for k in table.schema],
                    "indexes": len(table.global_indexes) + len(table.indexes),
                    "stream": stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
                }
            )
    return sorted(out, key=lambda t: t["name"])


def buses() -> list[dict[str, Any]]:
    out = []
    for _account, region, backend in backends("moto.events.models", "events_backends"):
        for bus in list(backend.event_buses.values()):
            rules = []
            for rule in list(bus.rules.values()):
                rules.append(
                    {
                        "name": rule.name,
                        "arn": rule.arn,
                        "state": rule.state,
                        "pattern": rule.event_pattern.dump() if rule.event_pattern else None,
                        "schedule": rule.scheduled_expression,
                        "targets": [t["Arn"] for t in rule.targets],
                    }
                )
            out.append({"name": bus.name, "arn": bus.arn, "region": region, "rules": rules})
    return sorted(out, key=lambda b: b["name"])


def state_machine_backends() -> Iterator[Any]:
    """moto keeps state machines in the interpreter's backends when it runs them, in the plain ones otherwise."""
    seen: set[int] = set()
    for module, attr in (
        ("moto.stepfunctions.parser.models", "stepfunctions_parser_backends"),
        ("moto.stepfunctions.models", "stepfunctions_backends"),
    ):
        for _account, _region, backend in backends(module, attr):
            if id(backend) not in seen:
                seen.add(id(backend))
                yield backend


def state_machines() -> list[dict[str, Any]]:
    out = []
    for backend in state_machine_backends():
        for machine in list(backend.state_machines):
            executions = list(machine.executions)
            statuses: dict[str, int] = {}
            for execution in executions:
                status = str(_execution_status(execution))
                statuses[status] = statuses.get(status, 0) + 1
            out.append(
                {"name": machine.name, "arn": machine.arn, "type": getattr(machine, "type", None), "executions": statuses}
            )
    return sorted(out, key=lambda m: m["name"])


def _execution_status(execution: Any) -> Any:
    status = getattr(execution, "exec_status", None) or getattr(execution, "status", None)
    return getattr(status, "value", status)  # the interpreter's is an enum
