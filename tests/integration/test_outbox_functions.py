"""The outbox relay and the audit log in-process on moto, with the sample events of events/outbox_relay and
events/audit_log: publish with a FailedEntryCount check and partial batch failures; append once per event id."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any
from unittest import mock

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from .conftest import REGION, LambdaContext, Platform, load_event, load_function


@pytest.fixture
def inbox(platform: Platform) -> str:
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName="marquee-inbox",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return "marquee-inbox"


@pytest.fixture
def relay(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "outbox_relay")
    monkeypatch.setenv("EVENT_BUS_NAME", platform.event_bus_name)
    monkeypatch.setenv("EVENT_SOURCE", "marquee.booking")
    return load_function("outbox_relay")


@pytest.fixture
def audit(platform: Platform, inbox: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "audit_log")
    monkeypatch.setenv("TABLE_NAME", platform.table_name)
    monkeypatch.setenv("INBOX_TABLE_NAME", inbox)
    monkeypatch.setenv("INBOX_TTL_DAYS", "30")
    return load_function("audit_log")


def test_relay_publishes_the_envelope_with_its_type_and_source(relay: ModuleType, platform: Platform) -> None:
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="tap", EventBusName=platform.event_bus_name, EventPattern=json.dumps({"source": ["marquee.booking"]})
    )
    events.put_targets(Rule="tap", EventBusName=platform.event_bus_name, Targets=[{"Id": "q", "Arn": arn}])
    result = relay.handler(load_event("outbox_relay/outbox_insert.json"), LambdaContext())
    assert result == {"batchItemFailures": []}
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    body = json.loads(message["Body"])
    assert body["source"] == "marquee.booking" and body["detail-type"] == "HoldCreated"
    assert body["detail"]["id"] == "7b0c1e9a-4a7e-4c51-9a55-0f7c2b4f1d10"


def test_relay_reports_a_refused_entry_as_a_batch_item_failure(relay: ModuleType) -> None:
    accepted = {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]}
    refused = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]}
    fake = mock.Mock()
    fake.put_events.side_effect = [accepted, refused]
    event = load_event("outbox_relay/outbox_insert.json")
    second = json.loads(json.dumps(event["Records"][0]))
    second["dynamodb"]["SequenceNumber"] = "111100000000000000000002"
    event["Records"].append(second)
    with mock.patch("marquee.core.aws.events", return_value=fake):
        result = relay.handler(event, LambdaContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": "111100000000000000000002"}]}


def test_relay_fails_the_invocation_when_every_entry_is_refused(relay: ModuleType) -> None:
    fake = mock.Mock()
    fake.put_events.return_value = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "ThrottlingException"}]}
    with mock.patch("marquee.core.aws.events", return_value=fake), pytest.raises(BatchProcessingError):
        relay.handler(load_event("outbox_relay/outbox_insert.json"), LambdaContext())


def _audit(platform: Platform) -> list[dict[str, Any]]:
    ddb = boto3.client("dynamodb", region_name=REGION)
    return ddb.query(
        TableName=platform.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "TENANT#acme-cinemas#AUDIT"}},
    )["Items"]


def test_audit_appends_an_event_once_however_often_it_is_delivered(audit: ModuleType, platform: Platform) -> None:
    event = load_event("audit_log/booking_event.json")
    for _ in range(3):
        assert audit.handler(event, LambdaContext()) == {"batchItemFailures": []}
    (entry,) = _audit(platform)
    assert entry["type"]["S"] == "HoldCreated"
    assert json.loads(entry["envelope"]["S"])["data"]["holdId"] == "hld_0123456789abcdef0123"


def test_audit_reports_an_unparseable_message_and_keeps_the_rest(audit: ModuleType, platform: Platform) -> None:
    event = load_event("audit_log/booking_event.json")
    bad = {**event["Records"][0], "messageId": "bad-1", "body": "{not json"}
    event["Records"].append(bad)
    assert audit.handler(event, LambdaContext()) == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}
    assert len(_audit(platform)) == 1
