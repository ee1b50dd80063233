"""Metric alarm evaluation: moto's CloudWatch stores alarms but never evaluates them (they stay in their first state).

:func:`evaluate` does what CloudWatch does on each evaluation (CloudWatch UG, "Using Amazon CloudWatch alarms",
sections "Evaluating an alarm" and "Configuring how CloudWatch alarms treat missing data"), for alarms on one metric:

- the metric's datapoints are those with exactly the alarm's namespace, name and dimensions;
- each of the last ``EvaluationPeriods`` periods of ``Period`` seconds gets the alarm's statistic (``Sum``, ``Average``,
  ``Minimum``, ``Maximum``, ``SampleCount``, or an ``ExtendedStatistic`` ``pNN``); a period without data is missing;
- the alarm goes to ALARM when at least ``DatapointsToAlarm`` (default: ``EvaluationPeriods``) of them breach the
  threshold, with missing periods treated as ``TreatMissingData`` says (``missing``, the default, and ``ignore`` leave
  them out; ``breaching`` and ``notBreaching`` count them as such); to INSUFFICIENT_DATA when no period has data and
  missing data is ``missing``; to OK otherwise.

Modelled on one machine: periods end at the evaluation instant, not on the minute, so the current period counts while
it is still open and an alarm fires on the tick after its first breaching datapoint, where CloudWatch waits for the
period to close. Alarms on metric math (``Metrics``) are left in their state. The state changes through moto's own
``SetAlarmState``, so DescribeAlarms and the alarm history show it.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

BREACHES = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


def _statistic(values: list[float], statistic: str | None, extended: str | None) -> float:
    if extended:  # pNN or pNN.N: nearest rank
        ordered = sorted(values)
        rank = math.ceil(float(extended[1:]) / 100 * len(ordered))
        return ordered[max(rank, 1) - 1]
    if statistic == "Sum":
        return sum(values)
    if statistic == "Average":
        return sum(values) / len(values)
    if statistic == "Minimum":
        return min(values)
    if statistic == "Maximum":
        return max(values)
    return float(len(values))  # SampleCount


def _dimensions(items: Any) -> frozenset[tuple[str, str]]:
    return frozenset((d.name, d.value) for d in items or [])


def period_values(backend: Any, alarm: Any, now: datetime) -> list[float | None]:
    """The alarm's statistic for each of its last EvaluationPeriods periods, oldest first (None: no data)."""
    period = timedelta(seconds=int(alarm.period))
    count = int(alarm.evaluation_periods)
    start = now - period * count
    wanted = _dimensions(alarm.dimensions)
    buckets: list[list[float]] = [[] for _ in range(count)]
    for datum in reversed(backend.metric_data):  # appended in time order: stop at the window's start
        if datum.timestamp < start:
            break
        if datum.name != alarm.metric_name or datum.namespace != alarm.namespace or not hasattr(datum, "value"):
            continue
        if datum.timestamp > now or _dimensions(datum.dimensions) != wanted:
            continue
        index = min(int((datum.timestamp - start) / period), count - 1)
        buckets[index].append(float(datum.value))
    return [_statistic(b, alarm.statistic, alarm.extended_statistic) if b else None for b in buckets]


def evaluate(backend: Any, alarm: Any, now: datetime) -> str:
    """Evaluate ``alarm`` (a moto FakeAlarm of ``backend``) at ``now`` (naive UTC, as moto stores timestamps); set
    and return its new state."""
    if not alarm.metric_name or alarm.threshold is None or not alarm.period:
        return str(alarm.state_value)  # metric math and anomaly detection are not evaluated
    values = period_values(backend, alarm, now)
    missing = alarm.treat_missing_data or "missing"
    breaches = BREACHES[alarm.comparison_operator]
    breaching = notbreaching = 0
    for value in values:
        if value is None:
            if missing == "breaching":
                breaching += 1
            elif missing == "notBreaching":
                notbreaching += 1
        elif breaches(value, float(alarm.threshold)):
            breaching += 1
        else:
            notbreaching += 1
    needed = int(alarm.datapoints_to_alarm or alarm.evaluation_periods)
    if breaching >= needed:
        state = "ALARM"
    elif breaching + notbreaching == 0:
        state = "INSUFFICIENT_DATA" if missing == "missing" else str(alarm.state_value)
    else:
        state = "OK"
    if state != alarm.state_value:
        shown = [v for v in values if v is not None]
        reason = (
            f"Threshold Crossed: {breaching} out of the last {len(values)} datapoints {shown} "
            f"{'were' if state == 'ALARM' else 'were not'} {alarm.comparison_operator} the threshold "
            f"({alarm.threshold}) (local evaluation)."
        )
        backend.set_alarm_state(alarm.name, reason, json.dumps({"recentDatapoints": shown}), state)
    return state


def evaluate_named(account: str, region: str, names: list[str], now: datetime | None = None) -> dict[str, str]:
    """Evaluate the named alarms; returns each one's state (a name that does not exist is left out)."""
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.core.utils import utcnow

    backend = cloudwatch_backends[account][region]
    when = now or utcnow()
    return {name: evaluate(backend, backend.alarms[name], when) for name in names if name in backend.alarms}
