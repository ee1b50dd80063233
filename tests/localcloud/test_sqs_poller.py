"""Parity tests of the SQS event source mapping poller. Each docstring states the AWS behaviour it mirrors.

Handlers print ``SEEN <json>`` lines; the tests read them back from CloudWatch Logs.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest

from localcloud.sqs.poller import SqsPoller
from tests import waiting
from tests.localcloud.conftest import log_messages

RECORDER = """
import json, time
def handler(event, context):
    for r in event["Records"]:
        count = int(r["attributes"]["ApproximateReceiveCount"])
        entry = {"body": r["body"], "count": count, "t": time.time(), "batch": len(event["Records"])}
        print("SEEN " + json.dumps({**entry, "rid": context.aws_request_id, "record": r}))
    return {}
"""


wait_for = partial(waiting.wait_for, timeout=15.0, interval=0.1)


def seen(aws: Callable[[str], Any], name: str) -> list[dict[str, Any]]:
    """What the handler printed with ``SEEN``, in the order it printed it."""
    try:
        lines = log_messages(aws, name)
    except aws("logs").exceptions.ResourceNotFoundException:
        return []
    entries = [json.loads(m[5:]) for m in lines if m.startswith("SEEN ")]
    return sorted(entries, key=lambda e: e.get("t", 0))


def make_queue(
    aws: Callable[[str], Any],
    *,
    fifo: bool = False,
    dlq_arn: str | None = None,
    max_receives: int = 2,
    **attributes: str,
) -> tuple[str, str]:
    name = f"q-{uuid.uuid4().hex[:10]}" + (".fifo" if fifo else "")
    attrs = {"VisibilityTimeout": "2", **attributes}
    if fifo:
        attrs["FifoQueue"] = "true"
    if dlq_arn:
        attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)})
    url = aws("sqs").create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    arn = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def queue_depth(aws: Callable[[str], Any], url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attrs = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attrs[n]) for n in names)


@pytest.fixture
def mapping(aws: Callable[[str], Any]) -> Iterator[Callable[..., str]]:
    """mapping(queue_arn, function, **config) creates an event source mapping, deleted after the test."""
    created: list[str] = []

    def make(source_arn: str, function: str, **config: Any) -> str:
        uuid_ = aws("lambda").create_event_source_mapping(EventSourceArn=source_arn, FunctionName=function, **config)[
            "UUID"
        ]
        created.append(uuid_)
        return str(uuid_)

    yield make
    for uuid_ in created:
        aws("lambda").delete_event_source_mapping(UUID=uuid_)


@pytest.fixture
def sqs_poller(cloud: Any) -> Iterator[SqsPoller]:
    """The local cloud's own SQS poller; resumed after the test if the test paused it."""
    poller = cloud.component(SqsPoller)
    yield poller
    poller.start()


def test_batch_reaches_the_function_as_a_lambda_sqs_event_and_is_deleted(
    aws: Callable[[str], Any], make_function: Any, mapping: Any
) -> None:
    """AWS: Lambda polls the queue and invokes with {"Records": [...]} (messageId, receiptHandle, body, attributes,
    messageAttributes in lowercase shape, md5OfBody, eventSource aws:sqs, eventSourceARN, awsRegion); a successful
    invocation deletes the batch."""
    url, arn = make_queue(aws)
    aws("sqs").send_message(
        QueueUrl=url,
        MessageBody="hello",
        MessageAttributes={
            "tenant": {"DataType": "String", "StringValue": "t-1"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    name = make_function(RECORDER)
    mapping(arn, name, BatchSize=10)
    record = wait_for(lambda: seen(aws, name))[0]["record"]
    assert record["body"] == "hello"
    assert record["md5OfBody"] == hashlib.md5(b"hello").hexdigest()  # noqa: S324 - SQS's own checksum
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["tenant"] == {
        "stringValue": "t-1",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AAE="
    assert record["receiptHandle"] and record["messageId"]
    wait_for(lambda: queue_depth(aws, url) == 0)


def test_batching_window_collects_messages_into_one_batch(
    aws: Callable[[str], Any], make_function: Any, mapping: Any
) -> None:
    """AWS: with MaximumBatchingWindowInSeconds, Lambda keeps gathering records until the batch is full or the
    window ends, then invokes once. (AWS advises a visibility timeout above the window plus the function time.)"""
    url, arn = make_queue(aws, VisibilityTimeout="10")
    name = make_function(RECORDER)
    mapping(arn, name, BatchSize=10, MaximumBatchingWindowInSeconds=2)
    time.sleep(0.5)  # the mapping is being picked up; the window starts at the first message
    for i in range(3):
        aws("sqs").send_message(QueueUrl=url, MessageBody=f"m{i}")
        time.sleep(0.3)
    entries = wait_for(lambda: [e for e in seen(aws, name)] if len(seen(aws, name)) >= 3 else None)
    assert [e["body"] for e in entries] == ["m0", "m1", "m2"]
    assert {e["batch"] for e in entries} == {3}


def test_batch_size_caps_each_invocation(aws: Callable[[str], Any], make_function: Any, mapping: Any) -> None:
    """AWS: an invocation carries at most BatchSize records."""
    url, arn = make_queue(aws)
    aws("sqs").send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(5)])
    name = make_function(RECORDER)
    mapping(arn, name, BatchSize=2)
    entries = wait_for(lambda: seen(aws, name) if len(seen(aws, name)) >= 5 else None)
    assert sorted(e["body"] for e in entries) == [f"m{i}" for i in range(5)]
    assert max(e["batch"] for e in entries) <= 2


def test_function_error_leaves_the_batch_until_the_visibility_timeout(
    aws: Callable[[str], Any], make_function: Any, mapping: Any
) -> None:
    """AWS: when the function fails, the messages are not deleted; they become visible again only after the
    queue's visibility timeout, with a higher ApproximateReceiveCount."""
    url, arn = make_queue(aws, VisibilityTimeout="2")
    source = RECORDER.replace(
        "    return {}",
        "    if event['Records'][0]['attributes']['ApproximateReceiveCount'] == '1':\n"
        "        raise RuntimeError('first try fails')\n    return {}",
    )
    name = make_function(source)
    aws("sqs").send_message(QueueUrl=url, MessageBody="retry-me")
    mapping(arn, name, BatchSize=1)
    first, second = wait_for(lambda: seen(aws, name) if len(seen(aws, name)) >= 2 else None)[:2]
    assert (first["count"], second["count"]) == (1, 2)
    assert second["t"] - first["t"] >= 1.5  # not redelivered while the message is invisible
    wait_for(lambda: queue_depth(aws, url) == 0)


def test_partial_batch_failure_deletes_the_rest_and_redrives_the_failed_message_to_the_dlq(
    aws: Callable[[str], Any], make_function: Any, mapping: Any
) -> None:
    """AWS: with ReportBatchItemFailures, only the reported messages stay in the queue; after maxReceiveCount
    receives, SQS moves the message to the dead-letter queue. Its batch-mates are processed once."""
    dlq_url, dlq_arn = make_queue(aws)
    url, arn = make_queue(aws, dlq_arn=dlq_arn, max_receives=2, VisibilityTimeout="2")
    source = RECORDER.replace(
        "    return {}",
        "    failed = [r['messageId'] for r in event['Records'] if r['body'] == 'poison']\n"
        "    return {'batchItemFailures': [{'itemIdentifier': i} for i in failed]}",
    )
    name = make_function(source)
    aws("sqs").send_message_batch(QueueUrl=url, Entries=[{"Id": b, "MessageBody": b} for b in ("a", "poison", "b")])
    mapping(arn, name, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])
    dead = wait_for(lambda: aws("sqs").receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages"), timeout=20)
    assert [m["Body"] for m in dead] == ["poison"]
    counts: dict[str, list[int]] = {}
    for entry in seen(aws, name):
        counts.setdefault(entry["body"], []).append(entry["count"])
    assert counts == {"a": [1], "b": [1], "poison": [1, 2]}
    assert queue_depth(aws, url) == 0


def test_an_unknown_batch_item_failure_identifier_fails_the_whole_batch(
    aws: Callable[[str], Any], make_function: Any, mapping: Any
) -> None:
    """AWS: an itemIdentifier that is not a message of the batch makes Lambda treat the batch as a complete failure."""
    url, arn = make_queue(aws, VisibilityTimeout="2")
    source = RECORDER.replace(
        "    return {}",
        "    if event['Records'][0]['attributes']['ApproximateReceiveCount'] == '1':\n"
        "        return {'batchItemFailures': [{'itemIdentifier': 'not-a-message-of-this-batch'}]}\n"
        "    return {'batchItemFailures': []}",
    )
    name = make_function(source)
    aws("sqs").send_message_batch(QueueUrl=url, Entries=[{"Id": b, "MessageBody": b} for b in ("x", "y")])
    mapping(arn, name, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])
    wait_for(lambda: queue_depth(aws, url) == 0, timeout=20)
    counts = sorted((e["body"], e["count"]) for e in seen(aws, name))
    assert counts == [("x", 1), ("x", 2), ("y", 1), ("y", 2)]


def test_fifo_group_is_processed_strictly_in_order_across_a_failure(
    aws: Callable[[str], Any], make_function: Any, mapping: Any
) -> None:
    """AWS: messages of one FIFO group are delivered in order, and none is delivered while earlier ones of its
    group are in flight: a failed batch comes back first, in its original order."""
    url, arn = make_queue(aws, fifo=True, VisibilityTimeout="1")
    source = RECORDER.replace(
        "    return {}",
        "    counts = {r['body']: r['attributes']['ApproximateReceiveCount'] for r in event['Records']}\n"
        "    if counts.get('m2') == '1':\n"
        "        raise RuntimeError('m2 fails once')\n    return {}",
    )
    name = make_function(source)
    for i in range(1, 6):
        aws("sqs").send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g1", MessageDeduplicationId=f"m{i}")
    mapping(arn, name, BatchSize=2)
    wait_for(lambda: queue_depth(aws, url) == 0, timeout=20)
    invocations: list[list[tuple[str, int]]] = []
    last_rid = ""
    for entry in seen(aws, name):
        if not invocations or entry["rid"] != last_rid:
            invocations.append([])
        invocations[-1].append((entry["body"], entry["count"]))
        last_rid = entry["rid"]
    failed = [inv for inv in invocations if ("m2", 1) in inv]
    succeeded = [body for inv in invocations if inv not in failed for body, _ in inv]
    assert len(failed) == 1
    assert succeeded == ["m1", "m2", "m3", "m4", "m5"], invocations  # the failed batch came back first, in order
    assert invocations.index(failed[0]) == 0


def test_a_poison_fifo_group_does_not_block_another_group(
    aws: Callable[[str], Any], make_function: Any, mapping: Any
) -> None:
    """AWS: FIFO ordering is per message group; a group whose message keeps failing does not hold up other groups,
    which are processed in parallel and in their own order."""
    url, arn = make_queue(aws, fifo=True, VisibilityTimeout="1")
    source = RECORDER.replace(
        "    return {}",
        "    if event['Records'][0]['body'].startswith('bad'):\n        raise RuntimeError('poison')\n    return {}",
    )
    name = make_function(source)
    aws("sqs").send_message(QueueUrl=url, MessageBody="bad-1", MessageGroupId="bad", MessageDeduplicationId="bad-1")
    for i in range(1, 4):
        aws("sqs").send_message(
            QueueUrl=url, MessageBody=f"good-{i}", MessageGroupId="good", MessageDeduplicationId=f"good-{i}"
        )
    mapping(arn, name, BatchSize=1)
    entries = wait_for(
        lambda: (lambda s: s if sum(e["body"].startswith("good") for e in s) >= 3 else None)(seen(aws, name))
    )
    assert [e["body"] for e in entries if e["body"].startswith("good")] == ["good-1", "good-2", "good-3"]
    assert queue_depth(aws, url) == 1  # only the poison message is left


def test_throttled_batches_stay_in_the_queue_and_are_retried(
    aws: Callable[[str], Any], make_function: Any, mapping: Any
) -> None:
    """AWS: when the function is throttled (reserved concurrency), the messages return to the queue after their
    visibility timeout and are delivered later; nothing is lost."""
    url, arn = make_queue(aws, VisibilityTimeout="1")
    name = make_function(RECORDER.replace("    return {}", "    time.sleep(0.3)\n    return {}"))
    aws("lambda").put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    aws("sqs").send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(4)])
    mapping(arn, name, BatchSize=1)
    wait_for(lambda: queue_depth(aws, url) == 0, timeout=25)
    entries = seen(aws, name)
    assert sorted(e["body"] for e in entries) == ["m0", "m1", "m2", "m3"]  # each processed once
    assert max(e["count"] for e in entries) >= 2  # some were throttled and came back


def test_mappings_created_enabled_disabled_and_deleted_at_run_time_are_picked_up(
    aws: Callable[[str], Any], make_function: Any, mapping: Any
) -> None:
    """AWS: a disabled mapping does not poll; enabling it starts delivery; a deleted mapping stops."""
    url, arn = make_queue(aws)
    name = make_function(RECORDER)
    esm = mapping(arn, name, BatchSize=1, Enabled=False)
    aws("sqs").send_message(QueueUrl=url, MessageBody="waits")
    time.sleep(1.0)
    assert queue_depth(aws, url) == 1
    aws("lambda").update_event_source_mapping(UUID=esm, Enabled=True)
    wait_for(lambda: queue_depth(aws, url) == 0)
    aws("lambda").delete_event_source_mapping(UUID=esm)
    time.sleep(1.0)
    aws("sqs").send_message(QueueUrl=url, MessageBody="stays")
    time.sleep(1.0)
    assert queue_depth(aws, url) == 1
    assert [e["body"] for e in seen(aws, name)] == ["waits"]


def test_drain_waits_for_the_in_flight_batch_and_loses_nothing(
    aws: Callable[[str], Any], make_function: Any, mapping: Any, sqs_poller: SqsPoller
) -> None:
    """AWS (SIGTERM on the local cloud): no new batches are received; the in-flight batch finishes and is deleted;
    messages sent meanwhile wait in the queue and are delivered after the restart."""
    url, arn = make_queue(aws, VisibilityTimeout="5")
    name = make_function(RECORDER.replace("    return {}", "    time.sleep(1.0)\n    print('DONE')\n    return {}"))
    mapping(arn, name, BatchSize=1)
    aws("sqs").send_message(QueueUrl=url, MessageBody="in-flight")
    wait_for(lambda: seen(aws, name))
    sqs_poller.stop_accepting()
    aws("sqs").send_message(QueueUrl=url, MessageBody="after-stop")
    assert sqs_poller.drain(time.monotonic() + 8) is True
    assert "DONE" in log_messages(aws, name)
    attrs = aws("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) == ("1", "0")
    sqs_poller.start()
    wait_for(lambda: queue_depth(aws, url) == 0)
    assert [e["body"] for e in seen(aws, name)] == ["in-flight", "after-stop"]


def test_drain_deadline_passes_and_the_unfinished_message_becomes_visible_again(
    aws: Callable[[str], Any], make_function: Any, mapping: Any, sqs_poller: SqsPoller
) -> None:
    """AWS: a batch still running when the poller stops is not acknowledged; its message reappears after the
    visibility timeout (at-least-once), so nothing is lost."""
    url, arn = make_queue(aws, VisibilityTimeout="2")
    name = make_function(RECORDER.replace("    return {}", "    time.sleep(2.5)\n    print('DONE')\n    return {}"))
    mapping(arn, name, BatchSize=1)
    aws("sqs").send_message(QueueUrl=url, MessageBody="slow")
    wait_for(lambda: seen(aws, name))
    sqs_poller.stop_accepting()
    assert sqs_poller.drain(time.monotonic() + 0.3) is False
    wait_for(lambda: "DONE" in log_messages(aws, name))  # the function finished after the deadline
    again = wait_for(
        lambda: (
            aws("sqs")
            .receive_message(QueueUrl=url, WaitTimeSeconds=1, MessageSystemAttributeNames=["All"])
            .get("Messages")
        )
    )
    assert again[0]["Body"] == "slow"
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    aws("sqs").delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])


def test_an_idle_fifo_queue_is_short_polled_less_and_less_often_down_to_four_times_a_second() -> None:
    """moto's long poll spins while a message group is blocked, so FIFO queues are short-polled; an empty queue backs
    off (doubling from the poll interval up to 250 ms) instead of costing the server 20 requests/s per queue."""
    from localcloud.sqs.poller import fifo_idle_wait

    assert [fifo_idle_wait(0.05, n) for n in range(1, 7)] == [0.05, 0.1, 0.2, 0.25, 0.25, 0.25]
    assert fifo_idle_wait(0.0, 1) == 0.01  # never a busy loop
