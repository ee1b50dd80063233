"""Route a bus event to the projections FIFO queue; project a queued event. Knows nothing of Lambda."""

from __future__ import annotations

import json
from typing import Any

from marquee.messaging.events import Envelope
from marquee.projections.projector import PROJECTED_TYPES, Outcome, project
from marquee.relational.client import DataApi

# The aggregate each projected event belongs to: its message group, so one aggregate's events stay in order.
AGGREGATE_FIELD = {
    "ShowtimeScheduled": "showtimeId",
    "HoldCreated": "showtimeId",
    "HoldReleased": "showtimeId",
    "SeatsReserved": "showtimeId",
    "SeatsReleased": "showtimeId",
    "OrderPlaced": "orderId",
    "OrderConfirmed": "orderId",
    "OrderFailed": "orderId",
    "MovieChanged": "movieId",
    "CinemaOpened": "cinemaId",
    "MovieDeleted": "movieId",
    "MovieRestored": "movieId",
    "CinemaDeleted": "cinemaId",
    "CinemaRestored": "cinemaId",
    "ShowtimeDeleted": "showtimeId",
    "ShowtimeRestored": "showtimeId",
}


def message_group(event: Envelope) -> str:
    """``tenant#aggregate``: the FIFO group of the event (the event's id when it names no aggregate)."""
    field = AGGREGATE_FIELD.get(event.type)
    aggregate = event.data.get(field) if field else None
    return f"{event.tenant_id}#{aggregate if isinstance(aggregate, str) and aggregate else event.id}"


def route_event(detail: str, *, queue_url: str, sqs: Any) -> str | None:
    """Send the envelope (as published) to the queue, deduplicated by its id; ``None`` for a type nobody projects."""
    event = Envelope.model_validate_json(detail)
    if event.type not in PROJECTED_TYPES:
        return None
    group = message_group(event)
    sqs.send_message(QueueUrl=queue_url, MessageBody=detail, MessageGroupId=group, MessageDeduplicationId=event.id)
    return group


def project_message(body: str, *, api: DataApi) -> tuple[Envelope, Outcome]:
    """The queued event, parsed once, and what projecting it did."""
    event = Envelope.model_validate_json(body)
    return event, project(api, event)


def notify_applied(event: Envelope, *, function_name: str, client: Any) -> None:
    """Invoke ``function_name`` asynchronously with the applied event, shaped as the bus would deliver it. Async invoke
    queues it (with Lambda's own retries and on-failure destination), so a failure there never fails the projection."""
    detail = event.model_dump(mode="json", by_alias=True)
    payload = {"id": event.id, "detail-type": event.type, "source": "marquee.projector", "detail": detail}
    client.invoke(FunctionName=function_name, InvocationType="Event", Payload=json.dumps(payload).encode())
