"""The DynamoDB Streams event source mapping poller.

DynamoDB Streams (one thread per mapping and shard, in order):
- StartingPosition TRIM_HORIZON or LATEST (as of the mapping's creation), BatchSize, batching window, FilterCriteria;
- on error: BisectBatchOnFunctionError, MaximumRetryAttempts, MaximumRecordAgeInSeconds, then the OnFailure
  destination gets Lambda's stream failure record and the shard moves on; ReportBatchItemFailures checkpoints at the
  lowest failed sequence number.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from localcloud.aws import client_errors
from localcloud.lambda_.event_sources import (
    BATCH_ITEM_FAILURES,
    THROTTLE_BACKOFF_S,
    RecordFilter,
    _MappingWorker,
    _Poller,
)
from localcloud.lambda_.runner import InvokeResult, LambdaError, LambdaRunner, ShuttingDown, Throttled

log = logging.getLogger("localcloud.pollers")


STREAM_IDLE_POLL_S = 0.25  # AWS polls a shard four times a second
STREAM_LOCAL_RETRY_CAP = 10  # MaximumRetryAttempts -1 (retry until the record expires) stops here locally
STREAM_RETRY_BASE_S = 0.05
STREAM_RETRY_MAX_S = 0.5


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
        except client_errors() as exc:
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
        from localcloud.lambda_.destinations import Destinations

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
