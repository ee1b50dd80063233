"""Publish one outbox envelope to the bus. PutEvents can fail per entry with HTTP 200: FailedEntryCount is checked."""

from __future__ import annotations

from typing import Any

from marquee.core.errors import MarqueeError
from marquee.messaging.events import Envelope

from .models import OutboxRecord, RelayEnv


class PublishFailed(MarqueeError):
    """EventBridge refused the entry: the record is reported as a batch item failure and retried from there."""

    slug = "publish-failed"
    title = "Event not published"


def publish(record: OutboxRecord, *, env: RelayEnv, events_client: Any) -> str:
    event = Envelope.model_validate_json(record.envelope)
    response = events_client.put_events(
        Entries=[
            {
                "EventBusName": env.event_bus_name,
                "Source": env.event_source,
                "DetailType": event.type,
                "Detail": record.envelope,
                "Time": event.occurred_at,
            }
        ]
    )
    if response.get("FailedEntryCount", 0):
        entry = response["Entries"][0]
        raise PublishFailed(f"{event.id}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")
    return event.id
