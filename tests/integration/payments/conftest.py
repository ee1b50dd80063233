"""Fixtures of the payments integration tests: moto tables and secrets, two in-process providers on free ports."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devkit.providers import PaymentProvider
from marquee.payments import config as payments_config
from marquee.payments import provider as provider_client

from ..conftest import REGION, load_function, use_tenant_role

API_KEYS = {"primary": "pk_primary_current", "secondary": "pk_secondary_current"}
SETTINGS = {
    "TABLE_NAME": "marquee-table",
    "OPS_TABLE_NAME": "marquee-ops",
    "IDEMPOTENCY_TABLE_NAME": "marquee-idempotency",
    "PAYMENTS_PRIMARY_SECRET_ID": "marquee/payments/primary",
    "PAYMENTS_SECONDARY_SECRET_ID": "marquee/payments/secondary",
    "PAYMENTS_CONNECT_TIMEOUT_MS": "500",
    "PAYMENTS_READ_TIMEOUT_MS": "1500",
    "PAYMENTS_SECRET_MAX_AGE_S": "300",
    "PAYMENTS_ATTEMPT_LEASE_MS": "5000",
    "PAYMENTS_IDEMPOTENCY_TTL_S": "86400",
    "BREAKER_FAILURE_THRESHOLD": "5",
    "BREAKER_WINDOW_MS": "30000",
    "BREAKER_COOLDOWN_MS": "1500",
    "BREAKER_SUCCESS_THRESHOLD": "2",
    "BREAKER_PROBE_LEASE_MS": "5000",
    "POWERTOOLS_SERVICE_NAME": "payments",
}


@dataclass
class PaymentsWorld:
    providers: dict[str, PaymentProvider]
    ddb: Any
    secrets: Any

    def stats(self, name: str) -> dict[str, Any]:
        import requests

        return requests.get(f"{self.providers[name].url}/_admin/stats", timeout=5).json()


def create_tables(ddb: Any) -> None:
    for name, keys in (
        (SETTINGS["TABLE_NAME"], ("pk", "sk")),
        (SETTINGS["OPS_TABLE_NAME"], ("pk", "sk")),
        (SETTINGS["IDEMPOTENCY_TABLE_NAME"], ("id",)),
    ):
        ddb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
            KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ("HASH", "RANGE"), strict=False)],
            BillingMode="PAY_PER_REQUEST",
        )


def _constant_keys(key: str) -> Callable[[], frozenset[str]]:
    return lambda: frozenset({key})


@pytest.fixture
def payments_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[PaymentsWorld]:
    for key, value in SETTINGS.items():
        monkeypatch.setenv(key, value)
    providers = {
        name: PaymentProvider(name, host="127.0.0.1", port=0, api_keys=_constant_keys(API_KEYS[name]))
        for name in API_KEYS
    }
    for provider in providers.values():
        provider.start()
    payments_config.default_deps.cache_clear()
    provider_client.clear_caches()
    try:
        with mock_aws():
            ddb = boto3.client("dynamodb", region_name=REGION)
            create_tables(ddb)
            use_tenant_role(SETTINGS["TABLE_NAME"], monkeypatch)  # the function is tenant-facing
            secrets = boto3.client("secretsmanager", region_name=REGION)
            for name, provider in providers.items():
                secrets.create_secret(
                    Name=f"marquee/payments/{name}",
                    SecretString=json.dumps({"url": provider.url, "apiKey": API_KEYS[name]}),
                )
            yield PaymentsWorld(providers, ddb, secrets)
    finally:
        for provider in providers.values():
            provider.stop()
        payments_config.default_deps.cache_clear()
        provider_client.clear_caches()


@pytest.fixture
def payments_function(payments_world: PaymentsWorld) -> ModuleType:
    return load_function("payments")
