"""Domain events put on the deployed bus as the outbox relay puts them: the layer's envelope
(``marquee.messaging.events.Envelope``) as the ``Detail``, from the booking source. The tours, the e2e tests and the
benchmarks publish through ``publish_event`` instead of writing the envelope by hand."""

from __future__ import annotations

import uuid
from typing import Any

from devkit.layer import use_layer

SOURCE = "marquee.booking"  # the outbox relay's source (infra/constants.py OUTBOX_EVENT_SOURCE)


class EventNotPublished(Exception):
    pass


def publish_event(
    events: Any,
    bus_name: str,
    event_type: str,
    *,
    tenant_id: str,
    data: dict[str, Any],
    correlation_id: str | None = None,
    event_id: str | None = None,
) -> str:
    """Put one ``event_type`` event (version 1) on ``bus_name`` with the EventBridge client ``events``; its id.
    ``correlation_id`` defaults to the event's id."""
    use_layer()
    from marquee.messaging.events import Envelope

    event_id = event_id or str(uuid.uuid4())
    envelope = Envelope.model_validate(
        {
            "id": event_id,
            "type": event_type,
            "version": 1,
            "tenantId": tenant_id,
            "correlationId": correlation_id or event_id,
            "data": data,
        }
    )
    entry = {"Source": SOURCE, "DetailType": event_type, "Detail": envelope.to_json(), "EventBusName": bus_name}
    result = events.put_events(Entries=[entry])
    if result.get("FailedEntryCount"):
        raise EventNotPublished(f"{event_type} {event_id}: {result.get('Entries')}")
    return event_id


def publish_order_event(events: Any, bus_name: str, event_type: str, *, tenant_id: str, correlation_prefix: str) -> str:
    """An order event whose data is only its ``orderId`` (what the webhook fan-out forwards): the webhook tour and
    e2e tests publish these. The correlation id is ``{correlation_prefix}-{first 8 of the event id}``."""
    event_id = str(uuid.uuid4())
    return publish_event(
        events,
        bus_name,
        event_type,
        tenant_id=tenant_id,
        data={"orderId": f"ord_{event_id[:8]}"},
        correlation_id=f"{correlation_prefix}-{event_id[:8]}",
        event_id=event_id,
    )
