"""The consumer kernel (marquee.messaging.consumer): every failed record is recorded with its type before Powertools
reports it as a batch item failure; expected failures, unexpected ones and FIFO records skipped behind a failure are
told apart. No AWS: a fake logger and a fake metrics sink."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response

from marquee.messaging import (
    FAILED_METRIC,
    UNEXPECTED_METRIC,
    FailureRecorder,
    RecordingBatchProcessor,
    RecordingFifoProcessor,
    record_ref,
)


class Retry(Exception):
    """A failure the consumer raises on purpose."""


class FakeLogger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any], Any]] = []

    def info(self, message: str, *, extra: dict[str, Any]) -> None:
        self.lines.append(("INFO", message, extra, None))

    def error(self, message: str, *, exc_info: Any, extra: dict[str, Any]) -> None:
        self.lines.append(("ERROR", message, extra, exc_info))


class FakeMetrics:
    def __init__(self) -> None:
        self.counts: dict[str, float] = {}

    def add_metric(self, *, name: str, unit: Any, value: float) -> None:
        self.counts[name] = self.counts.get(name, 0) + value


def sqs(message_id: str, group: str | None = None, body: str = "ok", count: str = "1") -> dict[str, Any]:
    attributes = {"ApproximateReceiveCount": count}
    if group:
        attributes["MessageGroupId"] = group
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": attributes,
        "messageAttributes": {},
        "eventSource": "aws:sqs",
    }


def handle(record: Any) -> str:
    if record.body == "bug":
        raise TypeError("can't compare offset-naive and offset-aware times")
    if record.body == "retry":
        raise Retry("later")
    return "done"


@pytest.fixture
def recorder() -> tuple[FailureRecorder, FakeLogger, FakeMetrics]:
    logger, metrics = FakeLogger(), FakeMetrics()
    return FailureRecorder(logger, metrics, expected=(Retry,)), logger, metrics  # type: ignore[arg-type]


def test_fifo_unexpected_error_is_logged_with_type_and_group_and_other_groups_go_on(
    recorder: tuple[FailureRecorder, FakeLogger, FakeMetrics],
) -> None:
    failures, logger, metrics = recorder
    processor = RecordingFifoProcessor(failures, skip_group_on_error=True, raise_on_entire_batch_failure=False)
    event = {
        "Records": [
            sqs("a1", "A", "bug", count="3"),
            sqs("a2", "A"),  # skipped behind a1
            sqs("b1", "B"),
            sqs("c1", "C", "retry"),
        ]
    }
    response = process_partial_response(event=event, record_handler=handle, processor=processor)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == ["a1", "a2", "c1"]
    errors = [line for line in logger.lines if line[0] == "ERROR"]
    assert len(errors) == 1
    _, message, extra, exc_info = errors[0]
    assert "TypeError" in message and exc_info[0] is TypeError
    assert extra == {
        "error_type": "TypeError",
        "error": "can't compare offset-naive and offset-aware times",
        "record_id": "a1",
        "message_group": "A",
        "attempt": 3,
    }
    infos = {
        (line[1], line[2].get("record_id"), line[2].get("error_type")) for line in logger.lines if line[0] == "INFO"
    }
    assert ("record failed; it will be retried", "c1", "Retry") in infos
    assert ("record skipped: an earlier record of its message group failed", "a2", None) in infos
    assert metrics.counts == {FAILED_METRIC: 2, UNEXPECTED_METRIC: 1}  # the skipped record is not a failure


def test_stream_record_failure_names_its_event_id_and_sequence(
    recorder: tuple[FailureRecorder, FakeLogger, FakeMetrics],
) -> None:
    failures, logger, _ = recorder
    processor = RecordingBatchProcessor(EventType.DynamoDBStreams, failures)
    record = {"eventID": "e-1", "eventName": "INSERT", "dynamodb": {"SequenceNumber": "42", "NewImage": {}}}

    def explode(record: Any) -> None:
        raise KeyError("envelope")

    with pytest.raises(Exception, match="All records failed"):  # the mapping retries the whole batch
        process_partial_response(event={"Records": [record]}, record_handler=explode, processor=processor)
    ((level, _, extra, _),) = logger.lines
    assert level == "ERROR" and extra["error_type"] == "KeyError"
    assert (extra["record_id"], extra["sequence"]) == ("e-1", "42")


def test_recording_logs_what_escapes_and_raises_it_again(
    recorder: tuple[FailureRecorder, FakeLogger, FakeMetrics],
) -> None:
    failures, logger, metrics = recorder
    with pytest.raises(RuntimeError), failures.recording(record_id="evt-1"):
        raise RuntimeError("boom")
    ((level, _, extra, _),) = logger.lines
    assert (level, extra["error_type"], extra["record_id"]) == ("ERROR", "RuntimeError", "evt-1")
    assert metrics.counts[UNEXPECTED_METRIC] == 1


def test_record_ref_reads_sqs_stream_and_kinesis_records_and_tolerates_anything_else() -> None:
    assert record_ref(sqs("m-1", "g", count="2")).fields() == {"record_id": "m-1", "message_group": "g", "attempt": 2}
    kinesis = {"eventID": "shard:1", "kinesis": {"sequenceNumber": "7", "partitionKey": "p"}}
    assert record_ref(kinesis).fields() == {"record_id": "shard:1", "sequence": "7", "message_group": "p"}
    assert record_ref(None).fields() == {}
    assert record_ref({"attributes": {"ApproximateReceiveCount": "x"}}).fields() == {}
