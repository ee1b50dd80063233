"""The write fence: one item per tenant on the source shard, in the tenant's own key space.

While a tenant moves, every write to its source shard carries ``WRITE_ALLOWED`` on this item (a ConditionCheck in the
same transaction, so the check and the write are atomic). The mover puts the item (``FENCED``, with a lease) for the
final catch-up and verification, and turns it into a ``MOVED`` tombstone in the same transaction that flips the map:
a writer whose cached map is stale is refused there, reloads the map and retries on the new shard.

A fence whose lease ran out (the mover died while fenced) lets writes through again; the mover then catches up and
fences anew, and its flip requires a live lease. The key starts with the tenant's prefix, so a tenant-scoped session
(``dynamodb:LeadingKeys``) may check it.
"""

from __future__ import annotations

from typing import Any

from marquee.tenancy.tenant import tenant_key

FENCE_SK = "FENCE"
FENCED = "FENCED"
MOVED = "MOVED"
# No fence; or a fence whose lease has run out (its mover died). A MOVED tombstone always refuses.
WRITE_ALLOWED = "attribute_not_exists(pk) OR (#fence_state = :fenced AND lease_until_ms < :now_ms)"


def fence_key(tenant_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": tenant_key(tenant_id, "SHARD")}, "sk": {"S": FENCE_SK}}


def is_fence_key(pk: str, sk: str) -> bool:
    return sk == FENCE_SK and pk.endswith("#SHARD")


def fence_check(table_name: str, tenant_id: str, now_ms: int) -> dict[str, Any]:
    """The ConditionCheck a write to ``table_name`` carries while ``tenant_id`` moves."""
    return {
        "ConditionCheck": {
            "TableName": table_name,
            "Key": fence_key(tenant_id),
            "ConditionExpression": WRITE_ALLOWED,
            "ExpressionAttributeNames": {"#fence_state": "state"},
            "ExpressionAttributeValues": {":fenced": {"S": FENCED}, ":now_ms": {"N": str(now_ms)}},
        }
    }


def allows_write(item: dict[str, Any] | None, now_ms: int) -> bool:
    """``WRITE_ALLOWED`` evaluated on a fence item read with GetItem (the check-then-write path)."""
    if not item:
        return True
    return item.get("state", {}).get("S") == FENCED and int(item.get("lease_until_ms", {}).get("N", "0")) < now_ms
