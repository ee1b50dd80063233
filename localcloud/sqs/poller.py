"""The SQS event source mapping poller.

SQS (one receiver thread per mapping, batches handed to up to N concurrent invokers):
- ReceiveMessage through the local cloud's endpoint, so moto itself applies the visibility timeout, the receive count
  and the redrive to the DLQ after maxReceiveCount;
- BatchSize and MaximumBatchingWindowInSeconds; FilterCriteria (non-matching messages are deleted, as on AWS);
- success deletes the batch, a function error leaves it (it reappears after the visibility timeout),
  ReportBatchItemFailures deletes all but the reported ones (a malformed report fails the whole batch);
- FIFO: moto hides the messages of a group with messages in flight, so a group is processed in order while other
  groups run in parallel.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from localcloud.aws import client_errors
from localcloud.lambda_.event_sources import (
    BATCH_ITEM_FAILURES,
    SQS_LONG_POLL_S,
    THROTTLE_BACKOFF_S,
    RecordFilter,
    _MappingWorker,
    _Poller,
)
from localcloud.lambda_.runner import InvokeResult, LambdaError, ShuttingDown, Throttled
from localcloud.sqs import speed as sqs_speed

log = logging.getLogger("localcloud.pollers")


SQS_DEFAULT_CONCURRENCY = 5  # AWS starts with five pollers per SQS mapping; ScalingConfig.MaximumConcurrency caps it
FIFO_IDLE_POLL_MAX_S = 0.25  # FIFO queues are short-polled (moto's long poll spins while a group is blocked)


def sqs_filter_view(record: dict[str, Any]) -> dict[str, Any]:
    """Lambda filters an SQS message on its body parsed as JSON when it is JSON, else on the plain string."""
    try:
        body = json.loads(record["body"])
    except ValueError:
        return record
    return {**record, "body": body}


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
            except client_errors() as exc:
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
        seen = sqs_speed.changes(self.queue_arn)
        batch = self._receive(batch_size, wait=0 if self.fifo else SQS_LONG_POLL_S)
        if not batch:
            if self.fifo:  # short polls back off while the queue stays empty: 50 ms, 100 ms, then every 250 ms,
                self.idle_polls += 1  # and end at once when the queue changes (a send, a delete, a release)
                sqs_speed.wait_for_change(self.queue_arn, seen, fifo_idle_wait(self.poller.interval_s, self.idle_polls))
            return batch
        self.idle_polls = 0
        window = float(self.esm.max_batch_window or 0)
        if window <= 0:
            return batch  # no batching window: Lambda invokes with the records it has
        deadline = time.monotonic() + window
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
            except client_errors() as exc:
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
