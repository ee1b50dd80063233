"""The transactional outbox (challenge 12): an event is written in the SAME TransactWriteItems as the state change.

An outbox item lives in the main table:
    pk = TENANT#{tenant}#OUTBOX#{event id}, sk = OUTBOX
    envelope   the event envelope as JSON (string)
    event_type the envelope's type (for stream filters)
    origin_region  the region the item was written in. With global tables (design question 1) the item replicates to
               every region and appears in each region's stream; each region's relay publishes only the items
               written in its own region (its stream filter), so an event is published once, by the region that
               took the write. Global tables version 2019.11.21 mark replicated writes nowhere in the stream record
               (the legacy version's ``aws:rep:*`` attributes are gone), hence the item's own attribute.
    expires_at TTL (epoch seconds): the relay has long published it by then

The table's stream, filtered on ``sk = OUTBOX`` INSERTs, feeds the relay, which publishes each envelope to the bus.
"""

from __future__ import annotations

import time
from typing import Any

from marquee.core import aws
from marquee.dynamo.conditions import ITEM_IS_NEW
from marquee.messaging.events import Envelope
from marquee.tenancy.tenant import tenant_key

OUTBOX_SK = "OUTBOX"
OUTBOX_TTL_SECONDS = 7 * 24 * 3600
ORIGIN_REGION_ATTRIBUTE = "origin_region"


def outbox_key(tenant_id: str, event_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": tenant_key(tenant_id, "OUTBOX", event_id)}, "sk": {"S": OUTBOX_SK}}


def outbox_put(
    table_name: str, event: Envelope, *, now: float | None = None, region: str | None = None
) -> dict[str, Any]:
    """A TransactWriteItems ``Put`` entry for ``event``; the event id can be written only once. ``region`` (default:
    the function's own) is the region that takes the write. A writer with no region at all (a tool outside Lambda)
    writes no ``origin_region``: such an item passes every region's relay filter, like one from before the attribute."""
    expires = int((now if now is not None else time.time()) + OUTBOX_TTL_SECONDS)
    item = {
        **outbox_key(event.tenant_id, event.id),
        "envelope": {"S": event.to_json()},
        "event_type": {"S": event.type},
        "expires_at": {"N": str(expires)},
    }
    origin = region or aws.region()
    if origin:
        item[ORIGIN_REGION_ATTRIBUTE] = {"S": origin}
    return {"Put": {"TableName": table_name, "Item": item, "ConditionExpression": ITEM_IS_NEW}}
