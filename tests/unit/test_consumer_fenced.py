"""Consumers during a tenant move (challenges 9 and 12): a record whose write the move's fence refused is run again in
place after the fence's Retry-After, not after its queue's 60 s visibility timeout; a fence that outlasts the attempts
fails the record as an expected, retryable failure, never as a bug. No AWS, no real sleeping."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response

from marquee.messaging import FAILED_METRIC, UNEXPECTED_METRIC, FailureRecorder, RecordingBatchProcessor, consumer
from marquee.sharding.routing import ShardFenced

from .test_messaging_consumer import FakeLogger, FakeMetrics, sqs


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    naps: list[float] = []
    monkeypatch.setattr(consumer, "_sleep", naps.append)
    return naps


def run(
    handler: Any, records: list[dict[str, Any]], context: Any = None
) -> tuple[dict[str, Any], FakeLogger, FakeMetrics]:
    logger, metrics = FakeLogger(), FakeMetrics()
    processor = RecordingBatchProcessor(
        EventType.SQS,
        FailureRecorder(logger, metrics),
        raise_on_entire_batch_failure=False,  # type: ignore[arg-type]
    )
    response = process_partial_response(event={"Records": records}, record_handler=handler, processor=processor,
                                        context=context)  # fmt: skip
    return dict(response), logger, metrics


def test_a_fenced_record_is_run_again_after_the_retry_after_and_succeeds(slept: list[float]) -> None:
    calls: list[str] = []

    def handler(record: Any) -> str:
        calls.append(record.message_id)
        if record.message_id == "m1" and calls.count("m1") <= 2:
            raise ShardFenced("The tenant's data is moving; retry in a second.")
        return "done"

    response, logger, metrics = run(handler, [sqs("m1"), sqs("m2")])
    assert response["batchItemFailures"] == []
    assert calls == ["m1", "m1", "m1", "m2"]
    assert slept == [ShardFenced.retry_after_s] * 2
    assert logger.lines == [] and metrics.counts == {}


def test_a_fence_that_outlasts_the_attempts_fails_the_record_as_expected_not_as_a_bug(slept: list[float]) -> None:
    calls: list[str] = []

    def handler(record: Any) -> str:
        calls.append(record.message_id)
        raise ShardFenced("The tenant's data is moving; retry in a second.")

    response, logger, metrics = run(handler, [sqs("m1")])
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == ["m1"]
    assert len(calls) == consumer.FENCED_ATTEMPTS and len(slept) == consumer.FENCED_ATTEMPTS - 1
    assert [line[0] for line in logger.lines] == ["INFO"] and logger.lines[0][2]["error_type"] == "ShardFenced"
    assert metrics.counts == {FAILED_METRIC: 1}
    assert UNEXPECTED_METRIC not in metrics.counts


def test_other_errors_are_not_retried_in_place_and_the_handlers_lambda_context_still_arrives(
    slept: list[float],
) -> None:
    seen: list[Any] = []

    def handler(record: Any, lambda_context: Any) -> str:
        seen.append(lambda_context)
        raise TypeError("a bug")

    context = object()
    response, logger, metrics = run(handler, [sqs("m1")], context)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == ["m1"]
    assert seen == [context] and slept == []
    assert metrics.counts == {FAILED_METRIC: 1, UNEXPECTED_METRIC: 1}
