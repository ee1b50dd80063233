"""The EventBridge router: PutEvents matches rules at once and a background dispatcher delivers to their targets.

moto matches rules inside PutEvents and delivers synchronously there, and has no Lambda or Step Functions target.
Here moto's ``Rule.send_to_targets`` only enqueues the matched deliveries; dispatcher threads deliver them:
- Lambda targets as asynchronous (Event) invokes on the runner, SNS, SQS (FIFO with SqsParameters.MessageGroupId,
  the queue needing content-based deduplication as on AWS), Step Functions (StartExecution, the event as input);
- event bus, archive, log group and API destination targets with moto's own code;
- Input, InputPath and InputTransformer (InputPathsMap + InputTemplate, with AWS's quoting rules);
- RetryPolicy (MaximumRetryAttempts, MaximumEventAgeInSeconds; short local delays) for retriable errors, then the
  target's DeadLetterConfig queue; errors such as a missing target resource go to the DLQ without retries;
- disabled rules do not match, and schedule-only rules match no event (moto's matcher would match every event);
- ScheduleExpression rules fire with the "Scheduled Event" shape: cron(...) (AWS's six fields) on the minute, in UTC;
  rate(...) every period counted from the rule's creation (not aligned to the minute). Tests call
  ``EventRouter.tick(now, since=...)`` instead of waiting for the clock.
"""

from __future__ import annotations

import calendar
import copy
import heapq
import itertools
import json
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from localcloud.aws import botocore_config, botocore_error, client_error, client_errors
from localcloud.lambda_.runner import FunctionNotFound, LambdaError, LambdaRunner

log = logging.getLogger("localcloud.events")

DISPATCHERS = 4
RETRY_DELAYS_S = (0.1, 0.2, 0.5, 1.0)  # EventBridge backs off exponentially over hours; locally, a few seconds at most
DEFAULT_MAX_RETRIES = 185
DEFAULT_MAX_EVENT_AGE_S = 86400
SCHEDULER_INTERVAL_S = 1.0
NOT_RETRIED = {  # AWS sends these straight to the DLQ: retrying cannot help
    "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "StateMachineDoesNotExist",
    "InvalidExecutionInput",
    "InvalidParameterValue",
    "InvalidParameterValueException",
    "NotFoundException",
    "AccessDeniedException",
    "UnsupportedTarget",
}

_state: dict[str, Any] = {"router": None, "installed": False}
_install_lock = threading.Lock()


class DeliveryFailed(Exception):
    """A target call failed; ``code`` decides whether it is retried."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# ---- moto patch ------------------------------------------------------------------------------------------------------
def install(router: EventRouter) -> None:
    """Idempotent: routes moto's rule deliveries to ``router`` (the latest router created wins)."""
    with _install_lock:
        _state["router"] = router
        if _state["installed"]:
            return
        _state["installed"] = True
    from localcloud.patches import when_imported

    when_imported("moto.events", _patch_rule)


def uninstall(router: EventRouter) -> None:
    """A stopped router stops taking moto's deliveries: they go back to moto's own synchronous code (an in-process
    cloud that has shut down must not swallow the events of the mocks that run after it in the same process)."""
    with _install_lock:
        if _state["router"] is router:
            _state["router"] = None


def _patch_rule() -> None:
    from moto.events.models import Rule

    original_send = Rule.send_to_targets
    original_init = Rule.__init__
    _state["original_send"] = original_send

    def send_to_targets(self: Rule, event: dict[str, Any], transform_input: bool = True) -> None:
        current: EventRouter | None = _state["router"]
        if current is None:
            original_send(self, event, transform_input)  # type: ignore[arg-type]
            return
        current.route(self, event, transform_input)

    def __init__(self: Rule, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.localcloud_created = time.time()  # type: ignore[attr-defined]  # rate(...) counts from creation

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign,assignment]
    Rule.__init__ = __init__  # type: ignore[method-assign]
    _record_put_events()


def _record_put_events() -> None:
    """Every PutEvents entry that got an EventId goes to the activity recorder (the console's Events page), matched
    or not; the rules it matched were recorded by ``route`` inside moto's call."""
    from moto.events.models import EventsBackend

    original = EventsBackend.put_events

    def put_events(self: EventsBackend, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        entries = original(self, events)
        router: EventRouter | None = _state["router"]
        recorder = router.runner.recorder if router is not None else None
        if recorder is not None:
            for event, entry in zip(events, entries, strict=False):
                if "EventId" in entry:
                    recorder.bus_event(
                        event_id=entry["EventId"],
                        bus=_bus_name(event.get("EventBusName")),
                        source=str(event.get("Source")),
                        detail_type=str(event.get("DetailType")),
                        detail=event.get("Detail"),
                    )
        return entries

    EventsBackend.put_events = put_events  # type: ignore[method-assign]


def _bus_name(name_or_arn: str | None) -> str:
    return (name_or_arn or "default").rsplit("/", 1)[-1]


def _moto_send(rule: Any, target: dict[str, Any], event: dict[str, Any], transform_input: bool) -> None:
    """moto's own delivery to one target (event bus, archive, log group, API destination), outside PutEvents."""
    from moto.events.models import EventPattern

    proxy = copy.copy(rule)
    proxy.targets = [target]
    proxy.event_pattern = EventPattern(None, {})
    _state["original_send"](proxy, event, transform_input)


# ---- input: Input, InputPath, InputTransformer -----------------------------------------------------------------------
PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


def target_input(target: dict[str, Any], event: dict[str, Any], rule_arn: str, rule_name: str) -> str:
    """The text a target receives: the event, or what Input / InputPath / InputTransformer make of it."""
    delivered = public_event(event)
    if "Input" in target and target["Input"] is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        return json.dumps(_json_path(target["InputPath"], delivered))
    transformer = target.get("InputTransformer")
    if transformer:
        values = {name: _json_path(path, delivered) for name, path in (transformer.get("InputPathsMap") or {}).items()}
        values.update(
            {
                "aws.events.rule-arn": rule_arn,
                "aws.events.rule-name": rule_name,
                "aws.events.event.ingestion-time": _iso(event.get("ingestion-time", time.time())),
                "aws.events.event": delivered,
                "aws.events.event.json": delivered,
            }
        )
        return render_template(transformer.get("InputTemplate") or "", values)
    return json.dumps(delivered)


def render_template(template: str, values: dict[str, Any]) -> str:
    """AWS's substitution: inside a JSON string a value goes in as text; outside, as JSON (strings get quotes)."""
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        char = template[i]
        if in_string and char == "\\":
            out.append(template[i : i + 2])
            i += 2
            continue
        match = PLACEHOLDER.match(template, i) if char == "<" else None
        if match and match.group(1) in values:
            out.append(_substitute(values[match.group(1)], in_string))
            i = match.end()
            continue
        if char == '"':
            in_string = not in_string
        out.append(char)
        i += 1
    return "".join(out)


def _substitute(value: Any, in_string: bool) -> str:
    if not in_string:
        return json.dumps(value)
    text = value if isinstance(value, str) else ("" if value is None else json.dumps(value))
    return json.dumps(text)[1:-1]


def _json_path(path: str, event: dict[str, Any]) -> Any:
    from jsonpath_ng.ext import parse

    matches = parse(path).find(event)
    return matches[0].value if matches else None


def public_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as targets see it: ISO time, without moto's internal fields."""
    shown = {k: v for k, v in event.items() if k != "ingestion-time"}
    if isinstance(shown.get("time"), (int, float)):
        shown["time"] = _iso(float(shown["time"]))
    return shown


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(float(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- schedules: rate(...) and AWS cron(...) --------------------------------------------------------------------------
RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
RATE_SECONDS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
MINUTE = timedelta(minutes=1)
MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


class InvalidSchedule(ValueError):
    """A ScheduleExpression the evaluator cannot read."""


class Cron:
    """AWS's six-field cron (minutes hours day-of-month month day-of-week year), in UTC.

    Supports ``*``, ``?``, lists, ranges, steps, month and day names, and in day-of-month ``L``, ``LW``, ``nW``;
    in day-of-week ``nL`` (last such weekday of the month) and ``n#k`` (k-th such weekday). Day-of-week is 1-7, SUN=1.
    """

    def __init__(self, expression: str) -> None:
        fields = expression.split()
        if len(fields) != 6:
            raise InvalidSchedule(f"cron needs 6 fields, got {len(fields)}: {expression!r}")
        self.minutes, self.hours, self.dom, self.months, self.dow, self.years = fields

    def matches(self, when: datetime) -> bool:
        return (
            when.minute in _values(self.minutes, 0, 59)
            and when.hour in _values(self.hours, 0, 23)
            and when.month in _values(self.months, 1, 12, MONTHS)
            and when.year in _values(self.years, 1970, 2199)
            and self._day_matches(when)
        )

    def _day_matches(self, when: datetime) -> bool:
        dom_ok = self.dom == "?" or _dom_matches(self.dom, when)
        dow_ok = self.dow == "?" or _dow_matches(self.dow, when)
        return dom_ok and dow_ok


def _values(spec: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    found: set[int] = set()
    for part in spec.upper().split(","):
        found |= _part_values(part, low, high, names or {})
    return found


def _part_values(part: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    base, _, step_text = part.partition("/")
    step = int(step_text) if step_text else 1
    if base in ("*", "?"):
        start, end = low, high
    elif "-" in base:
        first, last = base.split("-", 1)
        start, end = _number(first, names), _number(last, names)
    else:
        start = _number(base, names)
        end = high if step_text else start
    if end < start:  # a wrapping range such as FRI-MON
        return {v for v in range(low, high + 1) if v >= start or v <= end}
    return set(range(start, end + 1, step))


def _number(text: str, names: dict[str, int]) -> int:
    if text in names:
        return names[text]
    if not text.isdigit():
        raise InvalidSchedule(f"unsupported cron value {text!r}")
    return int(text)


def _last_day(when: datetime) -> int:
    return calendar.monthrange(when.year, when.month)[1]


def _dom_matches(spec: str, when: datetime) -> bool:
    spec = spec.upper()
    if spec == "L":
        return when.day == _last_day(when)
    if spec.endswith("W"):
        target = _last_day(when) if spec == "LW" else int(spec[:-1])
        return when.day == _nearest_weekday(when, target)
    return when.day in _values(spec, 1, 31)


def _nearest_weekday(when: datetime, day: int) -> int:
    """The weekday nearest to ``day`` in the same month (Saturday -> Friday, Sunday -> Monday, never across months)."""
    day = min(day, _last_day(when))
    weekday = when.replace(day=day).weekday()  # Monday = 0
    if weekday == 5:
        return day - 1 if day > 1 else day + 2
    if weekday == 6:
        return day + 1 if day < _last_day(when) else day - 2
    return day


def _dow_matches(spec: str, when: datetime) -> bool:
    spec = spec.upper()
    today = (when.weekday() + 1) % 7 + 1  # SUN=1 ... SAT=7
    if "#" in spec:
        day, nth = spec.split("#")
        return today == _number(day, DAYS) and (when.day - 1) // 7 + 1 == int(nth)
    if spec.endswith("L") and spec != "L":
        return today == _number(spec[:-1], DAYS) and when.day + 7 > _last_day(when)
    if spec == "L":
        return today == 7
    return today in _values(spec, 1, 7, DAYS)


def rate_period(expression: str) -> timedelta | None:
    """The period of a rate(...) expression; None for cron(...). Raises InvalidSchedule for anything else."""
    expression = expression.strip()
    if expression.startswith("cron(") and expression.endswith(")"):
        return None
    rate = RATE.match(expression)
    if not rate or int(rate.group(1)) <= 0:
        raise InvalidSchedule(f"unsupported ScheduleExpression {expression!r}")
    return timedelta(seconds=int(rate.group(1)) * RATE_SECONDS[rate.group(2)])


def firings(expression: str, created: float, since: datetime, until: datetime) -> list[datetime]:
    """The times in (since, until] at which a rule with this ScheduleExpression fires (UTC).

    - cron(...): the whole minutes that match.
    - rate(N unit): created + k * period, k >= 1. EventBridge UG, "Rate expressions reference": "A rate expression
      starts when you create the scheduled event rule, and then it runs on a defined schedule." So a rule created at
      12:00:57 with rate(1 minute) fires at 12:01:57, 12:02:57, ..., never at 12:01:00.
    """
    period = rate_period(expression)
    if period is None:
        cron = Cron(expression.strip()[5:-1])
        times = []
        minute = since.replace(second=0, microsecond=0) + MINUTE
        while minute <= until:
            if cron.matches(minute):
                times.append(minute)
            minute += MINUTE
        return times
    start = datetime.fromtimestamp(created, UTC)
    k = max(1, (since - start) // period + 1)  # the first firing after ``since``
    times = []
    while (when := start + k * period) <= until:
        times.append(when)
        k += 1
    return times


def next_firing(expression: str, created: float, after: datetime) -> datetime:
    """The first time after ``after`` at which the rule fires: for cron, at most the next whole minute (the clock then
    checks it); for rate, the next period from the rule's creation."""
    period = rate_period(expression)
    next_minute = after.replace(second=0, microsecond=0) + MINUTE
    if period is None:
        return next_minute
    start = datetime.fromtimestamp(created, UTC)
    return start + max(1, (after - start) // period + 1) * period


def schedule_due(expression: str, created: float, at: datetime) -> bool:
    """Whether a rule with this ScheduleExpression fires in the minute that ends at ``at`` ((at - 1 minute, at])."""
    return bool(firings(expression, created, at - MINUTE, at))


def scheduled_event(rule: Any, when: datetime) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule.account_id,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": rule.region_name,
        "resources": [rule.arn],
        "detail": {},
    }


# ---- deliveries ------------------------------------------------------------------------------------------------------
@dataclass(order=True)
class _Scheduled:
    due: float
    seq: int
    delivery: _Delivery = field(compare=False)


@dataclass
class _Delivery:
    rule: Any
    target: dict[str, Any]
    event: dict[str, Any]
    transform_input: bool
    first_attempt: float = field(default_factory=time.time)
    attempts: int = 0


class _DelayQueue:
    """Deliveries ready now or after a retry delay."""

    def __init__(self) -> None:
        self._heap: list[_Scheduled] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()

    def put(self, delivery: _Delivery | None, delay: float = 0.0) -> None:
        with self._cond:
            item = _Scheduled(time.monotonic() + delay, next(self._seq), delivery)  # type: ignore[arg-type]
            heapq.heappush(self._heap, item)
            self._cond.notify()

    def get(self) -> _Delivery | None:
        with self._cond:
            while True:
                if self._heap and self._heap[0].due <= time.monotonic():
                    return heapq.heappop(self._heap).delivery
                timeout = self._heap[0].due - time.monotonic() if self._heap else None
                self._cond.wait(timeout=timeout)


class EventRouter:
    def __init__(self, runner: LambdaRunner, endpoint_url: str) -> None:
        self.runner = runner
        self.endpoint_url = endpoint_url
        self._queue = _DelayQueue()
        self._pending = 0
        self._pending_cond = threading.Condition()
        self._accepting = True
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._clients: dict[tuple[str, str], Any] = {}
        self._clients_lock = threading.Lock()
        self._last_tick: datetime | None = None
        install(self)  # Step Functions' StartExecution fixes, which its targets need, are in localcloud.patches

    # -- lifecycle
    def start(self) -> None:
        install(self)  # again after a stop (which uninstalled it)
        self._accepting = True
        self._stopped.clear()
        if self._threads:
            return
        for i in range(DISPATCHERS):
            self._threads.append(threading.Thread(target=self._dispatch_loop, name=f"events-{i}", daemon=True))
        self._threads.append(threading.Thread(target=self._schedule_loop, name="events-schedule", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop_accepting(self) -> None:
        """Schedules stop firing; deliveries already queued go on."""
        self._accepting = False

    def drain(self, deadline: float) -> bool:
        with self._pending_cond:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    log.warning("%d EventBridge deliveries still queued at the deadline are dropped", self._pending)
                    return False
                self._pending_cond.wait(timeout=remaining)
        return True

    def stop(self) -> None:
        uninstall(self)
        self._stopped.set()
        for _ in range(DISPATCHERS):
            self._queue.put(None)
        self._threads = []

    # -- routing (inside PutEvents: matching only)
    def route(self, rule: Any, event: dict[str, Any], transform_input: bool = True) -> None:
        if rule.state != "ENABLED":
            return
        if rule.scheduled_expression and not rule.event_pattern.dump():
            return  # a schedule-only rule matches no event
        if not rule.event_pattern.matches_event(event):
            return
        targets = list(rule.targets)
        recorder = self.runner.recorder
        if recorder is not None:
            recorder.bus_rule(event, rule.event_bus_name, rule.arn, rule.name, [t["Arn"] for t in targets])
        for target in targets:
            self._enqueue(_Delivery(rule, copy.deepcopy(target), copy.deepcopy(event), transform_input))

    def _enqueue(self, delivery: _Delivery, delay: float = 0.0) -> None:
        if delivery.attempts == 0:
            with self._pending_cond:
                self._pending += 1
        self._queue.put(delivery, delay)

    def _resolved(self) -> None:
        with self._pending_cond:
            self._pending -= 1
            self._pending_cond.notify_all()

    # -- schedules
    def tick(self, now: datetime | None = None, since: datetime | None = None) -> list[str]:
        """Fires the scheduled rules due in (since, now] (UTC; ``since`` defaults to a minute before ``now``), once per
        firing, and returns their ARNs in firing order. The clock calls it with the time since its last call; tests
        call it with any times."""
        until = (now or datetime.now(UTC)).astimezone(UTC)
        since = until - MINUTE if since is None else since.astimezone(UTC)
        due: list[tuple[datetime, Any]] = []
        for rule in _scheduled_rules():
            created = getattr(rule, "localcloud_created", time.time())
            try:
                due += [(when, rule) for when in firings(rule.scheduled_expression, created, since, until)]
            except InvalidSchedule as exc:
                log.warning("rule %s: %s", rule.arn, exc)
        due.sort(key=lambda item: item[0])
        for when, rule in due:
            event = scheduled_event(rule, when)
            recorder = self.runner.recorder
            if recorder is not None:
                recorder.bus_event(
                    event_id=event["id"], bus=rule.event_bus_name, source="aws.events", detail_type="Scheduled Event",
                    detail={}, when=when.timestamp(),
                )  # fmt: skip
                recorder.bus_rule(event, rule.event_bus_name, rule.arn, rule.name, [t["Arn"] for t in rule.targets])
            for target in list(rule.targets):
                self._enqueue(_Delivery(rule, copy.deepcopy(target), event, True))
        return [rule.arn for _, rule in due]

    def next_wake(self, now: datetime) -> float:
        """Seconds until the clock must look again: the next rate firing or the next whole minute (for cron rules),
        at most SCHEDULER_INTERVAL_S so that rules created meanwhile are seen."""
        wake = now + timedelta(seconds=SCHEDULER_INTERVAL_S)
        for rule in _scheduled_rules():
            try:
                when = next_firing(rule.scheduled_expression, getattr(rule, "localcloud_created", time.time()), now)
            except InvalidSchedule:
                continue
            wake = min(wake, when)
        return max(0.0, (wake - now).total_seconds())

    def _schedule_loop(self) -> None:
        self._last_tick = datetime.now(UTC)
        while not self._stopped.wait(self.next_wake(datetime.now(UTC))):
            now = datetime.now(UTC)
            last, self._last_tick = self._last_tick, now
            if last is None or now <= last or not self._accepting:
                continue
            self.tick(now, since=last)

    # -- delivering
    def _dispatch_loop(self) -> None:
        while True:
            delivery = self._queue.get()
            if delivery is None:
                return
            try:
                self._attempt(delivery)
            except Exception:  # noqa: BLE001 - a broken delivery must not kill the dispatcher
                log.exception("delivery to %s failed inside the router", delivery.target.get("Arn"))
                self._resolved()

    def _attempt(self, delivery: _Delivery) -> None:
        delivery.attempts += 1
        try:
            self._send(delivery)
        except DeliveryFailed as exc:
            self._failed(delivery, exc)
            return
        self._outcome(delivery, "delivered")
        self._resolved()

    def _outcome(self, delivery: _Delivery, status: str, error: str | None = None) -> None:
        recorder = self.runner.recorder
        if recorder is not None:
            recorder.bus_target(
                str(delivery.event.get("id")), delivery.rule.arn, delivery.target["Arn"], status, delivery.attempts, error
            )

    def _failed(self, delivery: _Delivery, exc: DeliveryFailed) -> None:
        policy = delivery.target.get("RetryPolicy") or {}
        retries = int(policy.get("MaximumRetryAttempts", DEFAULT_MAX_RETRIES))
        max_age = float(policy.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE_S))
        delay = RETRY_DELAYS_S[min(delivery.attempts - 1, len(RETRY_DELAYS_S) - 1)]
        condition = None
        if exc.code not in NOT_RETRIED:
            if delivery.attempts > retries:
                condition = "MaximumRetryAttempts"
            elif time.time() + delay - delivery.first_attempt > max_age:
                condition = "MaximumEventAgeInSeconds"
            else:
                self._outcome(delivery, "retrying", f"{exc.code}: {exc}")
                self._queue.put(delivery, delay)
                return
        dead_lettered = self._dead_letter(delivery, exc, condition)
        self._outcome(delivery, "dead-lettered" if dead_lettered else "dropped", f"{exc.code}: {exc}")
        self._resolved()

    def _send(self, delivery: _Delivery) -> None:
        target, rule = delivery.target, delivery.rule
        arn: str = target["Arn"]
        parts = arn.split(":")
        service, region = parts[2], parts[3] or rule.region_name
        if service == "events" or service == "logs":
            self._via_moto(delivery)
            return
        payload = (
            target_input(target, delivery.event, rule.arn, rule.name)
            if delivery.transform_input
            else json.dumps(public_event(delivery.event))
        )
        if service == "lambda":
            self._to_lambda(arn, payload, region)
        elif service == "sqs":
            self._to_sqs(arn, payload, region, target)
        elif service == "states":
            self._call(
                lambda: self._client("stepfunctions", region).start_execution(stateMachineArn=arn, input=payload)
            )
        elif service == "sns":
            self._call(lambda: self._client("sns", region).publish(TopicArn=arn, Message=payload))
        else:
            raise DeliveryFailed("UnsupportedTarget", f"{service} targets are not supported by the local cloud")

    def _via_moto(self, delivery: _Delivery) -> None:
        try:
            _moto_send(delivery.rule, delivery.target, delivery.event, delivery.transform_input)
        except (KeyError, ValueError, AttributeError, NotImplementedError) as exc:
            raise DeliveryFailed("ResourceNotFoundException", f"{type(exc).__name__}: {exc}") from exc
        except client_error() as exc:
            raise DeliveryFailed(exc.response["Error"]["Code"], str(exc)) from exc

    def _to_lambda(self, arn: str, payload: str, region: str) -> None:
        try:
            self.runner.invoke_async(arn, payload.encode(), region=region)
        except FunctionNotFound as exc:
            raise DeliveryFailed("ResourceNotFoundException", str(exc)) from exc
        except LambdaError as exc:
            raise DeliveryFailed(exc.code, str(exc)) from exc

    def _to_sqs(self, arn: str, payload: str, region: str, target: dict[str, Any]) -> None:
        _, _, _, _, account, name = arn.split(":")
        sqs = self._client("sqs", region)
        url = self._call(lambda: sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account))["QueueUrl"]
        kwargs: dict[str, Any] = {"QueueUrl": url, "MessageBody": payload}
        if name.endswith(".fifo"):
            attributes = self._call(
                lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ContentBasedDeduplication"])
            )
            if attributes.get("Attributes", {}).get("ContentBasedDeduplication") != "true":
                raise DeliveryFailed("InvalidParameterValue", "a FIFO queue target needs content-based deduplication")
            kwargs["MessageGroupId"] = (target.get("SqsParameters") or {}).get("MessageGroupId")
            if not kwargs["MessageGroupId"]:
                raise DeliveryFailed("InvalidParameterValue", "a FIFO queue target needs SqsParameters.MessageGroupId")
        self._call(lambda: sqs.send_message(**kwargs))

    @staticmethod
    def _call(fn: Any) -> Any:
        try:
            return fn()
        except client_error() as exc:
            raise DeliveryFailed(exc.response["Error"]["Code"], str(exc)) from exc
        except botocore_error() as exc:
            raise DeliveryFailed("ServiceUnavailable", str(exc)) from exc

    def _dead_letter(self, delivery: _Delivery, exc: DeliveryFailed, condition: str | None) -> bool:
        """The event goes to the target's DLQ with AWS's attributes; without a DLQ it is dropped (and logged).
        True when the DLQ took it."""
        dlq = (delivery.target.get("DeadLetterConfig") or {}).get("Arn")
        if not dlq:
            log.warning("event %s dropped for target %s: %s", delivery.event.get("id"), delivery.target.get("Arn"), exc)
            return False
        attributes = {
            "RULE_ARN": delivery.rule.arn,
            "TARGET_ARN": delivery.target["Arn"],
            "ERROR_CODE": exc.code,
            "ERROR_MESSAGE": str(exc)[:1000],
            "RETRY_ATTEMPTS": str(delivery.attempts - 1),
        }
        if condition:
            attributes["EXHAUSTED_RETRY_CONDITION"] = condition
        _, _, _, region, account, name = dlq.split(":")
        sqs = self._client("sqs", region)
        try:
            url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            sqs.send_message(
                QueueUrl=url,
                MessageBody=json.dumps(public_event(delivery.event)),
                MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
            )
        except client_errors() as error:
            log.warning("event %s lost: its dead-letter queue %s failed: %s", delivery.event.get("id"), dlq, error)
            return False
        return True

    def _client(self, service: str, region: str) -> Any:
        with self._clients_lock:
            key = (service, region)
            if key not in self._clients:
                import boto3  # imported by the first client: the cloud starts without it

                self._clients[key] = boto3.client(
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    config=botocore_config(retries={"max_attempts": 1}),
                )
            return self._clients[key]


def _scheduled_rules() -> Iterator[Any]:
    if "moto.events.models" not in sys.modules:
        return  # EventBridge was never called (nor deployed): no rule exists, and the clock must not import it
    from moto.events.models import events_backends

    for _account, regions in list(events_backends.items()):
        for _region, backend in list(regions.items()):
            bus = backend.event_buses.get("default")
            for rule in list(bus.rules.values()) if bus else []:
                if rule.scheduled_expression and rule.state == "ENABLED":
                    yield rule
