"""Messaging kernel: the event envelope, the outbox, the inbox, queue and stream consumers that never fail silently, and
the redrive of a dead-letter queue."""

from marquee.messaging.consumer import (
    FAILED_METRIC,
    UNEXPECTED_METRIC,
    FailureRecorder,
    RecordingBatchProcessor,
    RecordingFifoProcessor,
    RecordRef,
    record_ref,
)

__all__ = [
    "FAILED_METRIC",
    "UNEXPECTED_METRIC",
    "FailureRecorder",
    "RecordRef",
    "RecordingBatchProcessor",
    "RecordingFifoProcessor",
    "record_ref",
]
