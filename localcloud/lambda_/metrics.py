"""The AWS/Lambda metrics the runner publishes to CloudWatch: Invocations, Errors, Duration and Throttles.

moto's CloudWatch stores what ``PutMetricData`` sends but has no Lambda service behind it, so no function metric ever
appears there. The runner reports each invocation here; a background thread writes the datapoints into moto's
CloudWatch backend, off the invoke path, with the dimension sets Lambda uses (Lambda DG, "Types of metrics for Lambda
functions", dimensions ``FunctionName``, ``Resource`` and ``ExecutedVersion``):

- ``{FunctionName}`` for every invocation;
- ``{FunctionName, Resource}`` for a qualified one, ``Resource`` being ``name:qualifier`` (a version or an alias);
- ``{FunctionName, Resource, ExecutedVersion}`` for an alias, so each of a weighted alias's versions has its own.

Errors counts invocations that ended in a function error (an exception, a timeout, a runtime exit); Duration is the
handler's time in milliseconds, without the init phase, as on AWS. Throttles counts throttled invokes, which count as
neither invocations nor errors. ConcurrentExecutions and the async and stream metrics are not published.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.lambda_.runner import FunctionConfig

log = logging.getLogger("localcloud.metrics")
NAMESPACE = "AWS/Lambda"


def dimension_sets(config: FunctionConfig) -> list[list[dict[str, str]]]:
    sets = [[{"Name": "FunctionName", "Value": config.name}]]
    qualifier = config.qualifier
    if qualifier is not None and qualifier != "$LATEST":
        resource = [
            {"Name": "FunctionName", "Value": config.name},
            {"Name": "Resource", "Value": f"{config.name}:{qualifier}"},
        ]
        sets.append(resource)
        if not qualifier.isdigit():  # an alias: which of its versions ran
            sets.append([*resource, {"Name": "ExecutedVersion", "Value": config.version}])
    return sets


def datapoints(config: FunctionConfig, status: str, duration_ms: float) -> list[dict[str, Any]]:
    """The PutMetricData entries for one invocation (``status``: ok, error, timeout or throttled)."""
    if status == "throttled":
        values = [("Throttles", 1.0, "Count")]
    else:
        values = [
            ("Invocations", 1.0, "Count"),
            ("Errors", 0.0 if status == "ok" else 1.0, "Count"),
            ("Duration", round(duration_ms, 2), "Milliseconds"),
        ]
    return [
        {"MetricName": name, "Value": value, "Unit": unit, "Dimensions": dims}
        for dims in dimension_sets(config)
        for name, value, unit in values
    ]


class MetricsPublisher:
    """Called by the runner after each invocation; one thread puts the datapoints into moto's CloudWatch."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, str, list[dict[str, Any]]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="lambda-metrics", daemon=True)
        self._thread.start()

    def __call__(self, config: FunctionConfig, status: str, duration_ms: float) -> None:
        self._queue.put((config.account, config.region, datapoints(config, status, duration_ms)))

    def flush(self, timeout: float = 2.0) -> None:
        """Wait until every reported invocation is in CloudWatch (tests and drills read right after invoking)."""
        done = threading.Event()
        self._queue.put(("", "", [{"__flush__": done}]))
        done.wait(timeout)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            account, region, data = item
            if data and "__flush__" in data[0]:
                data[0]["__flush__"].set()
                continue
            try:
                from moto.cloudwatch.models import cloudwatch_backends

                cloudwatch_backends[account][region].put_metric_data(NAMESPACE, data)
            except Exception:  # noqa: BLE001 - a lost datapoint must never fail an invocation
                log.exception("could not publish Lambda metrics")
