"""What a webhook carries out of the tenant boundary: the event, with its personal fields erased.

A tenant's endpoint is outside Marquee: what it receives can be copied anywhere and never erased. So the body the
fan-out stores, signs and sends is the event with every field its model classifies as personal (``x-personal``, see
``marquee.core.personal``) erased by Powertools data masking (``*****``). The event keeps its shape: a masked field is
still a string, so the published schema holds.
"""

from __future__ import annotations

# The event models a webhook may carry register themselves on import: import them here, so that a function that only
# fans out still knows every model (and so every personal field) it sends.
import marquee.booking.events
import marquee.payments.models
import marquee.webhooks.events  # noqa: F401
from marquee.core.personal import mask_event_data
from marquee.messaging.events import EVENT_TYPES, Envelope


def outbound(event: Envelope) -> Envelope:
    """``event`` as it may leave the tenant: its personal fields erased (the same object if it has none)."""
    data = mask_event_data(event.data, EVENT_TYPES.get(event.type))
    return event if data is event.data else event.model_copy(update={"data": data})
