"""Parity tests for ``localcloud.sqs.speed``: a send costs the same however deep the queue, and answers as AWS does.

AWS (SQS Developer Guide, "Amazon SQS FIFO queue message deduplication" and the SendMessage / GetQueueAttributes API
reference): a FIFO send with content-based deduplication inside the 5-minute interval is accepted and not delivered
twice; GetQueueAttributes reports ApproximateNumberOfMessages, ...NotVisible (in flight) and ...Delayed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto.sqs.models import Message

DEPTH = 300


@pytest.fixture
def visible_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many times moto evaluated a message's visibility (what the ApproximateNumberOf* scans do per message)."""
    reads = [0]
    current = Message.visible.fget

    def spy(message: Message) -> bool:
        reads[0] += 1
        return current(message)  # type: ignore[misc,no-any-return]

    monkeypatch.setattr(Message, "visible", property(spy))
    yield reads


def _fifo_queue(aws: Callable[[str], Any]) -> str:
    url: str = aws("sqs").create_queue(
        QueueName=f"speed-{uuid.uuid4().hex[:8]}.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    return url


def test_a_fifo_send_into_a_deep_queue_does_not_scan_its_messages(
    aws: Callable[[str], Any], visible_reads: list[int]
) -> None:
    sqs = aws("sqs")
    url = _fifo_queue(aws)
    for start in range(0, DEPTH, 10):
        entries = [{"Id": str(i), "MessageBody": f"m{i}", "MessageGroupId": f"g{i % 7}"} for i in range(start, start + 10)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)

    visible_reads[0] = 0
    sqs.send_message(QueueUrl=url, MessageBody="one more", MessageGroupId="g1")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "batched", "MessageGroupId": "g2"}])

    # moto computed three counts per read of queue.attributes, several reads per send: ~4 x 3 x 300 visibility reads.
    assert visible_reads[0] < 10, f"a send still scanned the queue: {visible_reads[0]} visibility reads"


def test_counts_dedup_and_in_flight_still_answer_as_on_aws(aws: Callable[[str], Any]) -> None:
    sqs = aws("sqs")
    url = _fifo_queue(aws)
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId=f"g{i}")
    duplicate = sqs.send_message(QueueUrl=url, MessageBody="m0", MessageGroupId="g0")  # same body: deduplicated
    assert duplicate["MessageId"]  # accepted, as AWS does, and not enqueued twice

    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=30)["Messages"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == str(5 - len(received))
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == str(len(received))
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "0"
    assert attributes["ContentBasedDeduplication"] == "true"


def test_delays_and_sent_timestamps_follow_the_wall_clock(aws: Callable[[str], Any]) -> None:
    sqs = aws("sqs")
    url = aws("sqs").create_queue(QueueName=f"speed-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    before = time.time() * 1000
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=30)
    sqs.send_message(QueueUrl=url, MessageBody="now")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    assert attributes["ApproximateNumberOfMessages"] == "1"
    message = sqs.receive_message(QueueUrl=url, AttributeNames=["SentTimestamp"])["Messages"][0]
    assert message["Body"] == "now"
    assert before - 5 <= int(message["Attributes"]["SentTimestamp"]) <= time.time() * 1000 + 5
