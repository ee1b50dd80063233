"""Version items: one per change of an entity, in the entity's own partition, sorted by the time of the change.

Key: ``pk`` = the entity's (``TENANT#t#MOVIE#{id}``), ``sk`` = ``V#{at}#{revision}`` where ``at`` is fixed-width UTC
with microseconds (``2026-12-01T10:00:00.000000Z``), so the sort key sorts by time. The entity's state at time T is the
newest version whose ``at`` <= T: ONE Query, ``sk BETWEEN "V#" AND "V#{T}#~"``, ``ScanIndexForward=False``,
``Limit=1``, whatever the number of versions.

Times never go backwards within an entity: a version's ``at`` is ``max(now, previous at + 1 µs)`` (the previous is the
entity item's ``changedAt``, read with the revision the write is conditioned on), so the order by time is the order by
revision even when two writers' clocks disagree. Each version is written with ``attribute_not_exists(pk)`` in the SAME
``TransactWriteItems`` as the change, its event and a check of the tenant's audit settings (``settings.guard``): a
change without its version, or a version without its change, cannot exist.

A version stores ``before`` and ``after`` (the entity's public fields, JSON), the ``fields`` that differ, who (``sub``
and ``username``), the request id, the kind of change and, unless the tenant is under legal hold, ``expires_at`` (TTL).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from marquee.core.errors import BadRequestError
from marquee.dynamo.conditions import ITEM_IS_NEW
from marquee.tenancy.tenant import TenantContext

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

VERSION_PREFIX = "V#"
AFTER_ALL = "~"  # sorts after every digit: "V#{T}#~" is above every version written at T
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
ONE_TICK = timedelta(microseconds=1)
MAX_PAGE = 100


class Change(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    RESTORED = "restored"


class Actor(BaseModel):
    """Who made a change, and in which request (the API Gateway request id)."""

    model_config = ConfigDict(frozen=True)
    sub: str
    username: str | None = None
    request_id: str

    @classmethod
    def of(cls, tenant: TenantContext, request_id: str) -> Actor:
        return cls(sub=tenant.user_id, username=tenant.username, request_id=request_id)


class Version(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: str
    entity_id: str
    revision: int
    at: datetime
    change: Change
    sub: str | None
    username: str | None
    request_id: str
    fields: list[str]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    expires_at: int | None = None
    erased: bool = False


class BadCursor(BadRequestError):
    slug = "bad-cursor"
    title = "Bad cursor"


def fmt(at: datetime) -> str:
    """Fixed-width UTC: lexical order is time order."""
    return at.astimezone(UTC).strftime(TIME_FORMAT)


def parse(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def entity_pk(tenant: TenantContext, kind: str, entity_id: str) -> str:
    return tenant.key(kind, entity_id)


def version_sk(at: datetime, revision: int) -> str:
    return f"{VERSION_PREFIX}{fmt(at)}#{revision:010d}"


def next_time(previous: str | None, now: datetime) -> datetime:
    """The time of the next version: now, or one microsecond after the previous one if the clock is behind it."""
    if previous:
        floor = parse(previous) + ONE_TICK
        if now < floor:
            return floor
    return now.astimezone(UTC)


def changed_fields(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    before, after = before or {}, after or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def version_put(
    table_name: str,
    tenant: TenantContext,
    kind: str,
    entity_id: str,
    *,
    revision: int,
    at: datetime,
    change: Change,
    actor: Actor,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    expires_at: int | None,
) -> dict[str, Any]:
    """The ``Put`` of one version, for the change's own ``TransactWriteItems``."""
    item: dict[str, Any] = {
        "pk": {"S": entity_pk(tenant, kind, entity_id)},
        "sk": {"S": version_sk(at, revision)},
        "entity": {"S": "VERSION"},
        "kind": {"S": kind},
        "entityId": {"S": entity_id},
        "revision": {"N": str(revision)},
        "at": {"S": fmt(at)},
        "change": {"S": change.value},
        "sub": {"S": actor.sub},
        "requestId": {"S": actor.request_id},
        "fields": {"L": [{"S": f} for f in changed_fields(before, after)]},
        "before": {"S": json.dumps(before, sort_keys=True, default=str)},
        "after": {"S": json.dumps(after, sort_keys=True, default=str)},
    }
    if actor.username:
        item["username"] = {"S": actor.username}
    if expires_at is not None:
        item["expires_at"] = {"N": str(expires_at)}
    return {"Put": {"TableName": table_name, "Item": item, "ConditionExpression": ITEM_IS_NEW}}


def version_from_item(item: Mapping[str, Any]) -> Version:
    return Version(
        kind=item["kind"]["S"],
        entity_id=item["entityId"]["S"],
        revision=int(item["revision"]["N"]),
        at=parse(item["at"]["S"]),
        change=Change(item["change"]["S"]),
        sub=item.get("sub", {}).get("S"),
        username=item.get("username", {}).get("S"),
        request_id=item["requestId"]["S"],
        fields=[f["S"] for f in item.get("fields", {}).get("L", [])],
        before=json.loads(item["before"]["S"]),
        after=json.loads(item["after"]["S"]),
        expires_at=int(item["expires_at"]["N"]) if "expires_at" in item else None,
        erased="erasedAt" in item,
    )


def as_of(
    ddb: DynamoDBClient,
    table_name: str,
    tenant: TenantContext,
    kind: str,
    entity_id: str,
    at: datetime,
    *,
    consistent: bool = True,
) -> Version | None:
    """The version in effect at ``at`` (the newest written at or before it); ``None`` before the entity existed."""
    response = ddb.query(
        TableName=table_name,
        KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
        ExpressionAttributeValues={
            ":pk": {"S": entity_pk(tenant, kind, entity_id)},
            ":first": {"S": VERSION_PREFIX},
            ":last": {"S": f"{VERSION_PREFIX}{fmt(at)}#{AFTER_ALL}"},
        },
        ScanIndexForward=False,
        Limit=1,
        ConsistentRead=consistent,
    )
    items = response.get("Items", [])
    return version_from_item(items[0]) if items else None


def encode_cursor(sk: str) -> str:
    return base64.urlsafe_b64encode(sk.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        sk = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadCursor("The cursor is not one this API returned.") from exc
    if not sk.startswith(VERSION_PREFIX) or len(sk) > 64:
        raise BadCursor("The cursor is not one this API returned.")
    return sk


def history(
    ddb: DynamoDBClient,
    table_name: str,
    tenant: TenantContext,
    kind: str,
    entity_id: str,
    *,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[Version], str | None]:
    """Versions newest first, ``limit`` per page; the cursor is the last version's key (keyset, never an offset)."""
    pk = entity_pk(tenant, kind, entity_id)
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :v)",
        "ExpressionAttributeValues": {":pk": {"S": pk}, ":v": {"S": VERSION_PREFIX}},
        "ScanIndexForward": False,
        "Limit": min(limit, MAX_PAGE),
        "ConsistentRead": True,
    }
    if cursor:
        kwargs["ExclusiveStartKey"] = {"pk": {"S": pk}, "sk": {"S": decode_cursor(cursor)}}
    response = ddb.query(**kwargs)
    versions = [version_from_item(i) for i in response.get("Items", [])]
    last = response.get("LastEvaluatedKey")
    return versions, encode_cursor(last["sk"]["S"]) if last else None


def all_version_items(ddb: DynamoDBClient, table_name: str, pk: str) -> list[dict[str, Any]]:
    """Every version item of one entity (the sweep and the erasure walk them)."""
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :v)",
        "ExpressionAttributeValues": {":pk": {"S": pk}, ":v": {"S": VERSION_PREFIX}},
        "ConsistentRead": True,
    }
    found: list[dict[str, Any]] = []
    while True:
        response = ddb.query(**kwargs)
        found.extend(response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return found
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
