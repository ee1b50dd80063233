"""Step Functions for the console: executions, and one execution's graph with each state's outcome.

The graph comes from the state machine's ASL definition (the top-level states; a Parallel or Map state is one node),
laid out in layers by longest path from ``StartAt`` (loops are drawn as back edges). The outcomes come from the
execution's history as moto's interpreter wrote it: a state that was entered and exited succeeded; one whose last
task attempt failed and that exited anyway was caught (its Catch led on); one that was entered and never exited
failed (or is still running); attempts count the task's scheduled events, so retries show.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from localcloud.console.inventory import state_machine_backends

NODE_W, NODE_H, GAP_X, GAP_Y = 180, 44, 40, 56
FAILURE_SUFFIXES = ("Failed", "TimedOut", "Aborted")


def _status(execution: Any) -> str:
    status = getattr(execution, "exec_status", None) or getattr(execution, "status", "")
    return str(getattr(status, "value", status))  # the interpreter's is an enum


def _arn(execution: Any) -> str:
    return str(getattr(execution, "exec_arn", None) or getattr(execution, "execution_arn", ""))


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None if value is None else str(value)


def _summary(machine: Any, execution: Any) -> dict[str, Any]:
    return {
        "arn": _arn(execution),
        "name": getattr(execution, "name", None) or getattr(execution, "execution_name", None),
        "stateMachine": machine.name,
        "stateMachineArn": machine.arn,
        "status": _status(execution),
        "started": _iso(getattr(execution, "start_date", None)),
        "stopped": _iso(getattr(execution, "stop_date", None)),
    }


def executions(limit: int = 200) -> list[dict[str, Any]]:
    found = [
        _summary(machine, execution)
        for backend in state_machine_backends()
        for machine in list(backend.state_machines)
        for execution in list(machine.executions)
    ]
    return sorted(found, key=lambda e: e["started"] or "", reverse=True)[:limit]


def _find(arn: str) -> tuple[Any, Any] | None:
    for backend in state_machine_backends():
        for machine in list(backend.state_machines):
            for execution in list(machine.executions):
                if _arn(execution) == arn:
                    return machine, execution
    return None


def execution(arn: str) -> dict[str, Any] | None:
    found = _find(arn)
    if found is None:
        return None
    machine, run = found
    definition = json.loads(machine.definition)
    history = _history(run)
    states = outcomes(history)
    described = run.to_describe_output() if hasattr(run, "to_describe_output") else {}
    return {
        **_summary(machine, run),
        "input": described.get("input", getattr(run, "execution_input", None)),
        "output": described.get("output", getattr(run, "output", None)),
        "error": described.get("error"),
        "cause": described.get("cause"),
        "definition": definition,
        "graph": graph(definition, states),
        "history": [_event(e) for e in history],
    }


def _history(run: Any) -> list[dict[str, Any]]:
    if hasattr(run, "to_history_output"):
        return list(run.to_history_output().get("events") or [])
    return []


def _event(event: dict[str, Any]) -> dict[str, Any]:
    details = {k: v for k, v in event.items() if k.endswith("EventDetails")}
    return {
        "id": event.get("id"),
        "type": _kind(event),
        "timestamp": _iso(event.get("timestamp")),
        "details": next(iter(details.values()), None),
    }


def _kind(event: dict[str, Any]) -> str:
    kind = event.get("type", "")
    return str(getattr(kind, "value", kind))  # the interpreter's HistoryEventType is a str enum


def outcomes(history: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each top-level state's outcome (its last visit): status, attempts, visits, input, output, error, cause."""
    states: dict[str, dict[str, Any]] = {}
    stack: list[str] = []  # states entered and not yet exited (Parallel and Map nest)
    for event in history:
        kind = _kind(event)
        if kind.endswith("StateEntered"):
            details = event.get("stateEnteredEventDetails") or {}
            name = str(details.get("name"))
            previous = states.get(name, {})
            states[name] = {
                "status": "running",
                "attempts": 0,
                "visits": previous.get("visits", 0) + 1,
                "input": details.get("input"),
                "type": kind[: -len("StateEntered")],
            }
            stack.append(name)
        elif kind.endswith("StateExited"):
            details = event.get("stateExitedEventDetails") or {}
            name = str(details.get("name"))
            state = states.setdefault(name, {"visits": 1, "attempts": 0})
            state["output"] = details.get("output")
            state["status"] = "caught" if state.get("failed") else "succeeded"
            if name in stack:
                stack.remove(name)
        elif kind.endswith("Scheduled") and stack:
            states[stack[-1]]["attempts"] += 1
            states[stack[-1]]["failed"] = False
        elif kind.endswith(FAILURE_SUFFIXES) and not kind.startswith("Execution") and stack:
            state = states[stack[-1]]
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), None) or {}
            state["failed"] = True
            state["error"] = details.get("error")
            state["cause"] = details.get("cause")
        elif kind.startswith("Execution") and kind.endswith(FAILURE_SUFFIXES):
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), None) or {}
            for name in stack:
                states[name]["status"] = "failed"
                states[name].setdefault("error", details.get("error"))
                states[name].setdefault("cause", details.get("cause"))
            stack.clear()
    for state in states.values():
        if state.get("type") == "Fail":
            state["status"] = "failed"
        state["retries"] = max(0, state.get("attempts", 0) - 1)
        state.pop("failed", None)
    return states


def _edges(name: str, state: dict[str, Any]) -> list[dict[str, Any]]:
    edges = []
    if state.get("Next"):
        edges.append({"from": name, "to": state["Next"], "kind": "next"})
    for i, choice in enumerate(state.get("Choices") or []):
        if choice.get("Next"):
            edges.append({"from": name, "to": choice["Next"], "kind": "choice", "label": f"rule {i + 1}"})
    if state.get("Default"):
        edges.append({"from": name, "to": state["Default"], "kind": "default", "label": "default"})
    for catcher in state.get("Catch") or []:
        label = ", ".join(catcher.get("ErrorEquals") or [])
        edges.append({"from": name, "to": catcher.get("Next"), "kind": "catch", "label": label})
    return edges


def graph(definition: dict[str, Any], states: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Nodes with positions and outcomes, and edges (next, choice, default, catch; back edges marked)."""
    asl: dict[str, dict[str, Any]] = definition.get("States") or {}
    start = definition.get("StartAt")
    edges = [e for name, state in asl.items() for e in _edges(name, state) if e["to"] in asl]
    outgoing: dict[str, list[str]] = {}
    for edge in edges:
        outgoing.setdefault(edge["from"], []).append(edge["to"])
    # Back edges (loops) by depth-first search from StartAt; the rest is a DAG, layered by longest path.
    order: list[str] = []
    colour: dict[str, int] = {}
    back: set[tuple[str, str]] = set()

    def visit(node: str) -> None:
        colour[node] = 1
        for nxt in outgoing.get(node, []):
            if colour.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in colour:
                visit(nxt)
        colour[node] = 2
        order.append(node)

    for root in [start, *asl]:
        if root in asl and root not in colour:
            visit(root)
    layer: dict[str, int] = {}
    for node in reversed(order):  # topological order of the DAG
        layer.setdefault(node, 0)
        for nxt in outgoing.get(node, []):
            if (node, nxt) not in back:
                layer[nxt] = max(layer.get(nxt, 0), layer[node] + 1)
    rows: dict[int, list[str]] = {}
    for node in reversed(order):
        rows.setdefault(layer[node], []).append(node)
    widest = max((len(r) for r in rows.values()), default=1)
    width = widest * NODE_W + (widest - 1) * GAP_X
    nodes = []
    for depth, names in sorted(rows.items()):
        row_width = len(names) * NODE_W + (len(names) - 1) * GAP_X
        for i, name in enumerate(names):
            outcome = states.get(name, {})
            nodes.append(
                {
                    "name": name,
                    "type": asl[name].get("Type"),
                    "x": (width - row_width) / 2 + i * (NODE_W + GAP_X),
                    "y": depth * (NODE_H + GAP_Y),
                    "status": outcome.get("status", "not-run"),
                    "attempts": outcome.get("attempts", 0),
                    "retries": outcome.get("retries", 0),
                    "visits": outcome.get("visits", 0),
                    "input": outcome.get("input"),
                    "output": outcome.get("output"),
                    "error": outcome.get("error"),
                    "cause": outcome.get("cause"),
                    "retry": asl[name].get("Retry"),
                    "catch": asl[name].get("Catch"),
                    "start": name == start,
                    "end": bool(asl[name].get("End")) or asl[name].get("Type") in ("Succeed", "Fail"),
                }
            )
    for edge in edges:
        edge["back"] = (edge["from"], edge["to"]) in back
        edge["taken"] = _taken(edge, states)
    height = (max(rows, default=0) + 1) * (NODE_H + GAP_Y) - GAP_Y
    return {"nodes": nodes, "edges": edges, "width": width, "height": height, "nodeWidth": NODE_W, "nodeHeight": NODE_H}


def _taken(edge: dict[str, Any], states: dict[str, dict[str, Any]]) -> bool:
    """Approximate: both ends ran, and a catch edge only when the source was caught."""
    source, target = states.get(edge["from"]), states.get(edge["to"])
    if not source or not target:
        return False
    if edge["kind"] == "catch":
        return bool(source.get("status") == "caught")
    return source.get("status") in ("succeeded", "caught") and not (
        edge["kind"] == "next" and source.get("status") == "caught"
    )
