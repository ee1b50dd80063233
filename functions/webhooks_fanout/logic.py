"""Fan-out: one bus event becomes one delivery per subscribed, active endpoint of its tenant.

Re-running it for the same event (an SQS redelivery) is safe: delivery ids are derived from (endpoint, event), the
delivery item is written once, and a delivery that has already been attempted is not enqueued again.
"""

from __future__ import annotations

import time

from marquee.messaging.events import Envelope
from marquee.webhooks.models import Delivery, DeliveryMessage, now_iso
from marquee.webhooks.payloads import outbound
from marquee.webhooks.queue import DeliveryQueue
from marquee.webhooks.signing import delivery_id
from marquee.webhooks.store import WebhookStore


def fan_out(event: Envelope, store: WebhookStore, queue: DeliveryQueue, *, now: float | None = None) -> int:
    """Write and enqueue the deliveries of ``event``; return how many were enqueued."""
    moment = now if now is not None else time.time()
    body = outbound(event).to_json()  # the exact bytes every attempt signs and sends: personal fields erased
    messages: list[DeliveryMessage] = []
    for endpoint in store.list_endpoints(event.tenant_id):
        if not endpoint.subscribes_to(event.type):
            continue
        delivery = Delivery(
            delivery_id=delivery_id(endpoint.endpoint_id, event.id, event.occurred_at),
            endpoint_id=endpoint.endpoint_id,
            tenant_id=event.tenant_id,
            event_id=event.id,
            event_type=event.type,
            body=body,
            created_at=now_iso(moment),
            updated_at=now_iso(moment),
        )
        written = store.create_delivery(delivery, now=moment)
        if written is not None:
            messages.append(
                DeliveryMessage(
                    tenant_id=written.tenant_id,
                    endpoint_id=written.endpoint_id,
                    delivery_id=written.delivery_id,
                    generation=written.generation,
                )
            )
    queue.send(messages)
    return len(messages)
