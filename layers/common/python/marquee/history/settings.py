"""A tenant's audit settings: how long versions are kept (their TTL) and whether the tenant is under legal hold.

One item per tenant (``TENANT#t#SETTINGS`` / ``AUDIT``): ``retentionDays`` (default ``DEFAULT_RETENTION_DAYS``),
``legalHold`` and ``settingsRevision`` (one more on every change). Every versioned write reads it and adds ``guard`` to
its transaction, a ``ConditionCheck`` that the revision it read is still the current one: a version written with the
TTL of settings that changed meanwhile is cancelled and retried, so no version commits with a TTL the tenant's
current settings do not give it.

A change of settings then sweeps the versions written before it (``sweep``): under legal hold every version loses
``expires_at``; otherwise each gets ``at + retention``. Versions are found through the tenant's registry of versioned
entities (``TENANT#t#VERSIONED`` / ``{KIND}#{id}``, written when an entity is created), never by a table scan. Each
batch of the sweep is a transaction with the same guard, so a sweep overtaken by a newer change stops and leaves the
work to the newer sweep; ``sweptRevision`` says which settings the versions reflect.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from marquee.dynamo.conditions import CONDITION_FAILED, error_code
from marquee.dynamo.transactions import cancellation_reasons, is_cancelled
from marquee.history import versions
from marquee.tenancy.tenant import TenantContext

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

DEFAULT_RETENTION_DAYS = 365
SETTINGS_SK = "AUDIT"
DAY_S = 86_400
SWEEP_BATCH = 24  # + the guard: far below the 100 items of a transaction


class AuditSettings(BaseModel):
    model_config = ConfigDict(frozen=True)
    retention_days: int = DEFAULT_RETENTION_DAYS
    legal_hold: bool = False
    revision: int = 0  # 0: the tenant never changed its settings (no item)
    swept_revision: int = 0
    updated_at: str | None = None
    updated_by: str | None = None

    def expires_at(self, at: datetime) -> int | None:
        """The TTL of a version written at ``at``: none under legal hold."""
        return None if self.legal_hold else int(at.timestamp()) + self.retention_days * DAY_S


def settings_key(tenant_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"TENANT#{tenant_id}#SETTINGS"}, "sk": {"S": SETTINGS_SK}}


def registry_pk(tenant: TenantContext) -> str:
    return tenant.key("VERSIONED")


def registry_put(table_name: str, tenant: TenantContext, kind: str, entity_id: str) -> dict[str, Any]:
    """The registry entry of a new versioned entity (in its create transaction)."""
    return {
        "Put": {
            "TableName": table_name,
            "Item": {
                "pk": {"S": registry_pk(tenant)},
                "sk": {"S": f"{kind}#{entity_id}"},
                "entity": {"S": "VERSIONED"},
            },
        }
    }


def read(ddb: DynamoDBClient, table_name: str, tenant: TenantContext) -> AuditSettings:
    item = ddb.get_item(TableName=table_name, Key=settings_key(tenant.tenant_id), ConsistentRead=True).get("Item")
    if not item:
        return AuditSettings()
    return AuditSettings(
        retention_days=int(item["retentionDays"]["N"]),
        legal_hold=bool(item["legalHold"]["BOOL"]),
        revision=int(item["settingsRevision"]["N"]),
        swept_revision=int(item.get("sweptRevision", {}).get("N", "0")),
        updated_at=item.get("updatedAt", {}).get("S"),
        updated_by=item.get("updatedBy", {}).get("S"),
    )


def guard(table_name: str, tenant: TenantContext, seen: AuditSettings) -> dict[str, Any]:
    """A ``ConditionCheck`` that the settings are still the ones ``seen`` (for a versioned write's transaction)."""
    check: dict[str, Any] = {"TableName": table_name, "Key": settings_key(tenant.tenant_id)}
    if seen.revision == 0:
        check["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        check["ConditionExpression"] = "settingsRevision = :r"
        check["ExpressionAttributeValues"] = {":r": {"N": str(seen.revision)}}
    return {"ConditionCheck": check}


def write(
    ddb: DynamoDBClient,
    table_name: str,
    tenant: TenantContext,
    *,
    retention_days: int,
    legal_hold: bool,
    seen: AuditSettings,
    at: datetime,
) -> AuditSettings:
    """Store new settings on condition that they are still ``seen``; ``ClientError`` (conditional) if not."""
    revision = seen.revision + 1
    condition = "attribute_not_exists(pk)" if seen.revision == 0 else "settingsRevision = :seen"
    values: dict[str, Any] = {} if seen.revision == 0 else {":seen": {"N": str(seen.revision)}}
    request: dict[str, Any] = {
        "TableName": table_name,
        "Item": {
            **settings_key(tenant.tenant_id),
            "retentionDays": {"N": str(retention_days)},
            "legalHold": {"BOOL": legal_hold},
            "settingsRevision": {"N": str(revision)},
            "sweptRevision": {"N": str(seen.swept_revision)},
            "updatedAt": {"S": versions.fmt(at)},
            "updatedBy": {"S": tenant.user_id},
        },
        "ConditionExpression": condition,
    }
    if values:
        request["ExpressionAttributeValues"] = values
    ddb.put_item(**request)
    return AuditSettings(
        retention_days=retention_days,
        legal_hold=legal_hold,
        revision=revision,
        swept_revision=seen.swept_revision,
        updated_at=versions.fmt(at),
        updated_by=tenant.user_id,
    )


def registered(ddb: DynamoDBClient, table_name: str, tenant: TenantContext) -> Iterator[str]:
    """The partition key of every versioned entity of the tenant."""
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": registry_pk(tenant)}},
    }
    while True:
        response = ddb.query(**kwargs)
        for item in response.get("Items", []):
            kind, _, entity_id = item["sk"]["S"].partition("#")
            yield tenant.key(kind, entity_id)
        if "LastEvaluatedKey" not in response:
            return
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _ttl_update(table_name: str, item: dict[str, Any], settings: AuditSettings) -> dict[str, Any] | None:
    """The update that gives one version the TTL ``settings`` want, or ``None`` if it has it already."""
    want = settings.expires_at(versions.parse(item["at"]["S"]))
    has = int(item["expires_at"]["N"]) if "expires_at" in item else None
    if want == has:
        return None
    update: dict[str, Any] = {
        "TableName": table_name,
        "Key": {"pk": item["pk"], "sk": item["sk"]},
        "ConditionExpression": "attribute_exists(pk)",  # a version TTL deleted meanwhile stays deleted
    }
    if want is None:
        update["UpdateExpression"] = "REMOVE expires_at"
    else:
        update["UpdateExpression"] = "SET expires_at = :e"
        update["ExpressionAttributeValues"] = {":e": {"N": str(want)}}
    return {"Update": update}


class SweepSuperseded(Exception):  # noqa: N818 - a control-flow signal, never an API error
    """The settings changed during the sweep: the newer change's sweep does the rest."""


def sweep(ddb: DynamoDBClient, table_name: str, tenant: TenantContext, settings: AuditSettings) -> int:
    """Give every version of the tenant the TTL ``settings`` want; returns how many changed. Stops (returns what it
    did) if the settings move on meanwhile."""
    changed = 0
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal changed
        if not pending:
            return
        try:
            ddb.transact_write_items(TransactItems=[guard(table_name, tenant, settings), *pending])  # type: ignore[list-item]
            changed += len(pending)
        except ClientError as exc:
            if not is_cancelled(exc):
                raise
            reasons = cancellation_reasons(exc)
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise SweepSuperseded from exc
            for update in pending:  # one version went (TTL) or was busy: the rest one by one
                try:
                    ddb.transact_write_items(TransactItems=[guard(table_name, tenant, settings), update])  # type: ignore[list-item]
                    changed += 1
                except ClientError as one:
                    reasons = cancellation_reasons(one) if is_cancelled(one) else []
                    if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                        raise SweepSuperseded from one
        pending.clear()

    try:
        for pk in registered(ddb, table_name, tenant):
            for item in versions.all_version_items(ddb, table_name, pk):
                update = _ttl_update(table_name, item, settings)
                if update is not None:
                    pending.append(update)
                if len(pending) >= SWEEP_BATCH:
                    flush()
        flush()
    except SweepSuperseded:
        return changed
    if settings.revision:
        try:
            ddb.update_item(
                TableName=table_name,
                Key=settings_key(tenant.tenant_id),
                UpdateExpression="SET sweptRevision = :r",
                ConditionExpression="settingsRevision = :r",
                ExpressionAttributeValues={":r": {"N": str(settings.revision)}},
            )
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
    return changed
