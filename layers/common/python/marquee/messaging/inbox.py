"""The inbox: a consumer handles each message once, however often it is delivered (DESIGN.md: consumers dedupe on ``id``).

An inbox entry lives in the inbox table, ``pk = {consumer}#{message id}`` with a TTL (``expires_at``). It is written in
the SAME TransactWriteItems as the consumer's own effect, on condition that it is new: a redelivered message cancels
the transaction at its inbox entry, and nothing is written twice.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from marquee.dynamo.conditions import ITEM_IS_NEW
from marquee.dynamo.transactions import cancellation_reasons


def inbox_put(
    table_name: str, consumer: str, message_id: str, *, expires_at: int, tenant_id: str | None = None
) -> dict[str, Any]:
    """A TransactWriteItems ``Put`` entry that records ``message_id`` for ``consumer``; it can be written only once."""
    item: dict[str, Any] = {"pk": {"S": f"{consumer}#{message_id}"}, "expires_at": {"N": str(expires_at)}}
    if tenant_id is not None:
        item["tenant_id"] = {"S": tenant_id}
    return {"Put": {"TableName": table_name, "Item": item, "ConditionExpression": ITEM_IS_NEW}}


def seen_before(exc: ClientError, *, index: int = 0) -> bool:
    """True when the transaction was cancelled at its inbox entry (item ``index``): the message is a duplicate."""
    reasons = cancellation_reasons(exc)
    return index < len(reasons) and reasons[index].get("Code") == "ConditionalCheckFailed"
