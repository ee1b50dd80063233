"""Append each booking event to its tenant's audit log exactly once: the inbox entry and the audit entry are written
in ONE transaction, conditional on the inbox entry being new. A redelivered event changes nothing."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from marquee.messaging.events import Envelope
from marquee.messaging.inbox import inbox_put, seen_before
from marquee.tenancy.tenant import tenant_key

from .models import CONSUMER, AuditEnv


def append_once(event: Envelope, *, env: AuditEnv, client: Any, now: float | None = None) -> bool:
    """True if the event was appended, False if it had been already (a duplicate delivery)."""
    expires = int((now if now is not None else time.time()) + env.inbox_ttl_days * 86400)
    occurred = event.occurred_at.isoformat()
    try:
        client.transact_write_items(
            TransactItems=[
                inbox_put(env.inbox_table_name, CONSUMER, event.id, expires_at=expires, tenant_id=event.tenant_id),
                {
                    "Put": {
                        "TableName": env.table_name,
                        "Item": {
                            "pk": {"S": tenant_key(event.tenant_id, "AUDIT")},
                            "sk": {"S": f"{occurred}#{event.id}"},
                            "type": {"S": event.type},
                            "event_id": {"S": event.id},
                            "envelope": {"S": event.to_json()},
                        },
                    }
                },
            ]
        )
    except ClientError as exc:
        if seen_before(exc):
            return False  # seen before: the inbox absorbs the duplicate
        raise
    return True
