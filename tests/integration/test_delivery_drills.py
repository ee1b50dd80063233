"""Drill 1 of design questions 3 and 4 (docs/design/03-exactly-once.md, 04-ordering-and-duplicates.md): every event
delivered THREE times, in shuffled order, across several batches, to the real consumer handlers on moto. Each event has
exactly one effect per consumer:
- the audit log: one audit entry per event (the inbox entry, in the same transaction);
- the notifications router and email worker: one FIFO message per event (deduplication id = event id), one message at
  the provider; and when the duplicates come back with OTHER deduplication ids (past SQS's 5-minute window), the
  delivery record answers DUPLICATE and the provider is not asked again.
The webhook fan-out's drill is in tests/integration/webhooks/test_webhooks_drills.py (its folder's fixtures); the
projector's (duplicates and shuffles, three seeds, older versions ignored) is
tests/integration/test_projections.py::test_duplicates_and_shuffled_deliveries_build_the_same_read_models."""

from __future__ import annotations

import copy
import json
import random
import uuid
from types import ModuleType
from typing import Any

import boto3
import pytest

from .conftest import REGION, LambdaContext, Platform, load_event
from .test_notifications import cloud, load  # noqa: F401 - the notifications world (moto + loopback providers)
from .test_outbox_functions import audit, inbox  # noqa: F401 - the audit log's fixtures

COPIES = 3
EVENTS = 12


def shuffled_copies(items: list[Any], seed: int) -> list[Any]:
    deliveries = [copy.deepcopy(item) for item in items for _ in range(COPIES)]
    random.Random(seed).shuffle(deliveries)  # noqa: S311 - a test order, not a secret
    return deliveries


def batches(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# ---- the audit log (bus -> SQS standard queue -> function, inbox dedupe) ------------------------------------------------
def _audit_record(event_id: str, n: int) -> dict[str, Any]:
    record = copy.deepcopy(load_event("audit_log/booking_event.json")["Records"][0])
    body = json.loads(record["body"])
    body["detail"]["id"] = event_id
    body["detail"]["occurredAt"] = f"2026-12-05T10:00:{n:02d}Z"
    record["body"] = json.dumps(body)
    return record


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_audit_log_appends_each_event_once_when_each_comes_three_times_shuffled(
    audit: ModuleType,  # noqa: F811 - the fixture imported above
    platform: Platform,
    seed: int,
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(EVENTS)]
    deliveries = shuffled_copies([_audit_record(event_id, n) for n, event_id in enumerate(ids)], seed)
    for number, batch in enumerate(batches(deliveries, 10)):
        for index, record in enumerate(batch):
            record["messageId"] = f"m-{number}-{index}"  # each delivery is its own SQS message
        assert audit.handler({"Records": batch}, LambdaContext()) == {"batchItemFailures": []}
    entries = boto3.client("dynamodb", region_name=REGION).query(
        TableName=platform.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "TENANT#acme-cinemas#AUDIT"}},
    )["Items"]
    assert sorted(e["event_id"]["S"] for e in entries) == sorted(ids)  # 36 deliveries, 12 entries


# ---- notifications (bus -> router -> FIFO per channel -> worker -> provider) ---------------------------------------------
def _bus_event(event_id: str, customer: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("notifications/router_order_confirmed.json"))
    event["detail"]["id"] = event_id
    event["detail"]["data"]["customerId"] = customer
    return event


def _worker_records(world: dict[str, Any]) -> list[dict[str, Any]]:
    """Everything the email queue holds now, shaped as the event source mapping delivers it."""
    sqs, url = world["sqs"], world["urls"]["email"]
    received: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages"):
        received += batch
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


def test_notifications_send_each_event_once_when_each_comes_three_times_shuffled(
    cloud: dict[str, Any],  # noqa: F811 - the fixture imported above
) -> None:
    router, worker = load("router"), load("worker")
    events = [_bus_event(str(uuid.uuid4()), f"cust-{n % 3}") for n in range(6)]
    ids = {e["detail"]["id"] for e in events}
    for event in shuffled_copies(events, seed=7):  # the bus delivers to the router at least once
        router.handler(event, LambdaContext())

    records = _worker_records(cloud)
    assert sorted(json.loads(r["body"])["eventId"] for r in records) == sorted(ids)  # FIFO dedup: one per event
    assert worker.handler({"Records": records}, LambdaContext()) == {"batchItemFailures": []}
    assert sorted(m["key"].split(":")[0] for m in cloud["provider"].messages) == sorted(ids)
    for record in records:  # the event source mapping deletes a batch that succeeded
        cloud["sqs"].delete_message(QueueUrl=cloud["urls"]["email"], ReceiptHandle=record["receiptHandle"])

    # The same events again, each 3 times, now with other deduplication ids (a replay after SQS's 5-minute window,
    # a DLQ redrive): the queue lets them through, the delivery record stops them.
    sqs, url = cloud["sqs"], cloud["urls"]["email"]
    for record in shuffled_copies(records, seed=8):
        sqs.send_message(
            QueueUrl=url,
            MessageBody=record["body"],
            MessageGroupId=record["attributes"]["MessageGroupId"],
            MessageDeduplicationId=str(uuid.uuid4()),
        )
    replayed = 0
    while records := _worker_records(cloud):  # a FIFO group's next messages come once the ones before are deleted
        assert worker.handler({"Records": records}, LambdaContext()) == {"batchItemFailures": []}
        for record in records:
            cloud["sqs"].delete_message(QueueUrl=cloud["urls"]["email"], ReceiptHandle=record["receiptHandle"])
        replayed += len(records)
    assert replayed == COPIES * len(ids)
    assert len(cloud["provider"].messages) == len(ids) and cloud["provider"].replays == 0  # not even asked again
