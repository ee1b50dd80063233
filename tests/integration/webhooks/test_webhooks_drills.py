"""Drill 1 of design questions 3 and 4 for the webhook fan-out (docs/design/03-exactly-once.md): every event delivered
THREE times in shuffled order, with the sender running between deliveries, so that a duplicate meets its delivery
both while it is still PENDING (fan-out enqueues it again) and after it was sent. The receiver gets each event once:
one delivery id per (endpoint, event), and one HTTP request for it."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import pytest

from .conftest import World
from .receiver import Receiver
from .test_webhooks_integration import create, deliveries, publish, send_pending

COPIES = 3
EVENTS = 5


def queued(world: World) -> bool:
    attributes = world.sqs.get_queue_attributes(
        QueueUrl=world.delivery_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return attributes["ApproximateNumberOfMessages"] != "0"


@pytest.mark.parametrize("seed", [0, 1])
def test_each_event_three_times_shuffled_reaches_the_receiver_once(
    world: World, staff_event: Any, receiver: Receiver, seed: int
) -> None:
    created = create(world, staff_event, receiver.url)
    ids = [str(uuid.uuid4()) for _ in range(EVENTS)]
    order = [event_id for event_id in ids for _ in range(COPIES)]
    rng = random.Random(seed)  # noqa: S311 - a test order, not a secret
    rng.shuffle(order)
    for event_id in order:
        assert publish(world, event_id=event_id) == {"batchItemFailures": []}
        if rng.random() < 0.5 and queued(world):
            send_pending(world)  # sometimes the sender runs before the next duplicate arrives
    while queued(world):
        send_pending(world)

    received = [json.loads(r.body)["id"] for r in receiver.received]
    assert sorted(received) == sorted(ids), f"{len(received)} requests for {len(ids)} events"
    assert len({r.headers["webhook-id"] for r in receiver.received}) == EVENTS
    assert len(deliveries(world, staff_event, created["endpointId"])) == EVENTS
