"""Messaging kernel: the event envelope, the outbox, the inbox, and queue and stream consumers that never fail silently."""

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
