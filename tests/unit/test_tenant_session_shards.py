"""Tenant sessions with sharding (challenges 9 and 19): the per-request session policy names every shard table, so a
tenant's calls routed to its shard are allowed there, and LeadingKeys still confines them to the tenant's keys."""

from __future__ import annotations

import pytest

from marquee.core.env import load_env
from marquee.tenancy.tenant_session import TenantDataEnv, session_policy

MAIN = "arn:aws:dynamodb:us-east-1:000000000000:table/main"
S1 = "arn:aws:dynamodb:us-east-1:000000000000:table/shard-1"
S2 = "arn:aws:dynamodb:us-east-1:000000000000:table/shard-2"
BASE = {"POWERTOOLS_SERVICE_NAME": "holds", "TABLE_NAME": "main", "TABLE_ARN": MAIN, "TENANT_ROLE_ARN": "arn:role"}


def test_without_shards_the_session_names_the_main_table_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SHARD_TABLE_ARNS", raising=False)
    assert load_env(TenantDataEnv).session_table_arns == [MAIN]


def test_with_shards_the_session_names_every_shard_once_main_first(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**BASE, "SHARD_TABLE_ARNS": f"{MAIN},{S1}, {S2}"}.items():
        monkeypatch.setenv(name, value)
    arns = load_env(TenantDataEnv).session_table_arns
    assert arns == [MAIN, S1, S2]
    (statement,) = session_policy("acme", arns)["Statement"]
    assert statement["Resource"] == [MAIN, S1, S2]
    assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["TENANT#acme#*"]}}
