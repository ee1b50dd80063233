"""Event source mapping pollers: SQS queues and DynamoDB streams, delivered to the runner in the background.

The mappings stay in moto's Lambda API (Create/Update/DeleteEventSourceMapping work unchanged); moto no longer invokes
them inside SendMessage or PutItem (see moto_patches). These pollers read them every SCAN_INTERVAL_S and poll like the
Lambda service does. docs/local-cloud-async.md lists each AWS behaviour with the test that checks it.

SQS (one receiver thread per mapping, batches handed to up to N concurrent invokers):
- ReceiveMessage through the local cloud's endpoint, so moto itself applies the visibility timeout, the receive count
  and the redrive to the DLQ after maxReceiveCount;
- BatchSize and MaximumBatchingWindowInSeconds; FilterCriteria (non-matching messages are deleted, as on AWS);
- success deletes the batch, a function error leaves it (it reappears after the visibility timeout),
  ReportBatchItemFailures deletes all but the reported ones (a malformed report fails the whole batch);
- FIFO: moto hides the messages of a group with messages in flight, so a group is processed in order while other
  groups run in parallel.

DynamoDB Streams (one thread per mapping and shard, in order):
- StartingPosition TRIM_HORIZON or LATEST (as of the mapping's creation), BatchSize, batching window, FilterCriteria;
- on error: BisectBatchOnFunctionError, MaximumRetryAttempts, MaximumRecordAgeInSeconds, then the OnFailure
  destination gets Lambda's stream failure record and the shard moves on; ReportBatchItemFailures checkpoints at the
  lowest failed sequence number.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from localcloud.runner import InvokeResult, LambdaError, LambdaRunner, ShuttingDown, Throttled

log = logging.getLogger("localcloud.pollers")

SCAN_INTERVAL_S = 0.25  # how soon a created, updated, disabled or deleted mapping is picked up
SQS_DEFAULT_CONCURRENCY = 5  # AWS starts with five pollers per SQS mapping; ScalingConfig.MaximumConcurrency caps it
SQS_LONG_POLL_S = 1  # short enough for a prompt drain
FIFO_IDLE_POLL_MAX_S = 0.25  # FIFO queues are short-polled (moto's long poll spins while a group is blocked)
THROTTLE_BACKOFF_S = 0.5
STREAM_IDLE_POLL_S = 0.25  # AWS polls a shard four times a second
STREAM_LOCAL_RETRY_CAP = 10  # MaximumRetryAttempts -1 (retry until the record expires) stops here locally
STREAM_RETRY_BASE_S = 0.05
STREAM_RETRY_MAX_S = 0.5
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
        install_esm_fields()
        install_sqs_fifo_fix()


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


def sqs_filter_view(record: dict[str, Any]) -> dict[str, Any]:
    """Lambda filters an SQS message on its body parsed as JSON when it is JSON, else on the plain string."""
    try:
        body = json.loads(record["body"])
    except ValueError:
        return record
    return {**record, "body": body}


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
                self._clients[key] = boto3.client(
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    config=Config(
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


# ---- SQS -------------------------------------------------------------------------------------------------------------
SQS_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "AWSTraceHeader",
    "SentTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    "ApproximateFirstReceiveTimestamp",
)


class SqsPoller(_Poller):
    """Polls the SQS queues of enabled event source mappings and invokes their functions with batches."""

    service = "sqs"

    def new_worker(self, esm: Any) -> _MappingWorker:
        return _SqsMapping(self, esm)


@dataclass(eq=False)
class _SqsBatch:
    messages: list[dict[str, Any]]
    abandoned: bool = False


class _SqsMapping(_MappingWorker):
    """One receiver collects batches; up to ``concurrency`` batches are with the function at a time."""

    def __init__(self, poller: _Poller, esm: Any) -> None:
        super().__init__(poller, esm)
        self.queue_arn: str = esm.event_source_arn
        self.fifo = self.queue_arn.endswith(".fifo")
        self.sqs = poller.client("sqs", self.region)
        self.slots = threading.Semaphore(sqs_concurrency(esm))
        self.batches: set[_SqsBatch] = set()
        self.throttled_until = 0.0
        self.idle_polls = 0  # empty short polls in a row (FIFO)
        self._queue_url: str | None = None

    def start(self) -> None:
        self.spawn(self._receive_loop, f"sqs-{self.esm.uuid[:8]}")

    @property
    def queue_url(self) -> str:
        if self._queue_url is None:
            _, _, _, _, account, name = self.queue_arn.split(":")
            self._queue_url = self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        return self._queue_url

    def abandon_inflight(self) -> None:
        for batch in list(self.batches):
            batch.abandoned = True

    # -- receiving
    def _receive_loop(self) -> None:
        while self.active():
            if time.monotonic() < self.throttled_until or not self.slots.acquire(timeout=0.2):
                time.sleep(min(0.2, max(0.0, self.throttled_until - time.monotonic())))
                continue
            try:
                messages = self._collect()
            except (ClientError, BotoCoreError) as exc:
                log.warning("receiving from %s failed: %s", self.queue_arn, exc)
                self._queue_url = None
                self.slots.release()
                self.retired.wait(THROTTLE_BACKOFF_S)
                continue
            if not messages:
                self.slots.release()
                continue
            if not self.active():
                self._release(messages)
                self.slots.release()
                return
            self._dispatch(_SqsBatch(messages))

    def _collect(self) -> list[dict[str, Any]]:
        """Up to BatchSize messages: the first long poll, then more until the batch is full or the window ends."""
        batch_size = int(self.esm.batch_size)
        batch = self._receive(batch_size, wait=0 if self.fifo else SQS_LONG_POLL_S)
        if not batch:
            if self.fifo:  # short polls back off while the queue stays empty: 50 ms, 100 ms, then every 250 ms
                self.idle_polls += 1
                self.retired.wait(fifo_idle_wait(self.poller.interval_s, self.idle_polls))
            return batch
        self.idle_polls = 0
        deadline = time.monotonic() + float(self.esm.max_batch_window or 0)
        while len(batch) < batch_size and self.active():
            more = self._receive(batch_size - len(batch), wait=0)
            batch += more
            if not more:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                time.sleep(min(max(self.poller.interval_s, 0.01), remaining))
        return batch

    def _receive(self, count: int, wait: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(10, count)),
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    # -- processing
    def _dispatch(self, batch: _SqsBatch) -> None:
        self.batches.add(batch)
        self.poller.batch_started()
        name = f"sqs-batch-{self.esm.uuid[:8]}"
        threading.Thread(target=self._process, args=(batch,), name=name, daemon=True).start()

    def _process(self, batch: _SqsBatch) -> None:
        try:
            self._deliver(batch)
        except Exception:  # noqa: BLE001 - a failed batch stays in the queue; the poller goes on
            log.exception("delivering a batch from %s failed", self.queue_arn)
        finally:
            self.batches.discard(batch)
            self.poller.batch_finished()
            self.slots.release()

    def _deliver(self, batch: _SqsBatch) -> None:
        records = [sqs_record(m, self.queue_arn, self.region) for m in batch.messages]
        record_filter = RecordFilter(self.esm.filter_criteria)
        matched = [r for r in records if record_filter.matches(sqs_filter_view(r))]
        dropped = [r for r in records if r not in matched]
        if dropped:  # AWS deletes the messages a filter drops
            self._delete(dropped)
        if not matched:
            return
        try:
            result = self.invoke({"Records": matched})
        except Throttled:
            self.throttled_until = time.monotonic() + THROTTLE_BACKOFF_S
            return  # the messages come back after their visibility timeout
        except ShuttingDown:
            self._release([m for m in batch.messages if any(r["messageId"] == m["MessageId"] for r in matched)])
            return
        except LambdaError as exc:
            log.warning("invoking %s for %s failed: %s", self.esm.function_arn, self.queue_arn, exc)
            return
        if batch.abandoned:
            return
        failed = sqs_failed_ids(result, matched, BATCH_ITEM_FAILURES in (self.esm.function_response_types or []))
        if failed is None:
            return
        self._delete([r for r in matched if r["messageId"] not in failed])

    def _delete(self, records: list[dict[str, Any]]) -> None:
        for chunk in _chunks(records, 10):
            entries = [{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)

    def _release(self, messages: list[dict[str, Any]]) -> None:
        """Messages received but never given to the function are made visible again at once."""
        for chunk in _chunks(messages, 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(chunk)
            ]
            try:
                self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                log.info(
                    "could not release messages of %s (they come back after their timeout): %s", self.queue_arn, exc
                )


def fifo_idle_wait(interval_s: float, idle_polls: int) -> float:
    """The pause after the n-th empty short poll of a FIFO queue in a row: doubling from the poll interval, capped.

    Each poll is an HTTP request the local cloud serves; at a fixed 50 ms, a few idle FIFO queues cost the server a
    steady ~100 requests/s. AWS's pollers don't short-poll at all: they long-poll."""
    return float(min(FIFO_IDLE_POLL_MAX_S, max(interval_s, 0.01) * 2 ** max(0, idle_polls - 1)))


def sqs_concurrency(esm: Any) -> int:
    maximum = (esm.scaling_config or {}).get("MaximumConcurrency")
    return int(maximum) if maximum else SQS_DEFAULT_CONCURRENCY


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the Lambda SQS event, from a ReceiveMessage message."""
    attributes = message.get("Attributes", {})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {k: attributes[k] for k in SQS_RECORD_ATTRIBUTES if k in attributes},
        "messageAttributes": {k: _lambda_message_attribute(v) for k, v in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """SQS's StringValue/BinaryValue/DataType in Lambda's lowercase shape (binary as base64)."""
    shaped: dict[str, Any] = {}
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    shaped["stringListValues"] = value.get("StringListValues", [])
    shaped["binaryListValues"] = [base64.b64encode(b).decode() for b in value.get("BinaryListValues", [])]
    shaped["dataType"] = value["DataType"]
    return shaped


def sqs_failed_ids(result: InvokeResult, records: list[dict[str, Any]], partial: bool) -> set[str] | None:
    """The message IDs to keep, or None when the whole batch failed.

    AWS: a function error fails the batch. With ReportBatchItemFailures, a null/empty response or an empty or null
    batchItemFailures list is a complete success; invalid JSON, or an itemIdentifier that is missing, empty, not a
    string or not a message of the batch, is a complete failure.
    """
    if result.function_error:
        return None
    if not partial:
        return set()
    try:
        response = json.loads(result.payload) if result.payload.strip() else None
    except ValueError:
        return None
    if response is None:
        return set()
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures") or []
    if not isinstance(failures, list):
        return None
    ids = {r["messageId"] for r in records}
    failed = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in ids:
            return None
        failed.add(identifier)
    return failed


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---- DynamoDB Streams ------------------------------------------------------------------------------------------------
class StreamPoller(_Poller):
    """Reads the shards of DynamoDB streams with enabled event source mappings and invokes their functions in order."""

    service = "dynamodb"

    def __init__(self, runner: LambdaRunner, endpoint_url: str, interval_s: float = 0.05) -> None:
        super().__init__(runner, endpoint_url, interval_s)
        self.checkpoints: dict[tuple[str, str], int] = {}  # (mapping, shard) -> next sequence number to deliver

    def new_worker(self, esm: Any) -> _MappingWorker:
        return _StreamMapping(self, esm)


@dataclass
class _Outcome:
    retry_from: int | None  # None: success; else the index of the first record to retry
    result: InvokeResult | None = None


@dataclass
class _StreamBatch:
    matched: list[dict[str, Any]] = field(default_factory=list)  # Lambda-shaped records that pass the filter
    next_sequence: int | None = None  # the checkpoint after this batch; None when nothing was read


@dataclass
class _ShardState:
    shard_id: str
    iterator: str | None = None
    read: list[dict[str, Any]] = field(default_factory=list)


class _StreamMapping(_MappingWorker):
    poller: StreamPoller

    def __init__(self, poller: StreamPoller, esm: Any) -> None:
        super().__init__(poller, esm)
        self.stream_arn: str = esm.event_source_arn
        self.streams = poller.client("dynamodbstreams", self.region)

    def start(self) -> None:
        try:
            shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        except (ClientError, BotoCoreError) as exc:
            log.warning("cannot read stream %s: %s", self.stream_arn, exc)
            return
        for shard in shards:
            self.spawn(self._shard_loop, f"ddb-{self.esm.uuid[:8]}", shard["ShardId"])

    # -- reading
    def _shard_loop(self, shard_id: str) -> None:
        shard = _ShardState(shard_id, self._iterator(shard_id))
        while self.active() and shard.iterator:
            batch = self._read_batch(shard)
            if batch.next_sequence is None:
                self.retired.wait(max(self.poller.interval_s, STREAM_IDLE_POLL_S))
                continue
            self.poller.batch_started()
            try:
                finished = self._handle(shard_id, batch)
            finally:
                self.poller.batch_finished()
            if not finished:
                return  # stopped: the checkpoint stays at this batch, which is read again on resume

    def _iterator(self, shard_id: str) -> str:
        checkpoint = self.poller.checkpoints.get((self.esm.uuid, shard_id))
        latest = getattr(self.esm, "localcloud_latest_sequence", None)
        if checkpoint is None and self.esm.starting_position == "LATEST" and latest is not None:
            checkpoint = latest
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard_id}
        if checkpoint is not None:
            kwargs.update(ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=str(checkpoint))
        else:
            kwargs["ShardIteratorType"] = self.esm.starting_position or "TRIM_HORIZON"
        iterator: str = self.streams.get_shard_iterator(**kwargs)["ShardIterator"]
        return iterator

    def _read_batch(self, shard: _ShardState) -> _StreamBatch:
        """The records read up to BatchSize records that pass the filter, waiting up to MaximumBatchingWindowInSeconds
        once the first match has arrived.

        AWS filters before it batches: records the filter drops do not count towards BatchSize (a relay filtered to
        outbox items gets full batches of outbox items, not the outbox items among BatchSize records of any kind).
        The batch's checkpoint moves past the dropped records too; read-ahead stays in ``shard.read`` for the next
        batch. Each record is converted and matched once.
        """
        batch_size = int(self.esm.batch_size)
        record_filter = RecordFilter(self.esm.filter_criteria)
        batch = _StreamBatch()
        deadline: float | None = None
        while True:
            while shard.read and len(batch.matched) < batch_size:
                record = stream_record(shard.read.pop(0), self.stream_arn, self.region)
                batch.next_sequence = int(record["dynamodb"]["SequenceNumber"]) + 1
                if record_filter.matches(record):  # AWS drops the records a filter drops
                    batch.matched.append(record)
                    if deadline is None:
                        deadline = time.monotonic() + float(self.esm.max_batch_window or 0)
            if len(batch.matched) >= batch_size or not shard.iterator or not self.active():
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            response = self.streams.get_records(ShardIterator=shard.iterator, Limit=min(1000, 10 * batch_size))
            self._forget_iterator(shard.iterator)
            shard.iterator = response.get("NextShardIterator")
            got = response.get("Records", [])
            shard.read += got
            if not got:
                if deadline is None:
                    break  # nothing (more) to match now: hand over what was read, so the checkpoint moves on
                time.sleep(min(max(self.poller.interval_s, 0.01), max(0.0, deadline - time.monotonic())))
        return batch

    def _forget_iterator(self, iterator: str) -> None:
        """moto keeps every shard iterator for ever; the poller drops the ones it has used (its own only)."""
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        account = self.stream_arn.split(":")[4]
        dynamodbstreams_backends[account][self.region].shard_iterators.pop(iterator, None)

    # -- delivering
    def _handle(self, shard_id: str, batch: _StreamBatch) -> bool:
        if batch.matched and not self._deliver(shard_id, batch.matched):
            return False
        if batch.next_sequence is not None:
            self.poller.checkpoints[(self.esm.uuid, shard_id)] = batch.next_sequence
        return True

    def _deliver(self, shard_id: str, records: list[dict[str, Any]]) -> bool:
        """Retries (and bisects) until the records are processed or given up; False when stopped."""
        attempts = 0
        while True:
            if not self.active():
                return False
            outcome = self._invoke(records)
            if outcome is None:  # throttled: not an attempt
                self.retired.wait(THROTTLE_BACKOFF_S)
                continue
            attempts += 1
            if outcome.retry_from is None:
                return True
            records = records[outcome.retry_from :]
            if self.esm.bisect_on_error and len(records) > 1:  # splitting does not count towards the retries
                half = len(records) // 2
                return self._deliver(shard_id, records[:half]) and self._deliver(shard_id, records[half:])
            condition = self._give_up(attempts, records)
            if condition:
                self._on_failure(shard_id, records, attempts, outcome.result, condition)
                return True
            self.retired.wait(min(STREAM_RETRY_MAX_S, STREAM_RETRY_BASE_S * 2 ** (attempts - 1)))

    def _invoke(self, records: list[dict[str, Any]]) -> _Outcome | None:
        try:
            result = self.invoke({"Records": records})
        except Throttled:
            return None
        except ShuttingDown:
            return _Outcome(0)
        except LambdaError as exc:
            log.warning("invoking %s for %s failed: %s", self.esm.function_arn, self.stream_arn, exc)
            return _Outcome(0)
        partial = BATCH_ITEM_FAILURES in (self.esm.function_response_types or [])
        return _Outcome(stream_retry_from(result, records, partial), result)

    def _give_up(self, attempts: int, records: list[dict[str, Any]]) -> str | None:
        retries = self.esm.max_retry_attempts
        retries = STREAM_LOCAL_RETRY_CAP if retries is None or int(retries) < 0 else int(retries)
        if attempts > retries:
            return "RetryAttemptsExhausted"
        max_age = self.esm.max_record_age
        if max_age is not None and int(max_age) >= 0:
            oldest = float(records[0]["dynamodb"]["ApproximateCreationDateTime"])
            if time.time() - oldest > int(max_age):
                return "RecordAgeExceeded"
        return None

    def _on_failure(
        self, shard_id: str, records: list[dict[str, Any]], attempts: int, result: InvokeResult | None, condition: str
    ) -> None:
        record = stream_failure_record(self.esm, shard_id, records, attempts, result, condition)
        target = ((self.esm.destination_config or {}).get("OnFailure") or {}).get("Destination")
        if not target:
            log.warning(
                "discarding %d records of %s after %s (no on-failure destination)",
                len(records),
                self.stream_arn,
                condition,
            )
            return
        from localcloud.destinations import Destinations

        Destinations(self.poller.endpoint_url).send_record(target, record)


def stream_record(raw: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """One record of the Lambda DynamoDB event, from a GetRecords record."""
    source = raw["dynamodb"]
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": _epoch(source.get("ApproximateCreationDateTime")),
        "Keys": _jsonable(source.get("Keys", {})),
    }
    for image in ("NewImage", "OldImage"):
        if image in source:
            dynamodb[image] = _jsonable(source[image])
    dynamodb.update(
        SequenceNumber=source["SequenceNumber"],
        SizeBytes=source.get("SizeBytes", 0),
        StreamViewType=source.get("StreamViewType"),
    )
    return {
        "eventID": raw.get("eventID") or uuid.uuid4().hex,
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def stream_retry_from(result: InvokeResult, records: list[dict[str, Any]], partial: bool) -> int | None:
    """None on success, else the index of the first record to retry.

    AWS: a function error retries the batch. With ReportBatchItemFailures, Lambda checkpoints at the lowest reported
    sequence number and retries from there; an empty list or null is a success; an identifier that is missing,
    empty or not in the batch fails the whole batch.
    """
    if result.function_error:
        return 0
    if not partial:
        return None
    try:
        response = json.loads(result.payload) if result.payload.strip() else None
    except ValueError:
        return 0
    if response is None:
        return None
    failures = response.get("batchItemFailures") if isinstance(response, dict) else "invalid"
    if not failures:
        return None
    if not isinstance(failures, list):
        return 0
    positions = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(records)}
    indexes = []
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if identifier not in positions:
            return 0
        indexes.append(positions[identifier])
    return min(indexes)


def stream_failure_record(
    esm: Any, shard_id: str, records: list[dict[str, Any]], attempts: int, result: InvokeResult | None, condition: str
) -> dict[str, Any]:
    """Lambda's on-failure record for a stream batch (the records themselves are not included, as on AWS)."""
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if result is not None and result.function_error:
        response_context["functionError"] = result.function_error
    return {
        "requestContext": {
            "requestId": result.request_id if result else str(uuid.uuid4()),
            "functionArn": esm.function_arn,
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "responseContext": response_context,
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": last["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(first["ApproximateCreationDateTime"]),
            "approximateArrivalOfLastRecord": _iso(last["ApproximateCreationDateTime"]),
            "batchSize": len(records),
            "streamArn": esm.event_source_arn,
        },
    }


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return float(value) if value is not None else time.time()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _jsonable(value: Any) -> Any:
    """DynamoDB attribute values from boto3 back into their JSON form (binary as base64)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, set, tuple)):
        return [_jsonable(v) for v in value]
    return value
