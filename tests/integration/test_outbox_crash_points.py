"""Drill 2 of design question 3 (docs/design/03-exactly-once.md): the producer and the relay die at each crash point
around the outbox, and no event is lost or invented. In-process on moto:

- the producer dies right BEFORE TransactWriteItems: nothing committed, no stream record, no event (no phantom);
- the producer dies right AFTER TransactWriteItems committed (before it could answer, let alone publish): the stream
  has the outbox INSERT, the relay publishes it, the audit log records it: the event arrives;
- the relay dies right after PutEvents, before its batch is checkpointed: the mapping hands it the same batch again,
  the event is published twice, and the audit log's inbox keeps one entry.

"Dies" is a BaseException raised inside botocore's call path (``ProcessKilled``): no ``except Exception`` in the code
under test can catch it, as none could catch a SIGKILL. tests/e2e/test_outbox.py kills real worker processes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient

from marquee.booking import seats
from marquee.tenancy.tenant import TenantContext

from .conftest import REGION, LambdaContext, Platform
from .test_outbox_functions import audit, inbox, relay  # noqa: F401 - their fixtures

TENANT = TenantContext(tenant_id="acme-cinemas", user_id="crash-sub")
SHOWTIME = "sht_crash"


class ProcessKilled(BaseException):  # noqa: N818 - it stands for a signal, not an error
    """The process died here."""


@contextmanager
def dies(operation: str, *, after: bool) -> Iterator[None]:
    """Make the first ``operation`` call die, before it is sent or after its answer came back."""
    real = BaseClient._make_api_call  # noqa: SLF001 - the one place every boto3 call goes through
    fired = []

    def call(self: BaseClient, name: str, params: dict[str, Any]) -> Any:
        if name != operation or fired:
            return real(self, name, params)
        fired.append(name)
        if not after:
            raise ProcessKilled(f"killed before {name}")
        real(self, name, params)
        raise ProcessKilled(f"killed after {name} returned")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", call)
        yield
    assert fired, f"{operation} was never called"


@pytest.fixture
def world(platform: Platform) -> dict[str, Any]:
    ddb = boto3.client("dynamodb", region_name=REGION)
    for seat in ("A1", "A2"):
        ddb.put_item(TableName=platform.table_name, Item=seats.seat_item(TENANT, SHOWTIME, seat, available=True))
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="audit-tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=REGION)
    events.put_rule(
        Name="audit", EventBusName=platform.event_bus_name, EventPattern=json.dumps({"source": ["marquee.booking"]})
    )
    events.put_targets(Rule="audit", EventBusName=platform.event_bus_name, Targets=[{"Id": "q", "Arn": arn}])
    return {"ddb": ddb, "sqs": sqs, "url": url, "table": platform.table_name, "seen": set()}


def outbox_batch(world: dict[str, Any]) -> dict[str, Any]:
    """The outbox INSERTs committed since the last call, shaped as the relay's stream mapping delivers them (its
    filter: INSERT of sk = OUTBOX). moto's DescribeStream answers 404 in the pinned version, so the records are built
    from the committed items (NewImage = the item, as the stream carries it); the deployed drill reads the real
    stream (tests/e2e/test_outbox.py)."""
    items = [
        i
        for i in world["ddb"].scan(TableName=world["table"])["Items"]
        if i["sk"]["S"] == "OUTBOX" and i["pk"]["S"] not in world["seen"]
    ]
    records = []
    for n, item in enumerate(items):
        world["seen"].add(item["pk"]["S"])
        records.append(
            {
                "eventID": f"crash-{len(world['seen'])}-{n}",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "eventSourceARN": f"arn:aws:dynamodb:{REGION}:123456789012:table/{world['table']}/stream/1",
                "dynamodb": {
                    "Keys": {"pk": item["pk"], "sk": item["sk"]},
                    "NewImage": item,
                    "SequenceNumber": str(100 + len(world["seen"])),
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            }
        )
    return {"Records": records}


def _as_eventbridge_sends_it(body: str) -> str:
    """moto's bus-to-queue delivery leaves out fields EventBridge always sends (``account``, ``region``...)."""
    event = json.loads(body)
    for key, value in (("version", "0"), ("account", "123456789012"), ("region", REGION), ("resources", [])):
        event.setdefault(key, value)
    return json.dumps(event)


def deliver_to_audit(world: dict[str, Any], audit_log: ModuleType) -> int:
    """Whatever the bus put in the audit queue, handed to the audit function; how many messages."""
    messages = world["sqs"].receive_message(QueueUrl=world["url"], MaxNumberOfMessages=10).get("Messages", [])
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": _as_eventbridge_sends_it(m["Body"]),
            "attributes": {},
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:audit",
            "awsRegion": REGION,
        }
        for m in messages
    ]
    if records:
        assert audit_log.handler({"Records": records}, LambdaContext()) == {"batchItemFailures": []}
    return len(records)


def audited(world: dict[str, Any]) -> list[str]:
    items = world["ddb"].query(
        TableName=world["table"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "TENANT#acme-cinemas#AUDIT"}},
    )["Items"]
    return [i["type"]["S"] for i in items]


def hold(world: dict[str, Any]) -> seats.Hold:
    return seats.create_hold(TENANT, showtime_id=SHOWTIME, seat_ids=["A1"], lease_seconds=60, table_name=world["table"])


def test_a_producer_killed_before_its_transaction_leaves_no_change_and_no_event(world: dict[str, Any]) -> None:
    with dies("TransactWriteItems", after=False), pytest.raises(ProcessKilled):
        hold(world)
    assert outbox_batch(world)["Records"] == []
    seat = world["ddb"].get_item(TableName=world["table"], Key=seats.seat_key(TENANT, SHOWTIME, "A1"))["Item"]
    assert "holder" not in seat


def test_a_producer_killed_right_after_its_transaction_committed_still_gets_its_event_out(
    world: dict[str, Any],
    relay: ModuleType,  # noqa: F811 - the fixture imported above
    audit: ModuleType,  # noqa: F811
) -> None:
    with dies("TransactWriteItems", after=True), pytest.raises(ProcessKilled):
        hold(world)  # the caller never got an answer; nothing was published by the producer (it never publishes)
    batch = outbox_batch(world)
    assert len(batch["Records"]) == 1
    assert relay.handler(batch, LambdaContext()) == {"batchItemFailures": []}
    assert deliver_to_audit(world, audit) == 1
    assert audited(world) == ["HoldCreated"]


def test_a_relay_killed_after_put_events_publishes_again_and_the_inbox_keeps_one(
    world: dict[str, Any],
    relay: ModuleType,  # noqa: F811 - the fixture imported above
    audit: ModuleType,  # noqa: F811
) -> None:
    hold(world)
    batch = outbox_batch(world)
    with dies("PutEvents", after=True), pytest.raises(ProcessKilled):
        relay.handler(batch, LambdaContext())  # published, but the batch was never reported done
    assert relay.handler(batch, LambdaContext()) == {"batchItemFailures": []}  # the mapping's retry: same batch
    assert deliver_to_audit(world, audit) == 2  # the event went out twice ...
    assert audited(world) == ["HoldCreated"]  # ... and was recorded once
