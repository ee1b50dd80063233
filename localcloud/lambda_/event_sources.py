"""Event source mappings: the machinery shared by the SQS poller (localcloud/sqs/poller.py) and the DynamoDB Streams
poller (localcloud/dynamodb/streams.py), which deliver to the runner in the background.

The mappings stay in moto's Lambda API (Create/Update/DeleteEventSourceMapping work unchanged); moto no longer invokes
them inside SendMessage or PutItem (see localcloud/patches/redirects.py). The pollers read them every SCAN_INTERVAL_S
and poll like the Lambda service does. docs/local-cloud-async.md lists each AWS behaviour with the test that checks it.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from localcloud.aws import botocore_config
from localcloud.lambda_.runner import InvokeResult, LambdaRunner

log = logging.getLogger("localcloud.pollers")


SCAN_INTERVAL_S = 0.25  # how soon a created, updated, disabled or deleted mapping is picked up
THROTTLE_BACKOFF_S = 0.5
SQS_LONG_POLL_S = 1  # short enough for a prompt drain
BATCH_ITEM_FAILURES = "ReportBatchItemFailures"

_installed = threading.Lock()
_state = {"installed": False}


# ---- moto patches ----------------------------------------------------------------------------------------------------
def install() -> None:
    """Idempotent: the mapping fields the pollers need, and a fix to moto's FIFO ReceiveMessage."""
    with _installed:
        if _state["installed"]:
            return
        _state["installed"] = True
    from localcloud.patches import when_imported

    when_imported("moto.awslambda", install_esm_fields)
    when_imported("moto.sqs", install_sqs_fifo_fix)


def install_esm_fields() -> None:
    """moto 5.2.5 keeps every mapping field the pollers read; it lacks the stream position LATEST refers to.

    AWS reads a LATEST mapping from the end of the stream as of its creation; here the next sequence number at
    CreateEventSourceMapping is recorded on the mapping, so records written right after it are not missed.
    """
    from moto.awslambda.models import LambdaBackend

    original = LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: LambdaBackend, spec: dict[str, Any]) -> Any:
        esm = original(self, spec)
        latest = _next_stream_sequence(self.account_id, self.region_name, esm.event_source_arn)
        esm.localcloud_latest_sequence = latest  # type: ignore[attr-defined]
        return esm

    LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]


def _next_stream_sequence(account: str, region: str, arn: str) -> int | None:
    if ":dynamodb:" not in arn or "/stream/" not in arn:
        return None
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[account][region].tables.get(arn.split(":table/")[1].split("/")[0])
    shard = getattr(table, "stream_shard", None)
    if shard is None:
        return None
    return int(shard.starting_sequence_number) + len(shard.items)


def install_sqs_fifo_fix() -> None:
    """moto releases an in-flight FIFO message whose visibility expired only while scanning past it, after it has
    already skipped the group's first message as 'pending': a failed group would be redelivered from its second
    message. Releasing the expired in-flight messages before the scan keeps the group's order, as on AWS."""
    from moto.sqs.models import SQSBackend

    original = SQSBackend.receive_message

    def receive_message(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        if queue.fifo_queue:
            for message in [m for m in queue.pending_messages if m.visible]:
                queue.pending_messages.discard(message)
        return original(self, queue_name, *args, **kwargs)

    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]


def _mappings(service: str) -> list[Any]:
    """Every enabled event source mapping whose source is ``service`` ("sqs" or "dynamodb"), across accounts."""
    if "moto.awslambda.models" not in sys.modules:
        return []  # Lambda was never called (nor deployed): no mapping exists, and polling must not import it
    from moto.awslambda.models import lambda_backends

    found = []
    for _account, regions in list(lambda_backends.items()):
        for _region, backend in list(regions.items()):
            for esm in list(backend._event_source_mappings.values()):
                if esm.event_source_arn.split(":")[2] == service and _enabled(esm):
                    found.append(esm)
    return found


def _enabled(esm: Any) -> bool:
    return esm.enabled is True or str(esm.enabled).lower() == "true"


# ---- filtering (Lambda event filtering, with moto's EventBridge pattern matcher) -------------------------------------
class RecordFilter:
    """FilterCriteria.Filters: a record is delivered when any pattern matches (an empty list delivers everything)."""

    def __init__(self, criteria: dict[str, Any] | None) -> None:
        from moto.events.models import EventPattern

        filters = (criteria or {}).get("Filters") or []
        self.patterns = [EventPattern.load(f["Pattern"]) for f in filters if f.get("Pattern")]

    def matches(self, record: dict[str, Any]) -> bool:
        return not self.patterns or any(p.matches_event(record) for p in self.patterns)  # type: ignore[arg-type]


# ---- the component shape LocalCloud drives ---------------------------------------------------------------------------
class _Poller:
    service = ""

    def __init__(self, runner: LambdaRunner, endpoint_url: str, interval_s: float = 0.05) -> None:
        install()
        self.runner = runner
        self.endpoint_url = endpoint_url
        self.interval_s = interval_s
        self.accepting = threading.Event()
        self._stopped = threading.Event()
        self._workers: dict[str, _MappingWorker] = {}
        self._scanner: threading.Thread | None = None
        self._lock = threading.Lock()
        self.inflight = 0
        self.inflight_cond = threading.Condition()
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                import boto3  # imported by the first client: the cloud starts without it

                self._clients[key] = boto3.client(
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    config=botocore_config(
                        retries={"max_attempts": 1}, read_timeout=SQS_LONG_POLL_S + 10, max_pool_connections=50
                    ),
                )
            return self._clients[key]

    def start(self) -> None:
        """Starts polling, or resumes it after stop_accepting."""
        self._stopped.clear()
        self.accepting.set()
        if self._scanner is None or not self._scanner.is_alive():
            self._scanner = threading.Thread(target=self._scan_loop, name=f"{self.service}-esm-scan", daemon=True)
            self._scanner.start()

    def stop_accepting(self) -> None:
        """No new batches: receivers stop receiving; batches already handed to the runner go on."""
        self.accepting.clear()

    def drain(self, deadline: float) -> bool:
        """Waits for in-flight batches until ``deadline`` (monotonic). Unfinished ones are abandoned: their messages
        are not deleted and become visible again after their visibility timeout; nothing is lost."""
        for worker in list(self._workers.values()):
            worker.join_pollers(deadline)
        with self.inflight_cond:
            while self.inflight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.inflight_cond.wait(timeout=remaining)
            drained = self.inflight == 0
        if not drained:
            for worker in list(self._workers.values()):
                worker.abandon_inflight()
        return drained

    def stop(self) -> None:
        self.accepting.clear()
        self._stopped.set()
        for worker in list(self._workers.values()):
            worker.retire()
        self._workers.clear()

    def _scan_loop(self) -> None:
        while not self._stopped.is_set():
            if self.accepting.is_set():
                try:
                    self._sync()
                except Exception:  # noqa: BLE001 - one bad mapping must not stop the scanner
                    log.exception("scanning %s event source mappings failed", self.service)
            self._stopped.wait(SCAN_INTERVAL_S)

    def _sync(self) -> None:
        current = {esm.uuid: esm for esm in _mappings(self.service)}
        for esm_id in [k for k, w in self._workers.items() if k not in current or not w.alive()]:
            self._workers.pop(esm_id).retire()
        for esm_id, esm in current.items():
            if esm_id not in self._workers:
                self._workers[esm_id] = self.new_worker(esm)
                self._workers[esm_id].start()

    def new_worker(self, esm: Any) -> _MappingWorker:
        raise NotImplementedError

    def batch_started(self) -> None:
        with self.inflight_cond:
            self.inflight += 1

    def batch_finished(self) -> None:
        with self.inflight_cond:
            self.inflight -= 1
            self.inflight_cond.notify_all()


class _MappingWorker:
    """The threads serving one mapping."""

    def __init__(self, poller: _Poller, esm: Any) -> None:
        self.poller = poller
        self.esm = esm
        self.region = esm.region
        self.retired = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        raise NotImplementedError

    def alive(self) -> bool:
        return any(t.is_alive() for t in self.threads)

    def active(self) -> bool:
        return self.poller.accepting.is_set() and not self.retired.is_set()

    def retire(self) -> None:
        self.retired.set()

    def join_pollers(self, deadline: float) -> None:
        """Waits for the polling threads, which stop soon after stop_accepting (a long poll lasts at most 1 s)."""
        for thread in list(self.threads):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def abandon_inflight(self) -> None:
        """Past the drain deadline: whatever finishes later is not acknowledged (at-least-once, as on AWS)."""

    def spawn(self, target: Callable[..., None], name: str, *args: Any) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        thread.start()
        return thread

    def invoke(self, payload: dict[str, Any]) -> InvokeResult:
        return self.poller.runner.invoke(self.esm.function_arn, json.dumps(payload).encode(), region=self.region)
