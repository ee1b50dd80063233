"""What the local cloud did lately: bounded in-memory ring buffers that the console reads (localcloud/console).

Fed by small hooks, each a few microseconds:
- the Lambda runner, once per invocation (:meth:`Activity.invocation`): function, qualifier, request id, start,
  duration, cold or warm, ok / error / timeout, the event and the response (each cut to ``MAX_BODY`` bytes) and the
  invocation's own log lines;
- the EventBridge router, once per PutEvents entry or schedule firing (:meth:`Activity.bus_event`), once per matched
  rule (:meth:`Activity.bus_rule`) and once per delivery outcome (:meth:`Activity.bus_target`).

Bounds: the last ``max_invocations`` invocations and ``max_events`` bus events; the kept bodies (events and responses)
together at most ``body_budget`` bytes, the oldest invocations losing theirs first. Nothing is written to disk.

Watchers (the console's Server-Sent Events stream) wait on one condition. With nobody watching, no notification is
built and no thread is woken: a record costs a lock, an object and an append.

This module is loaded at start (the hooks need it); it imports only the standard library. The console itself is
loaded by its first request.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

MAX_BODY = 64 * 1024
MAX_LOG_LINES = 500
MAX_LOG_LINE = 4096
HEARTBEAT_S = 15.0


def _cut(data: bytes | str | None) -> tuple[bytes, bool]:
    if data is None:
        return b"", False
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    return raw[:MAX_BODY], len(raw) > MAX_BODY


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


@dataclass(slots=True)
class Invocation:
    seq: int
    function: str
    qualifier: str | None
    version: str
    request_id: str
    started: float  # epoch seconds
    duration_ms: float
    cold: bool
    status: str  # ok | error | timeout
    error_type: str | None
    event: bytes
    response: bytes
    event_truncated: bool
    response_truncated: bool
    logs: list[str]
    bodies_dropped: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "function": self.function,
            "qualifier": self.qualifier,
            "version": self.version,
            "requestId": self.request_id,
            "started": self.started,
            "durationMs": round(self.duration_ms, 2),
            "cold": self.cold,
            "status": self.status,
            "errorType": self.error_type,
        }

    def detail(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "event": _text(self.event),
            "response": _text(self.response),
            "eventTruncated": self.event_truncated,
            "responseTruncated": self.response_truncated,
            "bodiesDropped": self.bodies_dropped,
            "logs": list(self.logs),
        }


@dataclass(slots=True)
class BusEvent:
    seq: int
    id: str
    bus: str
    source: str
    detail_type: str
    time: float  # epoch seconds, when the local cloud took it
    detail: str
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule ARN -> {name, targets: {arn: outcome}}

    def summary(self) -> dict[str, Any]:
        rules = []
        for arn, rule in self.rules.items():
            targets = [{"arn": t, **outcome} for t, outcome in rule["targets"].items()]
            rules.append({"arn": arn, "name": rule["name"], "targets": targets})
        return {
            "seq": self.seq,
            "id": self.id,
            "bus": self.bus,
            "source": self.source,
            "detailType": self.detail_type,
            "time": self.time,
            "detail": self.detail,
            "rules": rules,
        }


@dataclass(slots=True)
class _FunctionStats:
    invocations: int = 0
    errors: int = 0
    durations: deque[float] = field(default_factory=lambda: deque(maxlen=256))


@dataclass(slots=True)
class _Note:
    seq: int
    kind: str
    data: dict[str, Any]


class Activity:
    """The recorder. Thread-safe; every method is cheap enough for the invoke path."""

    def __init__(self, max_invocations: int = 2000, max_events: int = 2000, body_budget: int = 64 * 1024 * 1024):
        self.max_invocations = max_invocations
        self.max_events = max_events
        self.body_budget = body_budget
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._seq = itertools.count(1)  # records
        self._note_seq = 0  # notifications to watchers
        self._invocations: deque[Invocation] = deque()
        self._with_bodies: deque[Invocation] = deque()
        self._body_bytes = 0
        self._by_request: dict[str, Invocation] = {}
        self._stats: dict[str, _FunctionStats] = {}
        self._events: OrderedDict[str, BusEvent] = OrderedDict()
        self._notes: deque[_Note] = deque(maxlen=1000)
        self._watchers = 0
        self._closed = False

    # ---- hooks ----------------------------------------------------------------------------------------------------
    def invocation(
        self,
        *,
        function: str,
        qualifier: str | None,
        version: str,
        request_id: str,
        started: float,
        duration_ms: float,
        cold: bool,
        status: str,
        event: bytes | None,
        response: bytes | None,
        logs: list[str],
    ) -> None:
        event_cut, event_truncated = _cut(event)
        response_cut, response_truncated = _cut(response)
        error_type = None
        if status != "ok":
            try:
                error_type = str(json.loads(response_cut).get("errorType")) if response_cut else None
            except (ValueError, AttributeError):
                error_type = None
        lines = [line[:MAX_LOG_LINE] for line in logs[:MAX_LOG_LINES]]
        with self._lock:
            seq = self._next()
            record = Invocation(
                seq, function, qualifier, version, request_id, started, duration_ms, cold, status, error_type,
                event_cut, response_cut, event_truncated, response_truncated, lines,
            )  # fmt: skip
            if len(self._invocations) >= self.max_invocations:
                oldest = self._invocations.popleft()
                self._by_request.pop(oldest.request_id, None)
                if self._with_bodies and self._with_bodies[0] is oldest:
                    self._with_bodies.popleft()
                    self._body_bytes -= len(oldest.event) + len(oldest.response)
            self._invocations.append(record)
            self._by_request[request_id] = record
            self._with_bodies.append(record)
            self._body_bytes += len(event_cut) + len(response_cut)
            while self._body_bytes > self.body_budget and len(self._with_bodies) > 1:
                old = self._with_bodies.popleft()
                self._body_bytes -= len(old.event) + len(old.response)
                old.event, old.response, old.bodies_dropped = b"", b"", True
            stats = self._stats.get(function)
            if stats is None:
                stats = self._stats[function] = _FunctionStats()
            stats.invocations += 1
            stats.errors += status != "ok"
            stats.durations.append(duration_ms)
            if self._watchers:
                self._notify("invocation", record.summary)

    def bus_event(
        self, *, event_id: str, bus: str, source: str, detail_type: str, detail: Any, when: float | None = None
    ) -> None:
        """An event taken onto a bus (a PutEvents entry or a schedule firing); idempotent per event id."""
        with self._lock:
            record = self._events.get(event_id)
            if record is not None:
                return
            self._add_event(event_id, bus, source, detail_type, detail, when)

    def bus_rule(self, event: dict[str, Any], bus: str, rule_arn: str, rule_name: str, targets: list[str]) -> None:
        """``event`` (moto's event message) matched the rule; its deliveries to ``targets`` are queued."""
        event_id = str(event.get("id"))
        with self._lock:
            record = self._events.get(event_id)
            if record is None:
                record = self._add_event(
                    event_id, bus, str(event.get("source")), str(event.get("detail-type")), event.get("detail"), None,
                    notify=False,
                )  # fmt: skip
            record.rules[rule_arn] = {"name": rule_name, "targets": {t: {"status": "queued"} for t in targets}}
            self._touch(record)

    def bus_target(
        self, event_id: str, rule_arn: str, target_arn: str, status: str, attempts: int, error: str | None = None
    ) -> None:
        """A delivery's outcome: ``delivered``, ``retrying``, ``dead-lettered`` or ``dropped``."""
        with self._lock:
            record = self._events.get(event_id)
            if record is None or rule_arn not in record.rules:
                return
            outcome: dict[str, Any] = {"status": status, "attempts": attempts}
            if error:
                outcome["error"] = error[:1000]
            record.rules[rule_arn]["targets"][target_arn] = outcome
            self._touch(record)

    # ---- internals (under the lock) -------------------------------------------------------------------------------
    def _next(self) -> int:
        return next(self._seq)

    def _add_event(
        self, event_id: str, bus: str, source: str, detail_type: str, detail: Any, when: float | None, notify: bool = True
    ) -> BusEvent:
        text = detail if isinstance(detail, str) else json.dumps(detail, default=str)
        record = BusEvent(self._next(), event_id, bus, source, detail_type, when or time.time(), text[:MAX_BODY])
        self._events[event_id] = record
        while len(self._events) > self.max_events:
            self._events.popitem(last=False)
        if notify and self._watchers:
            self._notify("event", record.summary)
        return record

    def _touch(self, record: BusEvent) -> None:
        if self._watchers:
            self._notify("event", record.summary)

    def _notify(self, kind: str, make: Any) -> None:
        self._note_seq += 1
        self._notes.append(_Note(self._note_seq, kind, make()))
        self._cond.notify_all()

    # ---- reading --------------------------------------------------------------------------------------------------
    def invocations(self, function: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        with self._lock:
            records = list(self._invocations)
        picked = [r for r in reversed(records) if function is None or r.function == function]
        return [r.summary() for r in picked[:limit]]

    def invocation_detail(self, request_id: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._by_request.get(request_id)
            return record.detail() if record else None

    def events(self, limit: int = 200) -> list[dict[str, Any]]:
        with self._lock:
            records = list(self._events.values())
            return [r.summary() for r in sorted(records, key=lambda r: r.time, reverse=True)[:limit]]

    def function_stats(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            snapshot = {name: (s.invocations, s.errors, sorted(s.durations)) for name, s in self._stats.items()}
        out: dict[str, dict[str, Any]] = {}
        for name, (count, errors, durations) in snapshot.items():
            p50 = durations[len(durations) // 2] if durations else None
            out[name] = {"invocations": count, "errors": errors, "p50Ms": None if p50 is None else round(p50, 2)}
        return out

    @property
    def watchers(self) -> int:
        return self._watchers

    # ---- watching -------------------------------------------------------------------------------------------------
    def watch(self, last_seq: int = 0, heartbeat_s: float = HEARTBEAT_S) -> Iterator[list[dict[str, Any]]]:
        """Yields each batch of notifications newer than ``last_seq`` (``[]`` after ``heartbeat_s`` of quiet, and a
        ``resync`` note when the watcher fell behind the kept notes); ends when the cloud closes the recorder.

        A watcher is a thread blocked on a condition: it costs nothing while idle."""
        with self._lock:
            self._watchers += 1
            last = last_seq if 0 < last_seq <= self._note_seq else self._note_seq
        try:
            while True:
                with self._cond:
                    if not (self._closed or self._note_seq > last):
                        self._cond.wait(timeout=heartbeat_s)
                    if self._closed:
                        return
                    notes = [n for n in self._notes if n.seq > last]
                    behind = bool(self._notes) and self._notes[0].seq > last + 1
                    last = self._note_seq
                batch = [{"seq": n.seq, "kind": n.kind, "data": n.data} for n in notes]
                if behind:
                    batch.insert(0, {"seq": last, "kind": "resync", "data": {}})
                yield batch
        finally:
            with self._lock:
                self._watchers -= 1

    def close(self) -> None:
        """Ends every watcher (the cloud is shutting down)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
