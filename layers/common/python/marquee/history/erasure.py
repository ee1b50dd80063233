"""GDPR erasure of one customer (right to erasure): personal data hard-deleted everywhere versions keep it.

What it does, in order (each step idempotent, so a retry after a failure finishes the job):
1. refuse while the tenant is under legal hold (``ErasureBlocked``, 409): a hold exists to keep records intact; a
   customer with no profile version in the tenant is a 404 (``CustomerNotFound``);
2. every version of the customer's profile: ``before`` and ``after`` replaced by ``{"erased": true}``, ``username``
   removed, ``erasedAt`` set (who, when, the request id and the list of fields that changed stay: they are not
   personal values);
3. every other version of the tenant the customer made (``sub`` = the customer): ``username`` removed;
4. the profile item deleted (a hard delete: a profile is not soft-deleted);
5. a tombstone ``TENANT#t#CUSTOMER#{id}`` / ``ERASURE``: when, by whom, in which request, how many versions, and
   which fields were erased (their names, never their values).

What it does not touch: the customer id (the token's ``sub``, a pseudonymous id) stays on holds, orders, payments and
in events, the audit log and the read models; no personal value (name, email, phone, username) is written there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from marquee.core.errors import MarqueeError
from marquee.dynamo.conditions import CONDITION_FAILED, error_code
from marquee.history import settings, versions
from marquee.history.versions import Actor
from marquee.tenancy.tenant import TenantContext

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

CUSTOMER = "CUSTOMER"
TOMBSTONE_SK = "ERASURE"
ERASED = json.dumps({"erased": True})
ERASED_FIELDS = ("displayName", "email", "phone", "username")


class CustomerNotFound(MarqueeError):
    """No profile and no version of this customer in the caller's tenant (another tenant's id looks the same)."""

    status = HTTPStatus.NOT_FOUND
    slug = "not-found"
    title = "Not found"


class ErasureBlocked(MarqueeError):
    status = HTTPStatus.CONFLICT
    slug = "legal-hold"
    title = "Under legal hold"


@dataclass(frozen=True)
class ErasureReport:
    customer_id: str
    erased_at: datetime
    versions_erased: int
    authored_versions_scrubbed: int
    profile_deleted: bool


def _update(
    ddb: DynamoDBClient, table_name: str, item: dict[str, Any], expression: str, values: dict[str, Any]
) -> bool:
    request: dict[str, Any] = {
        "TableName": table_name,
        "Key": {"pk": item["pk"], "sk": item["sk"]},
        "UpdateExpression": expression,
        "ConditionExpression": "attribute_exists(pk)",
    }
    if values:
        request["ExpressionAttributeValues"] = values
    if "#b" in expression:
        request["ExpressionAttributeNames"] = {"#b": "before", "#a": "after"}
    try:
        ddb.update_item(**request)
    except ClientError as exc:
        if error_code(exc) == CONDITION_FAILED:
            return False  # expired (TTL) meanwhile: nothing left to erase
        raise
    return True


def erase_customer(
    ddb: DynamoDBClient,
    table_name: str,
    tenant: TenantContext,
    customer_id: str,
    *,
    actor: Actor,
    at: datetime,
) -> ErasureReport:
    if settings.read(ddb, table_name, tenant).legal_hold:
        raise ErasureBlocked("The tenant is under legal hold: erasure waits until the hold is lifted.")
    stamp = versions.fmt(at)
    profile_pk = tenant.key(CUSTOMER, customer_id)
    profile_versions = versions.all_version_items(ddb, table_name, profile_pk)
    if not profile_versions:
        raise CustomerNotFound(f"No customer {customer_id} with personal data in this tenant.")
    erased = 0
    for item in profile_versions:
        erased += _update(
            ddb,
            table_name,
            item,
            "SET #b = :e, #a = :e, erasedAt = :at REMOVE username",
            {":e": {"S": ERASED}, ":at": {"S": stamp}},
        ) if "erasedAt" not in item else 0  # fmt: skip
    scrubbed = 0
    for pk in settings.registered(ddb, table_name, tenant):
        if pk == profile_pk:
            continue
        for item in versions.all_version_items(ddb, table_name, pk):
            if item.get("sub", {}).get("S") == customer_id and "username" in item:
                scrubbed += _update(ddb, table_name, item, "REMOVE username", {})
    deleted = ddb.delete_item(
        TableName=table_name, Key={"pk": {"S": profile_pk}, "sk": {"S": "META"}}, ReturnValues="ALL_OLD"
    )
    ddb.put_item(
        TableName=table_name,
        Item={
            "pk": {"S": profile_pk},
            "sk": {"S": TOMBSTONE_SK},
            "entity": {"S": "ERASURE_TOMBSTONE"},
            "erasedAt": {"S": stamp},
            "erasedBy": {"S": actor.sub},
            "requestId": {"S": actor.request_id},
            "versionsErased": {"N": str(erased)},
            "fieldsErased": {"L": [{"S": f} for f in ERASED_FIELDS]},
            "note": {"S": "Personal data erased on request (GDPR art. 17); the versions remain without it."},
        },
    )
    return ErasureReport(
        customer_id=customer_id,
        erased_at=at,
        versions_erased=erased,
        authored_versions_scrubbed=scrubbed,
        profile_deleted="Attributes" in deleted,
    )
