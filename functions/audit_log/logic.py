"""Append each booking event to its tenant's audit log exactly once: the inbox entry and the audit entry are written
in ONE transaction, conditional on the inbox entry being new. A redelivered event changes nothing."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from marquee.messaging.events import Envelope
from marquee.tenancy.tenant import tenant_key

from models import CONSUMER, AuditEnv

INBOX_IS_NEW = "attribute_not_exists(pk)"


def append_once(event: Envelope, *, env: AuditEnv, client: Any, now: float | None = None) -> bool:
    """True if the event was appended, False if it had been already (a duplicate delivery)."""
    expires = int((now if now is not None else time.time()) + env.inbox_ttl_days * 86400)
    occurred = event.occurred_at.isoformat()
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": env.inbox_table_name,
                        "Item": {
                            "pk": {"S": f"{CONSUMER}#{event.id}"},
                            "tenant_id": {"S": event.tenant_id},
                            "expires_at": {"N": str(expires)},
                        },
                        "ConditionExpression": INBOX_IS_NEW,
                    }
                },
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
        reasons = exc.response.get("CancellationReasons") or []
        if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
            return False  # seen before: the inbox absorbs the duplicate
        raise
    return True
