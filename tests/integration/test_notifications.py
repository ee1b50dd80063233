"""Notifications in-process on moto, with the sample events: the API (preferences, bad input), the router (one FIFO
message per channel in the customer's group), and an email worker batch against a real simulated provider on loopback:
a poison message goes to the DLQ with its error while other customers' messages are sent, and a REDELIVERY of the same
batch sends nothing twice (the delivery record per (event, channel), and the provider's idempotency key)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devkit.notification_providers import NotificationProvider
from marquee.core import aws
from marquee.notifications.providers import clear_caches
from tests.integration.conftest import (
    LambdaContext,
    invoke,
    load_event,
    load_function,
    only_tenant_sessions,
    use_tenant_role,
)

API_KEY = "test-key-0123456789"


def load(module: str) -> ModuleType:
    """Import ``functions.notifications.<module>`` as a fresh cold start."""
    return load_function("notifications", module)


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    provider = NotificationProvider("email-primary", host="127.0.0.1", port=0, api_keys=lambda: frozenset({API_KEY}))
    backup = NotificationProvider("email-backup", host="127.0.0.1", port=0, api_keys=lambda: frozenset({API_KEY}))
    provider.start()
    backup.start()
    with mock_aws():
        aws.clear_clients()
        clear_caches()
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        for name in ("main", "ops"):
            ddb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                BillingMode="PAY_PER_REQUEST",
            )
        sqs = boto3.client("sqs", region_name="us-east-1")
        urls = {}
        for channel in ("email", "sms", "push"):
            for suffix in ("", "-dlq"):
                urls[f"{channel}{suffix}"] = sqs.create_queue(
                    QueueName=f"marquee-notify-{channel}{suffix}.fifo", Attributes={"FifoQueue": "true"}
                )["QueueUrl"]
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        for role, p in (("primary", provider), ("backup", backup)):
            secrets.create_secret(Name=f"email-{role}", SecretString=json.dumps({"url": p.url, "apiKey": API_KEY}))
        env = {
            "POWERTOOLS_SERVICE_NAME": "notifications",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "TABLE_NAME": "main",
            "OPS_TABLE_NAME": "ops",
            "NOTIFICATIONS_LOG_PAGE_SIZE": "50",
            "CHANNEL": "email",
            "QUEUE_URL": urls["email"],
            "DLQ_URL": urls["email-dlq"],
            "MAX_RECEIVE_COUNT": "4",
            "PRIMARY_SECRET_ID": "email-primary",
            "BACKUP_SECRET_ID": "email-backup",
            "NOTIFY_BACKOFF_BASE_S": "1",
            "NOTIFY_BACKOFF_CAP_S": "2",
            "NOTIFY_CLAIM_LEASE_MS": "10000",
            "NOTIFY_CONNECT_TIMEOUT_MS": "500",
            "NOTIFY_READ_TIMEOUT_MS": "2000",
            "NOTIFY_SECRET_MAX_AGE_S": "300",
            "BREAKER_FAILURE_THRESHOLD": "3",
            "BREAKER_WINDOW_MS": "30000",
            "BREAKER_COOLDOWN_MS": "3000",
            "BREAKER_SUCCESS_THRESHOLD": "2",
            "BREAKER_PROBE_LEASE_MS": "5000",
        }
        for channel in ("email", "sms", "push"):
            env[f"{channel.upper()}_QUEUE_URL"] = urls[channel]
            env[f"{channel.upper()}_DLQ_URL"] = urls[f"{channel}-dlq"]
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        use_tenant_role("main", monkeypatch)  # the API is tenant-facing: the main table through the tenant role
        yield {"sqs": sqs, "urls": urls, "provider": provider, "backup": backup}
        aws.clear_clients()
        clear_caches()
    provider.stop()
    backup.stop()


def test_preferences_round_trip_and_bad_input_is_a_problem(cloud: dict[str, Any]) -> None:
    api = load("api")
    put = invoke(api, load_event("notifications/put_preferences.json"))
    assert put.status == 200 and put.body["preferences"]["channels"]["sms"] is False
    got = invoke(api, load_event("notifications/get_preferences.json"))
    assert got.body["preferences"]["quietHours"] == {"start": "22:00:00", "end": "07:00:00", "timeZone": "Europe/Paris"}
    for sample, field in (
        ("put_preferences_unknown_channel.json", "fax"),
        ("put_preferences_bad_time_zone.json", "timeZone"),
    ):
        refused = invoke(api, load_event(f"notifications/{sample}"))
        assert refused.status == 422 and refused.content_type == "application/problem+json"
        assert field in {str(loc) for error in refused.body["errors"] for loc in error["loc"]}
        assert "Mars/Olympus" not in json.dumps(refused.body)  # the field is named, the value never echoed
    assert invoke(api, load_event("notifications/get_preferences.json")).body == got.body  # nothing changed


@pytest.mark.parametrize(
    "start", [5, "05:00+02:00", "5", "25:00", None, 18000.0], ids=["int", "offset", "bare", "hour-25", "null", "float"]
)
def test_quiet_hours_that_are_not_a_wall_clock_time_are_422_and_nothing_is_stored(cloud: dict[str, Any], start: Any) -> None:
    """Regression: ``quietHours.start = 5`` was stored as 00:00:05+00:00 and the channel worker then raised TypeError."""
    api = load("api")
    event = load_event("notifications/put_preferences.json")
    event["body"] = json.dumps({"quietHours": {"start": start, "end": "07:00", "timeZone": "Europe/Paris"}})
    refused = invoke(api, event)
    assert refused.status == 422
    assert [error["loc"] for error in refused.body["errors"]] == [["body", "quietHours", "start"]]
    assert invoke(api, load_event("notifications/get_preferences.json")).body["preferences"].get("quietHours") is None


def test_a_staff_message_is_202_with_a_json_string_body_and_queued_once_per_channel(cloud: dict[str, Any]) -> None:
    """Regression: the route returned a pydantic object as the body, so API Gateway answered 502 after queueing."""
    api = load("api")
    result = api.handler(load_event("notifications/staff_message.json"), LambdaContext())
    assert result["statusCode"] == 202
    assert isinstance(result["body"], str)
    assert result["multiValueHeaders"]["Content-Type"] == ["application/json"]
    body = json.loads(result["body"])
    assert body["channels"] == ["email", "push"] and body["eventId"]
    for channel, expected in (("email", 1), ("push", 1), ("sms", 0)):
        messages = cloud["sqs"].receive_message(QueueUrl=cloud["urls"][channel], MaxNumberOfMessages=10)
        assert len(messages.get("Messages", [])) == expected, channel


def test_the_api_reaches_the_table_only_through_the_tenant_session(
    cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Challenge 19: preferences and the delivery log go through the tenant-access role's session for the caller's
    tenant, never through the function's own role (which has no table access on AWS)."""
    api = load("api")
    with only_tenant_sessions(monkeypatch, "main") as opened:
        assert invoke(api, load_event("notifications/put_preferences.json")).status == 200
        assert invoke(api, load_event("notifications/get_preferences.json")).status == 200
    claims = load_event("notifications/get_preferences.json")["requestContext"]["authorizer"]["claims"]
    assert opened and set(opened) == {claims["custom:tenant_id"]}


def test_the_router_puts_one_message_per_channel_in_the_customers_group(cloud: dict[str, Any]) -> None:
    router = load("router")
    event = load_event("notifications/router_order_confirmed.json")
    result = router.handler(event, LambdaContext())
    assert result["channels"] == ["email", "sms", "push"]
    for channel in ("email", "sms", "push"):
        messages = cloud["sqs"].receive_message(QueueUrl=cloud["urls"][channel], AttributeNames=["All"])["Messages"]
        assert messages[0]["Attributes"]["MessageGroupId"] == "acme-cinemas#cust-1"
        assert messages[0]["Attributes"]["MessageDeduplicationId"] == event["detail"]["id"]
        assert json.loads(messages[0]["Body"])["channel"] == channel


def test_a_staff_message_over_256_kib_is_refused_and_nothing_is_queued(cloud: dict[str, Any]) -> None:
    api = load("api")
    event = load_event("notifications/staff_message.json")
    event["body"] = json.dumps({"customerId": "c", "subject": "s", "body": "x" * (257 * 1024)})
    refused = invoke(api, event)
    assert refused.status == 413 and refused.body["type"] == "urn:marquee:problem:message-too-large"
    assert "Messages" not in cloud["sqs"].receive_message(QueueUrl=cloud["urls"]["email"])


def test_poison_goes_to_the_dlq_other_groups_are_sent_and_a_redelivery_sends_nothing_twice(
    cloud: dict[str, Any],
) -> None:
    worker = load("worker")
    batch = load_event("notifications/worker_email_batch.json")
    assert worker.handler(batch, LambdaContext()) == {"batchItemFailures": []}
    sent = cloud["provider"].messages
    assert sorted(m["to"] for m in sent) == ["cust-1", "cust-2"]
    dead = cloud["sqs"].receive_message(
        QueueUrl=cloud["urls"]["email-dlq"], MessageAttributeNames=["All"], AttributeNames=["All"]
    )["Messages"]
    assert [m["Body"] for m in dead] == ["{not json"]
    assert dead[0]["MessageAttributes"]["ErrorType"]["StringValue"] == "ValidationError"
    assert dead[0]["Attributes"]["MessageGroupId"] == "acme-cinemas#cust-poison"

    # Redeliver the same batch (a visibility timeout that ran out, a replay): nothing is sent again.
    redelivered = {
        "Records": [dict(r, attributes={**r["attributes"], "ApproximateReceiveCount": "2"}) for r in batch["Records"]]
    }
    assert worker.handler(redelivered, LambdaContext()) == {"batchItemFailures": []}
    assert len(cloud["provider"].messages) == 2 and cloud["provider"].replays == 0  # not even asked again
    api = load("api")
    log = invoke(api, load_event("notifications/tenant_notifications.json")).body["items"]
    assert sorted(e["status"] for e in log if e["customerId"] == "cust-1") == ["DUPLICATE", "SENT"]


def test_primary_down_fails_over_and_both_down_is_retried_with_backoff(cloud: dict[str, Any]) -> None:
    worker = load("worker")
    batch = load_event("notifications/worker_email_batch.json")
    records = [batch["Records"][0]]
    cloud["provider"].stop()
    assert worker.handler({"Records": records}, LambdaContext()) == {"batchItemFailures": []}
    assert [m["to"] for m in cloud["backup"].messages] == ["cust-1"]
    cloud["backup"].stop()
    other = dict(records[0], messageId="m-9", body=records[0]["body"].replace("3f0c9a52", "aaaaaaaa"))
    sent_copy = cloud["sqs"].send_message(
        QueueUrl=cloud["urls"]["email"],
        MessageBody=other["body"],
        MessageGroupId="acme-cinemas#cust-1",
        MessageDeduplicationId="x",
    )
    received = cloud["sqs"].receive_message(QueueUrl=cloud["urls"]["email"])["Messages"][0]
    assert received["MessageId"] == sent_copy["MessageId"]
    other = dict(other, messageId=received["MessageId"], receiptHandle=received["ReceiptHandle"])
    response = worker.handler({"Records": [other]}, LambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": received["MessageId"]}]}
