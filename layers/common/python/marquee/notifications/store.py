"""Notifications data access (main table, tenant-prefixed keys): preferences, the per-(event, channel) delivery record
that makes a send happen once, and the delivery log.

Items:
- preferences  pk ``TENANT#t#CUSTOMER#{customer}``, sk ``NOTIFICATION_PREFS``: ``preferences`` (JSON), ``updated_at``.
- delivery     pk ``TENANT#t#NOTIFY#{event}#{channel}``, sk ``DELIVERY``: ``delivery_status`` SENDING|SENT, ``owner``,
  ``lease_until_ms``, ``provider``, ``provider_message_id``. A worker CLAIMS it (``CLAIM_IS_FREE``) before calling a
  provider and marks it SENT in the same transaction as the log entry. A second delivery of the event finds SENT and
  sends nothing; a worker that died mid-send leaves a lease that expires, and the retry sends again with the SAME
  provider idempotency key, so the provider dedupes it.
- log          pk ``TENANT#t#NOTIFICATIONS#{customer}`` (the customer's view) and ``TENANT#t#NOTIFICATIONS`` (staff, per
  tenant), sk ``{at_ms:013d}#{event}#{channel}#{n}``: channel, provider, status, attempt, latencyMs, error, errorType.
  TTL 30 days.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from marquee.core.models import CamelModel
from marquee.dynamo.conditions import CONDITION_FAILED, error_code
from marquee.dynamo.store import TableStore
from marquee.notifications.channels import Channel, Preferences
from marquee.tenancy.tenant import tenant_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

PREFS_SK = "NOTIFICATION_PREFS"
DELIVERY_SK = "DELIVERY"
LOG_TTL_SECONDS = 30 * 24 * 3600

# Named conditions (STYLE.md §4).
CLAIM_IS_FREE = "attribute_not_exists(pk) OR (delivery_status = :sending AND lease_until_ms < :now)"
CLAIM_IS_MINE = "delivery_status = :sending AND #owner = :owner"


class DeliveryStatus(StrEnum):
    SENT = "SENT"  # the provider accepted it
    FAILED = "FAILED"  # one provider attempt failed (the message will be retried, or fails over)
    SKIPPED = "SKIPPED"  # nothing sent on purpose: opted out, or SMS not enabled for the tenant
    DEFERRED = "DEFERRED"  # quiet hours: the message waits in its queue
    DUPLICATE = "DUPLICATE"  # a redelivery of an event already sent on this channel: nothing sent
    DEAD_LETTERED = "DEAD_LETTERED"  # a permanent error, or an unexpected one on the last attempt: moved to the DLQ


class LogEntry(CamelModel):
    at_ms: int
    event_id: str
    event_type: str
    customer_id: str
    channel: Channel
    status: DeliveryStatus
    attempt: int
    provider: str | None = None
    latency_ms: float | None = None
    error: str | None = None
    error_type: str | None = None  # the exception's type, for an error of the worker itself (not a provider's)
    detail: str | None = None


class AlreadySent(Exception):
    """The (event, channel) was delivered before: a duplicate, send nothing."""


class SendInFlight(Exception):
    """Another worker holds the claim right now (its lease has not run out): retry later."""


@dataclass(frozen=True)
class Claim:
    tenant_id: str
    event_id: str
    channel: Channel
    owner: str


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": str(value)}


class NotificationStore(TableStore):
    # ---- preferences -----------------------------------------------------------------------------------------------
    def get_preferences(self, tenant_id: str, customer_id: str) -> Preferences:
        item = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": _s(tenant_key(tenant_id, "CUSTOMER", customer_id)), "sk": _s(PREFS_SK)},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return Preferences()
        return Preferences.model_validate_json(item["preferences"]["S"])

    def put_preferences(self, tenant_id: str, customer_id: str, preferences: Preferences) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "pk": _s(tenant_key(tenant_id, "CUSTOMER", customer_id)),
                "sk": _s(PREFS_SK),
                "preferences": _s(preferences.model_dump_json(by_alias=True)),
                "updated_at": _n(int(time.time() * 1000)),
            },
        )

    # ---- the delivery record (exactly-once effect) ------------------------------------------------------------------
    def _delivery_key(self, tenant_id: str, event_id: str, channel: Channel) -> dict[str, Any]:
        return {"pk": _s(tenant_key(tenant_id, "NOTIFY", event_id, channel.value)), "sk": _s(DELIVERY_SK)}

    def claim(self, tenant_id: str, event_id: str, channel: Channel, *, now_ms: int, lease_ms: int) -> Claim:
        """Claim the right to send (event, channel); ``AlreadySent`` or ``SendInFlight`` otherwise."""
        owner = uuid.uuid4().hex
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self._delivery_key(tenant_id, event_id, channel),
                UpdateExpression="SET delivery_status = :sending, #owner = :owner, lease_until_ms = :lease, "
                "expires_at = :ttl ADD claims :one",
                ConditionExpression=CLAIM_IS_FREE,
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={
                    ":sending": _s("SENDING"),
                    ":owner": _s(owner),
                    ":lease": _n(now_ms + lease_ms),
                    ":now": _n(now_ms),
                    ":ttl": _n(now_ms // 1000 + LOG_TTL_SECONDS),
                    ":one": _n(1),
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
            old = exc.response.get("Item") or {}
            if old.get("delivery_status", {}).get("S") == DeliveryStatus.SENT.value:
                raise AlreadySent(f"{event_id}/{channel.value} was sent already") from exc
            raise SendInFlight(f"{event_id}/{channel.value} is being sent by another worker") from exc
        return Claim(tenant_id, event_id, channel, owner)

    def complete(self, claim: Claim, *, provider: str, provider_message_id: str, entries: Sequence[LogEntry]) -> None:
        """Mark the claim SENT and write the log entries, in one transaction (the record is written with the send)."""
        update: dict[str, Any] = {
            "Update": {
                "TableName": self.table_name,
                "Key": self._delivery_key(claim.tenant_id, claim.event_id, claim.channel),
                "UpdateExpression": "SET delivery_status = :sent, provider = :provider, provider_message_id = :pmid "
                "REMOVE lease_until_ms",
                "ConditionExpression": CLAIM_IS_MINE,
                "ExpressionAttributeNames": {"#owner": "owner"},
                "ExpressionAttributeValues": {
                    ":sent": _s(DeliveryStatus.SENT.value),
                    ":sending": _s("SENDING"),
                    ":owner": _s(claim.owner),
                    ":provider": _s(provider),
                    ":pmid": _s(provider_message_id),
                },
            }
        }
        items: list[Any] = [update, *(put for entry in entries for put in self._log_puts(claim.tenant_id, entry))]
        self.client.transact_write_items(TransactItems=items)

    def release(self, claim: Claim) -> None:
        """Give the claim up after a failed send, so the retry can claim it at once."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self._delivery_key(claim.tenant_id, claim.event_id, claim.channel),
                UpdateExpression="SET lease_until_ms = :zero",
                ConditionExpression=CLAIM_IS_MINE,
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":zero": _n(0), ":sending": _s("SENDING"), ":owner": _s(claim.owner)},
            )
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise  # not ours any more: the lease ran out and another worker took it; nothing to release

    # ---- the delivery log -------------------------------------------------------------------------------------------
    def _log_puts(self, tenant_id: str, entry: LogEntry) -> list[dict[str, Any]]:
        sk = f"{entry.at_ms:013d}#{entry.event_id}#{entry.channel.value}#{uuid.uuid4().hex[:8]}"
        document = entry.model_dump_json(by_alias=True, exclude_none=True)
        ttl = _n(entry.at_ms // 1000 + LOG_TTL_SECONDS)
        return [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": {"pk": _s(pk), "sk": _s(sk), "entry": _s(document), "expires_at": ttl},
                }
            }
            for pk in (
                tenant_key(tenant_id, "NOTIFICATIONS", entry.customer_id),
                tenant_key(tenant_id, "NOTIFICATIONS"),
            )
        ]

    def log(self, tenant_id: str, entries: Sequence[LogEntry]) -> None:
        puts: list[Any] = [put for entry in entries for put in self._log_puts(tenant_id, entry)]
        for start in range(0, len(puts), 100):
            self.client.transact_write_items(TransactItems=puts[start : start + 100])

    def history(self, tenant_id: str, customer_id: str | None = None, *, limit: int = 50) -> list[LogEntry]:
        """Newest first: one customer's log, or (staff) the whole tenant's."""
        pk = (
            tenant_key(tenant_id, "NOTIFICATIONS", customer_id)
            if customer_id
            else tenant_key(tenant_id, "NOTIFICATIONS")
        )
        items = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": _s(pk)},
            ScanIndexForward=False,
            Limit=limit,
        ).get("Items", [])
        return [LogEntry.model_validate(json.loads(item["entry"]["S"])) for item in items]
