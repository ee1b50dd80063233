"""Queue, stream and bus consumers that never fail silently (issue 8).

Powertools' batch processors turn a record's exception into a batch item failure, so the record takes the normal
retry path (its queue's visibility timeout then redrive after maxReceiveCount, or its stream mapping's retries,
bisection and on-failure destination), but they log nothing: the error's type and message are lost, and a message
reaches its DLQ with no clue why. The processors here record every failure first, then behave exactly as
Powertools' own:

- an **expected** failure (a type the consumer names: a retry it scheduled, a delivery that failed and was logged
  already) is logged at INFO with its type and counted in ``RecordsFailed``;
- anything else is **unexpected**, a bug: logged at ERROR with its type, message and traceback, and counted in both
  ``RecordsFailed`` and ``UnexpectedRecordErrors`` (alarm on the latter);
- a FIFO record skipped because an earlier record of its message group failed is logged at INFO, not counted.

A record whose write was refused by a tenant move's fence (``ShardFenced``, challenge 9: under a second, nothing
written) is run again in place after the fence's ``Retry-After`` (1 s), up to ``FENCED_ATTEMPTS`` times, instead of
waiting out its queue's visibility timeout (60 s); if the fence outlasts that, it fails as expected (not a bug).

Each log line names the record: ``record_id`` (the SQS message id, or the stream record's event id), ``sequence``
(stream records), ``message_group`` (FIFO) and ``attempt`` (the SQS receive count). A consumer that handles an
unexpected error itself (the notification workers dead-letter it on its last attempt) records it with
``FailureRecorder.unexpected``; a consumer of single events (a bus rule's Lambda target, invoked asynchronously) wraps
its work in ``FailureRecorder.recording``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, SqsFifoPartialProcessor
from aws_lambda_powertools.utilities.batch.exceptions import (
    SQSFifoCircuitBreakerError,
    SQSFifoMessageGroupCircuitBreakerError,
)

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.utilities.batch import ExceptionInfo, FailureResponse

FAILED_METRIC = "RecordsFailed"
UNEXPECTED_METRIC = "UnexpectedRecordErrors"
ERROR_TEXT_LIMIT = 1000  # characters of the error message kept in a log line or a DLQ attribute
_SKIPPED = (SQSFifoCircuitBreakerError, SQSFifoMessageGroupCircuitBreakerError)
FENCED_ATTEMPTS = 6  # a dead mover's fence lease is 5 s: by the sixth attempt, 1 s apart, it has lapsed
_sleep = time.sleep  # tests replace it


@dataclass(frozen=True)
class RecordRef:
    """What identifies a record in a log line; every field is optional (a record may be too broken to say)."""

    record_id: str | None = None
    sequence: str | None = None
    message_group: str | None = None
    attempt: int | None = None

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


def record_ref(record: Any) -> RecordRef:
    """The identity of an SQS, DynamoDB Streams or Kinesis record (a Powertools data class or its raw dict)."""
    raw = getattr(record, "raw_event", record)
    if not isinstance(raw, dict):
        return RecordRef()
    attributes = raw.get("attributes") or {}
    stream = raw.get("dynamodb") or raw.get("kinesis") or {}
    count = attributes.get("ApproximateReceiveCount")
    return RecordRef(
        record_id=raw.get("messageId") or raw.get("eventID"),
        sequence=stream.get("SequenceNumber") or stream.get("sequenceNumber"),
        message_group=attributes.get("MessageGroupId") or stream.get("partitionKey"),
        attempt=int(count) if count and str(count).isdigit() else None,
    )


def error_text(error: BaseException) -> str:
    return str(error)[:ERROR_TEXT_LIMIT] or "-"


class FailureRecorder:
    """Logs and counts a consumer's failures; ``expected`` are the error types its logic raises on purpose."""

    def __init__(
        self, logger: Logger, metrics: Metrics | None = None, *, expected: tuple[type[BaseException], ...] = ()
    ) -> None:
        self.logger = logger
        self.metrics = metrics
        self.expected = expected

    def is_expected(self, error: BaseException) -> bool:
        from marquee.sharding.routing import ShardFenced  # retryable by design: a move's fence, never a bug

        return isinstance(error, (*self.expected, ShardFenced))

    def failed(self, error: BaseException, ref: RecordRef | None = None, **keys: Any) -> None:
        """Record one failure: INFO for an expected one, ERROR with its traceback for anything else."""
        if not self.is_expected(error):
            self.unexpected(error, ref, **keys)
            return
        fields = {"error_type": type(error).__name__, "error": error_text(error), **(ref or RecordRef()).fields()}
        self.logger.info("record failed; it will be retried", extra={**fields, **keys})
        self._count(FAILED_METRIC)

    def unexpected(self, error: BaseException, ref: RecordRef | None = None, **keys: Any) -> None:
        """Record an unexpected error (a bug) with its type, message and traceback."""
        fields = {"error_type": type(error).__name__, "error": error_text(error), **(ref or RecordRef()).fields()}
        self.logger.error(
            f"unexpected {type(error).__name__} while processing a record",
            exc_info=(type(error), error, error.__traceback__),
            extra={**fields, **keys},
        )
        self._count(FAILED_METRIC)
        self._count(UNEXPECTED_METRIC)

    def skipped(self, ref: RecordRef) -> None:
        self.logger.info("record skipped: an earlier record of its message group failed", extra=ref.fields())

    @contextmanager
    def recording(self, **keys: Any) -> Iterator[None]:
        """Record whatever escapes the block, then let it go on (a single-event consumer's retry path)."""
        try:
            yield
        except Exception as exc:
            self.failed(exc, **keys)
            raise

    def _count(self, name: str) -> None:
        if self.metrics is not None:
            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


class _Recording(BatchProcessor):
    """Over a Powertools processor: record each failure, then let the processor report it as usual."""

    recorder: FailureRecorder

    def __call__(self, records: list[dict[str, Any]], handler: Callable[..., Any], lambda_context: Any = None) -> Any:
        return super().__call__(records, retrying_fenced(handler), lambda_context)

    def failure_handler(self, record: Any, exception: ExceptionInfo) -> FailureResponse:
        error = exception[1]
        if isinstance(error, _SKIPPED):
            self.recorder.skipped(record_ref(record))
        elif error is not None:
            self.recorder.failed(error, record_ref(record))
        return super().failure_handler(record, exception)


class RecordingBatchProcessor(_Recording):
    """``BatchProcessor`` (SQS standard queues, DynamoDB Streams, Kinesis) that records every failure."""

    def __init__(
        self, event_type: EventType, recorder: FailureRecorder, *, raise_on_entire_batch_failure: bool = True
    ) -> None:
        super().__init__(event_type=event_type, raise_on_entire_batch_failure=raise_on_entire_batch_failure)
        self.recorder = recorder


class RecordingFifoProcessor(_Recording, SqsFifoPartialProcessor):
    """``SqsFifoPartialProcessor`` that records every failure (and every record skipped behind one)."""

    def __init__(
        self,
        recorder: FailureRecorder,
        *,
        skip_group_on_error: bool = False,
        raise_on_entire_batch_failure: bool = True,
    ) -> None:
        super().__init__(skip_group_on_error=skip_group_on_error)
        self.raise_on_entire_batch_failure = raise_on_entire_batch_failure
        self.recorder = recorder


def retrying_fenced(handler: Callable[..., Any]) -> Callable[..., Any]:
    """``handler`` run again after the fence's Retry-After while a tenant move's fence refuses its write (the
    signature is kept: Powertools looks for ``lambda_context`` in it)."""
    from marquee.sharding.routing import ShardFenced

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        for _ in range(FENCED_ATTEMPTS - 1):
            try:
                return handler(*args, **kwargs)
            except ShardFenced as fenced:
                _sleep(fenced.retry_after_s)
        return handler(*args, **kwargs)

    return run
