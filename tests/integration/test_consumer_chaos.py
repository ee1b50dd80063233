"""Chaos per consumer (issue 8, "nothing fails silently"): each consumer's logic raises an UNEXPECTED exception for one
message group or one record only. Each test asserts that the failure was recorded with its type (the function's JSON
log line, and the delivery log where there is one), that the record took the normal retry path (batchItemFailures, or
a raised error for Lambda's async retries), that on its last attempt a notification reaches the DLQ carrying its
error type, and that the other groups or records of the same batch were processed.

The webhook consumers' chaos tests are in tests/integration/webhooks/test_webhooks_chaos.py (they need that folder's
fixtures)."""

from __future__ import annotations

import copy
import json
import uuid
from types import ModuleType
from typing import Any

import boto3
import pytest

from marquee.notifications.store import NotificationStore

from .conftest import REGION, LambdaContext, Platform, load_event, load_function
from .logs import errors_of_type, json_logs
from .test_notifications import cloud, load  # noqa: F401 - the notifications world (moto + loopback providers)

TENANT = "acme-cinemas"
# What the user-visible defect raised: quiet hours stored with an offset, compared with a naive time.
DEFECT = TypeError("can't compare offset-naive and offset-aware times")


# ---- the notification channel worker (SQS FIFO) ------------------------------------------------------------------------
def _notification(customer: str, event_id: str) -> str:
    return json.dumps(
        {
            "eventId": event_id,
            "eventType": "OrderConfirmed",
            "tenantId": TENANT,
            "customerId": customer,
            "channel": "email",
            "subject": "Your tickets are confirmed",
            "body": "Enjoy the show!",
            "transactional": False,
            "occurredAt": "2026-11-22T19:30:00+00:00",
            "correlationId": event_id,
            "enqueuedAtMs": 1795375801000,
        }
    )


def _received(world: dict[str, Any], messages: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Send (customer, event id) messages to the email queue, receive them, and shape them as the mapping would."""
    sqs, url = world["sqs"], world["urls"]["email"]
    for customer, event_id in messages:
        sqs.send_message(
            QueueUrl=url,
            MessageBody=_notification(customer, event_id),
            MessageGroupId=f"{TENANT}#{customer}",
            MessageDeduplicationId=event_id,
        )
    received: list[dict[str, Any]] = []
    while len(received) < len(messages):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
        assert batch, "the queue returned fewer messages than were sent"
        received.extend(batch)
    return [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m["Attributes"],
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:marquee-notify-email.fifo",
            "awsRegion": REGION,
        }
        for m in received
    ]


def _event_id(record: dict[str, Any]) -> str:
    return str(json.loads(record["body"])["eventId"])


def _chaos_worker(monkeypatch: pytest.MonkeyPatch, poison_event: str) -> ModuleType:
    """The email worker, whose logic raises the defect's TypeError for one event only."""
    worker = load("worker")
    real = worker.deliver

    def deliver(message: Any, **kwargs: Any) -> Any:
        if message.event_id == poison_event:
            raise DEFECT
        return real(message, **kwargs)

    monkeypatch.setattr(worker, "deliver", deliver)
    return worker


def _log_of(customer: str) -> list[dict[str, Any]]:
    return [e.model_dump(by_alias=True) for e in NotificationStore("main").history(TENANT, customer)]


def test_worker_unexpected_error_is_logged_recorded_and_retried_while_other_groups_are_sent(
    cloud: dict[str, Any],  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    poison, behind, first, second = (str(uuid.uuid4()) for _ in range(4))
    worker = _chaos_worker(monkeypatch, poison)
    records = _received(
        cloud, [("cust-1", first), ("cust-poison", poison), ("cust-poison", behind), ("cust-2", second)]
    )
    ids = {_event_id(r): r["messageId"] for r in records}

    with json_logs(worker) as lines:
        response = worker.handler({"Records": records}, LambdaContext())

    # The normal retry path: the poison message and the one behind it in its group are reported failed.
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == sorted([ids[poison], ids[behind]])
    # Other customers' groups kept flowing.
    assert sorted(m["to"] for m in cloud["provider"].messages) == ["cust-1", "cust-2"]
    # Recorded: one ERROR line with the type, the message and its group, and the traceback.
    (logged,) = errors_of_type(lines, "TypeError")
    assert logged["record_id"] == ids[poison]
    assert logged["message_group"] == f"{TENANT}#cust-poison" and logged["attempt"] == 1
    assert "offset-naive" in logged["error"] and "Traceback" in logged["exception"]
    # ... counted ...
    assert "UnexpectedRecordErrors" in capsys.readouterr().out
    # ... and in the customer's delivery log, with its type.
    (entry,) = _log_of("cust-poison")
    assert (entry["status"], entry["errorType"], entry["attempt"]) == ("FAILED", "TypeError", 1)
    # Not dead-lettered yet: attempts are left.
    assert "Messages" not in cloud["sqs"].receive_message(QueueUrl=cloud["urls"]["email-dlq"])


def test_worker_unexpected_error_on_the_last_receive_reaches_the_dlq_with_its_type(
    cloud: dict[str, Any],  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    poison, behind, other = (str(uuid.uuid4()) for _ in range(3))
    worker = _chaos_worker(monkeypatch, poison)
    records = _received(cloud, [("cust-poison", poison), ("cust-poison", behind), ("cust-1", other)])
    ids = {_event_id(r): r["messageId"] for r in records}
    for record in records:  # the queue's 4th receive: MAX_RECEIVE_COUNT, the worker's last allowed attempt
        record["attributes"]["ApproximateReceiveCount"] = "4"

    with json_logs(worker) as lines:
        response = worker.handler({"Records": records}, LambdaContext())

    # Dead-lettered by the worker: the message leaves the queue, and its group goes on.
    assert response == {"batchItemFailures": []}
    assert sorted(m["to"] for m in cloud["provider"].messages) == ["cust-1", "cust-poison"]
    dead = cloud["sqs"].receive_message(
        QueueUrl=cloud["urls"]["email-dlq"], MessageAttributeNames=["All"], AttributeNames=["All"]
    )["Messages"]
    assert [_event_id({"body": m["Body"]}) for m in dead] == [poison]
    attributes = {k: v["StringValue"] for k, v in dead[0]["MessageAttributes"].items()}
    assert attributes["ErrorType"] == "TypeError" and "offset-naive" in attributes["ErrorMessage"]
    assert attributes["Attempts"] == "4"
    assert dead[0]["Attributes"]["MessageGroupId"] == f"{TENANT}#cust-poison"
    (logged,) = errors_of_type(lines, "TypeError")
    assert logged["record_id"] == ids[poison] and logged["attempt"] == 4
    statuses = {(e["eventId"], e["status"], e.get("errorType")) for e in _log_of("cust-poison")}
    assert (poison, "DEAD_LETTERED", "TypeError") in statuses
    assert (behind, "SENT", None) in statuses


# ---- the notification router (bus rule -> Lambda, async) ---------------------------------------------------------------
def test_router_unexpected_error_is_logged_and_raised_for_lambdas_retries_other_events_are_routed(
    cloud: dict[str, Any],  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    router = load("router")
    good = load_event("notifications/router_order_confirmed.json")
    bad = copy.deepcopy(good)
    bad["id"] = str(uuid.uuid4())
    bad["detail"]["id"] = str(uuid.uuid4())
    real = router.route_event

    def route_event(envelope: dict[str, Any], **kwargs: Any) -> Any:
        if envelope["id"] == bad["detail"]["id"]:
            raise RuntimeError("chaos in the router")
        return real(envelope, **kwargs)

    monkeypatch.setattr(router, "route_event", route_event)
    with json_logs(router) as lines:
        # Raised: Lambda retries the async event, then its on-failure destination records errorType/errorMessage.
        with pytest.raises(RuntimeError, match="chaos in the router"):
            router.handler(bad, LambdaContext())
        assert router.handler(good, LambdaContext())["channels"] == ["email", "sms", "push"]
    (logged,) = errors_of_type(lines, "RuntimeError")
    assert logged["record_id"] == bad["id"] and logged["event_id"] == bad["detail"]["id"]
    for channel in ("email", "sms", "push"):
        (message,) = cloud["sqs"].receive_message(QueueUrl=cloud["urls"][channel])["Messages"]
        assert json.loads(message["Body"])["eventId"] == good["detail"]["id"]


# ---- the outbox relay (DynamoDB stream) ---------------------------------------------------------------------------------
@pytest.fixture
def relay(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "outbox_relay")
    monkeypatch.setenv("EVENT_BUS_NAME", platform.event_bus_name)
    monkeypatch.setenv("EVENT_SOURCE", "marquee.booking")
    return load_function("outbox_relay")


def test_relay_unexpected_error_is_logged_and_reported_while_other_records_are_published(
    relay: ModuleType, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    tap = sqs.create_queue(QueueName="tap")["QueueUrl"]
    tap_arn = sqs.get_queue_attributes(QueueUrl=tap, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="tap", EventBusName=platform.event_bus_name, EventPattern='{"source": ["marquee.booking"]}')
    events.put_targets(Rule="tap", EventBusName=platform.event_bus_name, Targets=[{"Id": "q", "Arn": tap_arn}])
    event = load_event("outbox_relay/outbox_insert.json")
    good = event["Records"][0]
    bad = copy.deepcopy(good)
    bad["eventID"] = "d3d9446802a44259755d38e6d163e820"
    bad["dynamodb"]["SequenceNumber"] = "111100000000000000000002"
    bad["dynamodb"]["NewImage"]["pk"]["S"] = "TENANT#acme-cinemas#OUTBOX#poison"
    event["Records"] = [bad, good]  # the poison first: the stream's later records still go out
    real = relay.publish

    def publish(record: Any, **kwargs: Any) -> Any:
        if record.pk.endswith("#poison"):
            raise KeyError("chaos in the relay")
        return real(record, **kwargs)

    monkeypatch.setattr(relay, "publish", publish)
    with json_logs(relay) as lines:
        result = relay.handler(event, LambdaContext())

    # Reported from the failed record: the mapping bisects and retries from there, then its on-failure destination.
    assert result == {"batchItemFailures": [{"itemIdentifier": "111100000000000000000002"}]}
    (logged,) = errors_of_type(lines, "KeyError")
    assert logged["record_id"] == bad["eventID"] and logged["sequence"] == "111100000000000000000002"
    (message,) = sqs.receive_message(QueueUrl=tap, WaitTimeSeconds=1)["Messages"]
    assert json.loads(message["Body"])["detail"]["id"] == "7b0c1e9a-4a7e-4c51-9a55-0f7c2b4f1d10"


# ---- the audit log (bus rule -> SQS) ------------------------------------------------------------------------------------
@pytest.fixture
def audit(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName="marquee-inbox",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "audit_log")
    monkeypatch.setenv("TABLE_NAME", platform.table_name)
    monkeypatch.setenv("INBOX_TABLE_NAME", "marquee-inbox")
    monkeypatch.setenv("INBOX_TTL_DAYS", "30")
    return load_function("audit_log")


def test_audit_unexpected_error_is_logged_and_reported_while_other_events_are_appended(
    audit: ModuleType, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = load_event("audit_log/booking_event.json")
    good = event["Records"][0]
    bad = copy.deepcopy(good)
    bad["messageId"] = str(uuid.uuid4())
    body = json.loads(bad["body"])
    body["detail"]["id"] = str(uuid.uuid4())
    bad["body"] = json.dumps(body)
    event["Records"] = [bad, good]
    real = audit.append_once

    def append_once(envelope: Any, **kwargs: Any) -> bool:
        if envelope.id == body["detail"]["id"]:
            raise AttributeError("chaos in the audit log")
        return bool(real(envelope, **kwargs))

    monkeypatch.setattr(audit, "append_once", append_once)
    with json_logs(audit) as lines:
        result = audit.handler(event, LambdaContext())

    assert result == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}
    (logged,) = errors_of_type(lines, "AttributeError")
    assert logged["record_id"] == bad["messageId"] and logged["attempt"] == 1
    items = boto3.client("dynamodb", region_name=REGION).query(
        TableName=platform.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"TENANT#{TENANT}#AUDIT"}},
    )["Items"]
    assert [i["event_id"]["S"] for i in items] == [json.loads(good["body"])["detail"]["id"]]


def test_worker_unexpected_error_inside_the_send_releases_the_claim_so_the_retry_sends_at_once(
    cloud: dict[str, Any],  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    worker = load("worker")
    sender = worker.deps().sender
    real = sender.send
    calls: list[str] = []

    def send(message: Any) -> Any:
        calls.append(message.event_id)
        if len(calls) == 1:
            raise DEFECT
        return real(message)

    monkeypatch.setattr(sender, "send", send)
    (record,) = _received(cloud, [("cust-1", str(uuid.uuid4()))])
    first = worker.handler({"Records": [record]}, LambdaContext())
    assert first == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    record["attributes"]["ApproximateReceiveCount"] = "2"  # the retry, well inside the claim's lease
    assert worker.handler({"Records": [record]}, LambdaContext()) == {"batchItemFailures": []}
    assert [m["to"] for m in cloud["provider"].messages] == ["cust-1"]
    assert [e["status"] for e in reversed(_log_of("cust-1"))] == ["FAILED", "SENT"]
