"""Queues for the console: peek at messages without receiving them, and redrive a dead-letter queue.

- **Peek** reads moto's message objects directly. ``ReceiveMessage`` would make the messages invisible and raise
  their receive count (and so could push them to the DLQ); reading the backend changes nothing.
- **Redrive** follows SQS's ``StartMessageMoveTask`` (moto 5.2.5 does not have it): the DLQ's available messages
  move to the source queue, the one whose redrive policy names the DLQ (or ``destination``, when given), keeping
  their message ids, bodies and attributes; the receive count starts again from 0. Messages in flight in the DLQ
  stay. The move is done under the DLQ's own lock, and the source queue wakes its pollers as a send does.
"""

from __future__ import annotations

from typing import Any

from localcloud.console.inventory import backends, queue_counts

MAX_PEEK_BODY = 64 * 1024


class RedriveError(Exception):
    pass


def _queue_by_arn(arn: str) -> tuple[Any, Any] | None:
    for _account, _region, backend in backends("moto.sqs.models", "sqs_backends"):
        for queue in list(backend.queues.values()):
            if queue.queue_arn == arn:
                return backend, queue
    return None


def peek(arn: str, limit: int = 200) -> dict[str, Any] | None:
    found = _queue_by_arn(arn)
    if found is None:
        return None
    _backend, queue = found
    messages = []
    for message in list(queue._messages)[:limit]:
        body = message.body or ""
        attributes: dict[str, Any] = {
            "SentTimestamp": message.sent_timestamp,
            "ApproximateReceiveCount": message.approximate_receive_count,
            "ApproximateFirstReceiveTimestamp": message.approximate_first_receive_timestamp,
            "SenderId": message.sender_id,
        }
        if message.group_id:
            attributes["MessageGroupId"] = message.group_id
            attributes["MessageDeduplicationId"] = message.deduplication_id
            attributes["SequenceNumber"] = message.sequence_number
        attributes.update({k: v for k, v in (message.system_attributes or {}).items() if isinstance(v, str)})
        messages.append(
            {
                "messageId": message.id,
                "body": body[:MAX_PEEK_BODY],
                "bodyTruncated": len(body) > MAX_PEEK_BODY,
                "state": "delayed" if message.delayed else "visible" if message.visible else "in flight",
                "attributes": attributes,
                "messageAttributes": _message_attributes(message.message_attributes),
            }
        )
    sources = [
        q.queue_arn
        for _a, _r, backend in backends("moto.sqs.models", "sqs_backends")
        for q in list(backend.queues.values())
        if q.dead_letter_queue is queue
    ]
    return {
        "name": queue.name,
        "arn": queue.queue_arn,
        **queue_counts(queue),
        "redrivePolicy": queue.redrive_policy or None,
        "deadLetterSources": sources,
        "messages": messages,
    }


def _message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in (attributes or {}).items():
        shown = value.get("string_value") or value.get("StringValue")
        if shown is None and (value.get("binary_value") or value.get("BinaryValue")):
            shown = "(binary)"
        out[name] = {"dataType": value.get("data_type") or value.get("DataType"), "value": shown}
    return out


def redrive(dlq_arn: str, destination: str | None = None) -> dict[str, Any]:
    from localcloud.console import Problem

    found = _queue_by_arn(dlq_arn)
    if found is None:
        raise Problem(404, "Not Found", "no such queue")
    backend, dlq = found
    sources = [q for q in list(backend.queues.values()) if q.dead_letter_queue is dlq]
    if destination:
        target = _queue_by_arn(str(destination))
        if target is None:
            raise Problem(404, "Not Found", "no such destination queue")
        source = target[1]
    elif len(sources) == 1:
        source = sources[0]
    elif not sources:
        raise Problem(409, "Conflict", f"{dlq.name} is not the dead-letter queue of any queue; name a destination")
    else:
        raise Problem(409, "Conflict", f"{dlq.name} is the dead-letter queue of {len(sources)} queues; name a destination")
    if source is dlq:
        raise Problem(409, "Conflict", "the destination is the dead-letter queue itself")
    if bool(source.fifo_queue) != bool(dlq.fifo_queue):
        raise Problem(409, "Conflict", "a FIFO queue's messages move only between FIFO queues")
    with dlq._messages_lock:
        moving = [m for m in dlq._messages if m.visible and not m.delayed]
        kept = [m for m in dlq._messages if m not in moving]
        dlq._messages = kept
        for message in moving:
            dlq.pending_messages.discard(message)
    for message in moving:
        message.approximate_receive_count = 0
        message.approximate_first_receive_timestamp = None
        message.receipt_handle = None
        message.visible_at = 0.0
        message.delayed_until = 0.0
        source.add_message(message)
    return {"moved": len(moving), "from": dlq.queue_arn, "to": source.queue_arn}
