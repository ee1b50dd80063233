"""Tenant-scoped DynamoDB clients (challenge 19): assume the tenant-access role with a session policy per tenant.

As in the AWS SaaS reference architectures, a tenant-facing function does not use its own role for data. Per request it
uses credentials of the tenant-access role, assumed with an inline **session policy** whose ``dynamodb:LeadingKeys``
condition is the tenant's key prefix (``TENANT#{t}#*``). The effective permissions are the intersection of the role's
policy and the session policy, so even a bug that builds another tenant's key is refused by IAM on AWS.

Credentials are cached per tenant until ``REFRESH_MARGIN_S`` before they expire; one client per tenant is kept.

moto (the local cloud) accepts AssumeRole and returns credentials, but does not evaluate IAM policies: locally the
key-building guard in ``TenantContext`` is what the tests prove (docs/patterns/19-tenant-isolation.md).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import boto3
from pydantic import Field

from marquee.core import aws
from marquee.core.env import PowertoolsEnv
from marquee.sharding.routing import routed
from marquee.tenancy.tenant import TenantContext

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

REFRESH_MARGIN_S = 300
SESSION_DURATION_S = 3600
ITEM_ACTIONS_FILE = "tenant_item_actions.json"
# Item-level actions only: a transaction is authorized through the actions of its items. The tenant-access role
# (infra/constructs/tenant_access.py) allows the same list, read from the same file.
ITEM_ACTIONS: tuple[str, ...] = tuple(
    json.loads(resources.files("marquee.tenancy").joinpath(ITEM_ACTIONS_FILE).read_text())
)


def session_policy(tenant_id: str, table_arns: list[str]) -> dict[str, Any]:
    """The inline session policy: item actions on the tables, only for keys that start with the tenant's prefix."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TenantItemsOnly",
                "Effect": "Allow",
                "Action": list(ITEM_ACTIONS),
                "Resource": table_arns,
                "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"TENANT#{tenant_id}#*"]}},
            }
        ],
    }


@dataclass
class _Entry:
    client: Any
    expires_at: float


class TenantSessions:
    """Assumes ``role_arn`` per tenant with the tenant's session policy; caches credentials and clients."""

    def __init__(self, role_arn: str, table_arns: list[str], *, sts: Any | None = None) -> None:
        self.role_arn = role_arn
        self.table_arns = table_arns
        self._sts = sts
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def dynamodb(self, tenant: TenantContext) -> DynamoDBClient:
        now = time.time()
        with self._lock:
            entry = self._entries.get(tenant.tenant_id)
            if entry is not None and entry.expires_at - REFRESH_MARGIN_S > now:
                client: DynamoDBClient = entry.client
                return client
        sts = self._sts if self._sts is not None else aws.sts()
        credentials = sts.assume_role(
            RoleArn=self.role_arn,
            RoleSessionName=f"tenant-{tenant.tenant_id}"[:64],
            DurationSeconds=SESSION_DURATION_S,
            Policy=json.dumps(session_policy(tenant.tenant_id, self.table_arns)),
            Tags=[{"Key": "tenant_id", "Value": tenant.tenant_id}],
        )["Credentials"]
        with _boto_lock:  # boto3 sessions are not thread-safe; client creation is ~3 ms with a warm loader
            client = _boto_session().client(
                "dynamodb",
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )
        expiration = credentials["Expiration"]
        expires_at = expiration.timestamp() if hasattr(expiration, "timestamp") else now + SESSION_DURATION_S
        client = routed(client)  # main-table calls go to the tenant's shard (challenge 9), fence included
        with self._lock:
            self._entries[tenant.tenant_id] = _Entry(client, expires_at)
        return client


_boto_lock = threading.Lock()


@cache
def _boto_session() -> boto3.Session:
    """One boto3 session for every tenant's client: its loader keeps the DynamoDB service model, so a new tenant's
    client costs ~3 ms instead of ~80 ms for a new session (measured; the credentials are passed per client)."""
    return boto3.Session()


_sessions: dict[tuple[str, tuple[str, ...]], TenantSessions] = {}
_sessions_lock = threading.Lock()


def tenant_dynamodb(tenant: TenantContext, *, role_arn: str, table_arns: list[str]) -> DynamoDBClient:
    """A DynamoDB client confined to ``tenant`` (cached per role, tables and tenant)."""
    key = (role_arn, tuple(table_arns))
    with _sessions_lock:
        sessions = _sessions.get(key)
        if sessions is None:
            sessions = _sessions[key] = TenantSessions(role_arn, table_arns)
    return sessions.dynamodb(tenant)


def clear_sessions() -> None:
    with _sessions_lock:
        _sessions.clear()
    _boto_session.cache_clear()


class TenantDataEnv(PowertoolsEnv):
    """Variables of a tenant-facing function: the main table and the tenant-access role it assumes per tenant."""

    table_name: str = Field(min_length=1)
    table_arn: str = Field(min_length=1)
    tenant_role_arn: str = Field(min_length=1)

    # Sharding (challenge 9): every shard table's ARN, comma-separated (s0, the main table, first). The session policy
    # names them all: the routed client sends the tenant's calls to its shard, and LeadingKeys still confines them.
    shard_table_arns: str | None = None

    @property
    def session_table_arns(self) -> list[str]:
        shards = [arn.strip() for arn in (self.shard_table_arns or "").split(",") if arn.strip()]
        return [self.table_arn, *(arn for arn in shards if arn != self.table_arn)]

    def dynamodb_for(self, tenant: TenantContext) -> DynamoDBClient:
        return tenant_dynamodb(tenant, role_arn=self.tenant_role_arn, table_arns=self.session_table_arns)
