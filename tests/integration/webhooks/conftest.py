"""Fixtures of the webhook integration tests: the platform in moto plus the inbox table and delivery queues, the four
webhook functions loaded as cold starts, a receiver on 127.0.0.1, and DNS answers for the test host names."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from marquee.webhooks import ssrf

from ..conftest import REGION, Platform, load_function, use_tenant_role
from .receiver import Receiver

INBOX_TABLE = "marquee-inbox"
INBOUND_SECRET_NAME = "marquee/webhooks-inbound/payments"  # noqa: S105 - a name
INBOUND_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - the sample events' test secret
FAKE_DNS = {
    "hooks.example.com": ["93.184.215.14"],
    "localhost": ["127.0.0.1"],
    "127.0.0.1": ["127.0.0.1"],
    "rebind.example.com": ["93.184.215.14", "10.0.0.7"],
    "metadata.example.com": ["169.254.169.254"],
}


@dataclass
class World:
    platform: Platform
    delivery_queue_url: str
    delivery_dlq_url: str
    api: ModuleType
    fanout: ModuleType
    sender: ModuleType
    inbound: ModuleType
    ddb: Any
    sqs: Any
    secrets: Any

    def items(self, pk: str) -> list[dict[str, Any]]:
        return self.ddb.query(
            TableName=self.platform.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
        )["Items"]

    def outbox(self, event_type: str) -> list[dict[str, Any]]:
        items = self.ddb.scan(TableName=self.platform.table_name)["Items"]
        return [json.loads(i["envelope"]["S"]) for i in items if i.get("event_type", {}).get("S") == event_type]

    def drain_delivery_queue(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(
            QueueUrl=self.delivery_queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        return messages


def fake_resolve(host: str, port: int) -> list[str]:
    if host not in FAKE_DNS:
        raise OSError(f"no such host {host}")
    return FAKE_DNS[host]


@pytest.fixture
def world(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setattr(ssrf, "resolve", fake_resolve)
    parameters.clear_caches()
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(
        TableName=INBOX_TABLE,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sqs = boto3.client("sqs", region_name=REGION)
    dlq_url = sqs.create_queue(QueueName="webhook-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName="webhook-deliveries",
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
            "VisibilityTimeout": "0",
        },
    )["QueueUrl"]
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.create_secret(Name=INBOUND_SECRET_NAME, SecretString=INBOUND_SECRET)
    common = {
        "TABLE_NAME": platform.table_name,
        "DELIVERY_QUEUE_URL": queue_url,
        "WEBHOOK_ALLOW_LOOPBACK": "true",
        "WEBHOOK_SECRET_MAX_AGE_S": "300",
    }
    env_by_function: dict[str, dict[str, str]] = {
        "webhooks_api": {
            **common,
            "WEBHOOK_SECRET_PREFIX": "marquee/webhook-endpoints/",
            "WEBHOOK_ROTATION_OVERLAP_S": "3600",
        },
        "webhooks_fanout": {"TABLE_NAME": platform.table_name, "DELIVERY_QUEUE_URL": queue_url},
        "webhooks_sender": {
            **common,
            "WEBHOOK_RETRY_DELAYS_S": "0,0",
            "WEBHOOK_MAX_ATTEMPTS": "3",
            "WEBHOOK_DISABLE_AFTER_FAILURES": "5",
            "WEBHOOK_TIMEOUT_MS": "2000",
        },
        "webhooks_inbound": {
            "TABLE_NAME": platform.table_name,
            "INBOX_TABLE_NAME": INBOX_TABLE,
            "INBOUND_SECRET_NAME": INBOUND_SECRET_NAME,
            "WEBHOOK_SECRET_MAX_AGE_S": "300",
        },
    }
    modules = {}
    for name, variables in env_by_function.items():
        with monkeypatch.context() as scoped:
            scoped.setenv("POWERTOOLS_SERVICE_NAME", name)
            for key, value in variables.items():
                scoped.setenv(key, value)
            if name == "webhooks_api":  # tenant-facing: the main table through the tenant-access role
                use_tenant_role(platform.table_name, scoped)
            modules[name] = load_function(name)
    yield World(
        platform=platform,
        delivery_queue_url=queue_url,
        delivery_dlq_url=dlq_url,
        api=modules["webhooks_api"],
        fanout=modules["webhooks_fanout"],
        sender=modules["webhooks_sender"],
        inbound=modules["webhooks_inbound"],
        ddb=ddb,
        sqs=sqs,
        secrets=secrets,
    )
    parameters.clear_caches()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def staff_event() -> Callable[..., dict[str, Any]]:
    from ..conftest import load_event

    def make(sample: str, *, body: Any = None, path_params: dict[str, str] | None = None, **overrides: Any) -> dict:
        event = load_event(f"webhooks_api/{sample}")
        if body is not None:
            event["body"] = body if isinstance(body, str) else json.dumps(body)
        if path_params is not None:
            event["pathParameters"] = path_params
            path = event["resource"]
            for key, value in path_params.items():
                path = path.replace("{" + key + "}", value)
            event["path"] = path
        event.update(overrides)
        return event

    return make
