"""A customer's profile: display name, email and phone, versioned like the catalog (``marquee.history``).

Item ``TENANT#t#CUSTOMER#{sub}`` / ``META``; the customer id is the token's ``sub``, so a customer reads and writes only
their own. Every change writes a version in the same transaction (before and after hold the personal fields), which
is why GDPR erasure (``marquee.history.erasure``) must reach the versions too.

A profile change emits NO event on purpose: events are copied where erasure cannot follow them (the audit log, the
bus archive, tenants' webhooks), so personal data stays out of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict

from marquee.booking.errors import NotFound
from marquee.core import aws
from marquee.core.personal import PersonalKind, personal
from marquee.dynamo.conditions import ITEM_IS_NEW
from marquee.history import settings, versions
from marquee.history.versions import Actor, Change
from marquee.history.writes import Plan, commit
from marquee.tenancy.tenant import TenantContext

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

KIND = "CUSTOMER"
META = "META"
PERSONAL_FIELDS = ("displayName", "email", "phone")


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True)
    customer_id: str
    display_name: Annotated[str, personal(PersonalKind.NAME)]
    email: Annotated[str, personal(PersonalKind.EMAIL)]
    phone: Annotated[str, personal(PersonalKind.PHONE)] = ""
    revision: int = 1


def profile_key(tenant: TenantContext, customer_id: str) -> dict[str, Any]:
    return {"pk": {"S": tenant.key(KIND, customer_id)}, "sk": {"S": META}}


def _state(item: Mapping[str, Any]) -> dict[str, Any]:
    return {field: item.get(field, {}).get("S", "") for field in PERSONAL_FIELDS}


def _client(client: DynamoDBClient | None) -> DynamoDBClient:
    return client if client is not None else aws.dynamodb()


def get_profile(
    tenant: TenantContext, customer_id: str, *, table_name: str, client: DynamoDBClient | None = None
) -> Profile:
    item = _client(client).get_item(TableName=table_name, Key=profile_key(tenant, customer_id), ConsistentRead=True)
    found = item.get("Item")
    if not found:
        raise NotFound("No profile.")
    state = _state(found)
    return Profile(
        customer_id=customer_id,
        display_name=state["displayName"],
        email=state["email"],
        phone=state["phone"],
        revision=int(found["revision"]["N"]),
    )


def put_profile(
    tenant: TenantContext,
    *,
    display_name: str,
    email: str,
    phone: str,
    actor: Actor,
    table_name: str,
    client: DynamoDBClient | None = None,
) -> Profile:
    """Create or replace the caller's profile (optimistic on its revision, with its version)."""
    ddb = _client(client)
    customer_id = tenant.user_id
    key = profile_key(tenant, customer_id)
    after = {"displayName": display_name, "email": email, "phone": phone}
    revision_box: list[int] = []

    def plan() -> Plan:
        current = ddb.get_item(TableName=table_name, Key=key, ConsistentRead=True).get("Item")
        revision = int(current["revision"]["N"]) + 1 if current else 1
        revision_box[:] = [revision]

        def items(at: datetime) -> list[dict[str, Any]]:
            item = {
                **key,
                "entity": {"S": "CUSTOMER_PROFILE"},
                **{f: {"S": v} for f, v in after.items()},
                "revision": {"N": str(revision)},
                "changedAt": {"S": versions.fmt(at)},
            }
            if current is None:
                return [
                    {"Put": {"TableName": table_name, "Item": item, "ConditionExpression": ITEM_IS_NEW}},
                    settings.registry_put(table_name, tenant, KIND, customer_id),
                ]
            put = {
                "TableName": table_name,
                "Item": item,
                "ConditionExpression": "revision = :seen",
                "ExpressionAttributeValues": {":seen": current["revision"]},
            }
            return [{"Put": put}]

        return Plan(
            revision,
            Change.UPDATED if current else Change.CREATED,
            _state(current) if current else None,
            after,
            current.get("changedAt", {}).get("S") if current else None,
            items,
        )

    commit(ddb, table_name, tenant, KIND, customer_id, actor=actor, plan=plan)
    return Profile(
        customer_id=customer_id, display_name=display_name, email=email, phone=phone, revision=revision_box[0]
    )
