"""The rotation function in-process on moto, against a real simulated provider that reads its keys from moto.

RotateSecret itself is not called here (moto would invoke a Lambda it cannot run in-process): ``start_rotation`` stages
the token's version exactly as RotateSecret does, then each step is one handler invoke, as Secrets Manager sends it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.secretsmanager.models import secretsmanager_backends

from devkit.providers import PaymentProvider
from tests.integration.conftest import REGION, LambdaContext, load_event, load_function

SECRET = "marquee/payments/primary"  # noqa: S105 - a secret name, not a value
OLD_KEY = "a" * 40
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)

        def keys() -> frozenset[str]:
            found = set()
            for stage in ("AWSCURRENT", "AWSPREVIOUS"):
                try:
                    found.add(
                        json.loads(client.get_secret_value(SecretId=SECRET, VersionStage=stage)["SecretString"])[
                            "apiKey"
                        ]
                    )
                except client.exceptions.ResourceNotFoundException:
                    continue
            return frozenset(found)

        provider = PaymentProvider("primary", host="127.0.0.1", port=0, api_keys=keys).start()
        client.create_secret(Name=SECRET, SecretString=json.dumps({"url": provider.url, "apiKey": OLD_KEY}))
        secret = secretsmanager_backends[DEFAULT_ACCOUNT_ID][REGION].secrets[SECRET]
        secret.rotation_requested = True  # what makes DescribeSecret report RotationEnabled
        secret.rotation_enabled = True
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "secret_rotation")
        monkeypatch.setenv("PROVIDER_TIMEOUT_MS", "3000")
        monkeypatch.setenv("API_KEY_LENGTH", "40")
        try:
            yield {
                "client": client,
                "provider": provider,
                "secret": secret,
                "handler": load_function("secret_rotation"),
            }
        finally:
            provider.stop()


def start_rotation(secret: Any) -> str:
    """What RotateSecret does before the first step: a version for the token, labelled AWSPENDING, with no value."""
    token = str(uuid.uuid4())
    secret.versions[token] = {"version_id": token, "version_stages": ["AWSPENDING"], "createdate": int(time.time())}
    return token


def run(cloud: dict[str, Any], step: str, token: str) -> Any:
    name = step.removesuffix("Secret")
    event = {**load_event(f"secret_rotation/{name}_secret.json"), "ClientRequestToken": token}
    assert event["Step"] == step
    assert event["SecretId"] == SECRET
    return cloud["handler"].handler(event, LambdaContext())


def charge(provider: PaymentProvider, key: str) -> int:
    response = requests.post(
        f"{provider.url}/v1/charges",
        json={"amount": 100, "currency": "EUR", "card": "4242424242424242"},
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": str(uuid.uuid4())},
        timeout=5,
    )
    return response.status_code


def test_a_full_rotation_promotes_a_new_key_the_provider_accepts_and_keeps_the_old_one_working(
    cloud: dict[str, Any],
) -> None:
    client, provider = cloud["client"], cloud["provider"]
    token = start_rotation(cloud["secret"])
    outcomes = [run(cloud, step, token)["outcome"] for step in STEPS]
    assert outcomes == ["pending-created", "registered", "accepted", "promoted"]
    current = client.get_secret_value(SecretId=SECRET, VersionStage="AWSCURRENT")
    assert current["VersionId"] == token
    new_key = json.loads(current["SecretString"])["apiKey"]
    assert new_key != OLD_KEY
    assert json.loads(current["SecretString"])["url"] == provider.url
    assert (
        json.loads(client.get_secret_value(SecretId=SECRET, VersionStage="AWSPREVIOUS")["SecretString"])["apiKey"]
        == OLD_KEY
    )
    stages = client.describe_secret(SecretId=SECRET)["VersionIdsToStages"]
    assert not [v for v, s in stages.items() if "AWSPENDING" in s]
    assert charge(provider, new_key) == 201
    assert charge(provider, OLD_KEY) == 201  # AWSPREVIOUS: callers with a cached key keep working
    assert provider.stats.key_versions[token] == 1


def test_two_rotations_in_a_row_leave_the_first_key_refused(cloud: dict[str, Any]) -> None:
    client, provider = cloud["client"], cloud["provider"]
    for _ in range(2):
        token = start_rotation(cloud["secret"])
        for step in STEPS:
            run(cloud, step, token)
    time.sleep(0.1)
    previous = json.loads(client.get_secret_value(SecretId=SECRET, VersionStage="AWSPREVIOUS")["SecretString"])[
        "apiKey"
    ]
    assert charge(provider, previous) == 201
    assert charge(provider, OLD_KEY) == 401  # two rotations ago: neither current, previous nor registered


def test_a_failed_test_step_leaves_the_current_key_in_place(cloud: dict[str, Any]) -> None:
    client, provider = cloud["client"], cloud["provider"]
    token = start_rotation(cloud["secret"])
    run(cloud, "createSecret", token)  # setSecret skipped: the provider does not know the pending key
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the handler's typed KeyNotAccepted, from its own module
        run(cloud, "testSecret", token)
    assert type(raised.value).__name__ == "KeyNotAccepted"
    assert client.get_secret_value(SecretId=SECRET)["VersionId"] != token
    assert (
        json.loads(client.get_secret_value(SecretId=SECRET, VersionStage="AWSCURRENT")["SecretString"])["apiKey"]
        == OLD_KEY
    )
    assert provider.stats.key_versions == {}
