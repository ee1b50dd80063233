"""moto's SQS costs that grew with the queue's depth, removed without changing any answer moto gives.

Found by profiling ``SendMessage`` on a FIFO queue (py-spy, docs/decisions.md 2026-12-05): each send read
``queue.attributes`` four times only to learn ``ContentBasedDeduplication``, and every read of that property computed
the three ``ApproximateNumberOf*`` counts, each a scan of every message in the queue calling ``unix_time_millis()``
per message. 94 % of a send's time went there; with 600 messages in the queue a send took 52 ms, and it grew with
every message left in a queue (a DLQ, a FIFO group behind a slow consumer).

- **The counts only where they are read.** On a thread running a send path, which never reads them, the three counts
  are not computed (the send's ``queue.attributes`` holds 0 for them). ``GetQueueAttributes``, CloudFormation and
  everything else, on any other thread or call, get them computed as before.
- **A poller waits for a change, not for a timer.** FIFO queues are short-polled (moto's long poll spins while a
  group is blocked), and an idle poller paused up to 250 ms between polls: a message sent to a quiet FIFO queue, or
  the next message of a group whose previous one was just deleted, waited for the pause to end. Each queue now
  counts its changes (a message added, deleted or made visible again) and notifies moto's own condition on it, so a
  waiting poller (:func:`wait_for_change`) wakes at once; the pause stays the ceiling.
- **moto's clock, without the datetimes.** ``unix_time()`` built two ``datetime`` objects and subtracted them to get
  ``time.time()``; SQS's models call it per message per scan. The module's two names are pointed at the same value
  read from ``time.time()``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

COUNTS = (  # Queue's properties behind ApproximateNumberOfMessages, ...Delayed and ...NotVisible
    "approximate_number_of_messages",
    "approximate_number_of_messages_delayed",
    "approximate_number_of_messages_not_visible",
)
_sending = threading.local()  # set while a send path runs on this thread: its attributes need no counts
_installed = {"done": False}


def install() -> None:
    if _installed["done"]:
        return
    _installed["done"] = True
    from moto.sqs import models
    from moto.sqs.responses import SQSResponse

    original_unix_time = models.unix_time
    original_unix_time_millis = models.unix_time_millis

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else original_unix_time(dt)

    def unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else original_unix_time_millis(dt)

    models.unix_time = unix_time
    models.unix_time_millis = unix_time_millis

    for name in COUNTS:
        setattr(models.Queue, name, property(_skipped_while_sending(getattr(models.Queue, name).fget)))
    models.Queue.add_message = _changes(models.Queue.add_message)  # type: ignore[method-assign]
    models.Queue.delete_message = _changes(models.Queue.delete_message)  # type: ignore[method-assign]
    original_visibility = models.SQSBackend.change_message_visibility

    def change_message_visibility(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        result = original_visibility(self, queue_name, *args, **kwargs)
        _changed(self.get_queue(queue_name))
        return result

    models.SQSBackend.change_message_visibility = change_message_visibility  # type: ignore[method-assign]
    for owner, name in (
        (SQSResponse, "send_message"),
        (SQSResponse, "send_message_batch"),
        (models.SQSBackend, "send_message"),
        (models.SQSBackend, "send_message_batch"),
    ):
        setattr(owner, name, _without_counts(getattr(owner, name)))


def _skipped_while_sending(count: Callable[[Any], int]) -> Callable[[Any], int]:
    """A count that a send path's ``queue.attributes`` computes and never reads: 0 there, the real scan elsewhere."""

    @wraps(count)
    def counted(queue: Any) -> int:
        return 0 if getattr(_sending, "active", False) else count(queue)

    return counted


def _without_counts(method: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(method)
    def sending(*args: Any, **kwargs: Any) -> Any:
        outer = getattr(_sending, "active", False)
        _sending.active = True
        try:
            return method(*args, **kwargs)
        finally:
            _sending.active = outer

    return sending


def _changed(queue: Any) -> None:
    with queue._messages_lock:
        queue.localcloud_changes = getattr(queue, "localcloud_changes", 0) + 1
        queue._messages_lock.notify_all()


def _changes(method: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(method)
    def changing(queue: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(queue, *args, **kwargs)
        finally:
            _changed(queue)

    return changing


def changes(queue_arn: str) -> int:
    """How many times the queue has changed so far (0 if moto's SQS is not loaded or the queue is gone)."""
    queue = _queue(queue_arn)
    return int(getattr(queue, "localcloud_changes", 0)) if queue is not None else 0


def wait_for_change(queue_arn: str, seen: int, timeout_s: float) -> None:
    """Block until the queue has changed since ``seen`` (a :func:`changes` count), or ``timeout_s`` passes."""
    queue = _queue(queue_arn)
    if queue is None:
        time.sleep(timeout_s)
        return
    with queue._messages_lock:
        queue._messages_lock.wait_for(lambda: getattr(queue, "localcloud_changes", 0) != seen, timeout=timeout_s)


def _queue(queue_arn: str) -> Any:
    import sys

    if "moto.sqs.models" not in sys.modules:
        return None
    from moto.sqs.models import sqs_backends

    _, _, _, region, account, name = queue_arn.split(":", 5)
    return sqs_backends[account][region].queues.get(name)
