"""Chaos for the webhook consumers (issue 8, "nothing fails silently"): the sender's and the fan-out's logic raise an
UNEXPECTED exception for one delivery or one event only. The failure is logged with its type, written to the
delivery's attempt log (sender), takes the normal retry path (batchItemFailures, then the queue's DLQ), and the other
records of the batch go through."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest

from marquee.webhooks.models import DeliveryStatus

from ..conftest import LambdaContext, load_event
from ..logs import errors_of_type, json_logs
from .conftest import World
from .receiver import Receiver
from .test_webhooks_integration import TENANT, create, deliveries, publish, send_pending


def test_sender_unexpected_error_is_recorded_on_the_delivery_retried_then_dead_lettered_others_are_sent(
    world: World, staff_event: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = create(world, staff_event, receiver.url)["endpointId"]
    healthy = create(world, staff_event, receiver.url)["endpointId"]
    real = world.sender.deliver

    def deliver(message: Any, **kwargs: Any) -> Any:
        if message.endpoint_id == broken:
            raise ZeroDivisionError("chaos in the sender")
        return real(message, **kwargs)

    monkeypatch.setattr(world.sender, "deliver", deliver)
    assert publish(world) == {"batchItemFailures": []}

    with json_logs(world.sender) as lines:
        first = send_pending(world)
    (failed,) = first["batchItemFailures"]
    assert len(receiver.received) == 1  # the healthy endpoint's delivery went out
    (healthy_delivery,) = deliveries(world, staff_event, healthy)
    assert healthy_delivery["status"] == "SUCCEEDED"
    (logged,) = errors_of_type(lines, "ZeroDivisionError")
    assert logged["record_id"] == failed["itemIdentifier"] and logged["attempt"] == 1
    assert logged["endpoint_id"] == broken

    send_pending(world)
    send_pending(world)  # receive 3 of WEBHOOK_MAX_ATTEMPTS = maxReceiveCount = 3: EXHAUSTED
    (view,) = deliveries(world, staff_event, broken)
    delivery = world.sender.store.get_delivery(TENANT, broken, view["deliveryId"])
    assert delivery.delivery_status is DeliveryStatus.EXHAUSTED
    assert [a.error_type for a in delivery.attempts] == ["ZeroDivisionError"] * 3
    assert view["attempts"][0]["error"] == "ZeroDivisionError: chaos in the sender"
    assert world.drain_delivery_queue() == []  # the 4th receive moved it to the DLQ
    (dead,) = world.sqs.receive_message(QueueUrl=world.delivery_dlq_url)["Messages"]
    assert json.loads(dead["Body"])["endpointId"] == broken


def test_fanout_unexpected_error_is_logged_and_reported_while_other_events_are_fanned_out(
    world: World, staff_event: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    create(world, staff_event, receiver.url)
    event = load_event("webhooks_fanout/booking_event.json")
    good = event["Records"][0]
    bad = copy.deepcopy(good)
    bad["messageId"] = str(uuid.uuid4())
    body = json.loads(bad["body"])
    body["detail"]["id"] = str(uuid.uuid4())
    bad["body"] = json.dumps(body)
    event["Records"] = [bad, good]
    real = world.fanout.fan_out

    def fan_out(envelope: Any, *args: Any, **kwargs: Any) -> int:
        if envelope.id == body["detail"]["id"]:
            raise LookupError("chaos in the fan-out")
        return int(real(envelope, *args, **kwargs))

    monkeypatch.setattr(world.fanout, "fan_out", fan_out)
    with json_logs(world.fanout) as lines:
        result = world.fanout.handler(event, LambdaContext())

    assert result == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}
    (logged,) = errors_of_type(lines, "LookupError")
    assert logged["record_id"] == bad["messageId"] and logged["error"] == "chaos in the fan-out"
    (queued,) = world.drain_delivery_queue()  # the other event's delivery
    assert json.loads(queued["Body"])["tenantId"] == TENANT
