"""Parity tests of the DynamoDB Streams event source mapping poller.

Each docstring states the AWS behaviour it mirrors."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from localcloud.lambda_.event_sources import RecordFilter
from tests.localcloud import test_sqs_poller
from tests.localcloud.test_sqs_poller import seen, wait_for

mapping = test_sqs_poller.mapping  # the fixture: event source mappings deleted after each test

STREAM_RECORDER = """
import json, time
def handler(event, context):
    keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
    print("SEEN " + json.dumps({"keys": keys, "t": time.time(), "records": event["Records"]}))
    if "poison" in keys:
        raise RuntimeError("poison record")
    return {}
"""


def make_table(aws: Callable[[str], Any], view: str = "NEW_AND_OLD_IMAGES") -> tuple[str, str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    table = aws("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
    )
    return name, table["TableDescription"]["LatestStreamArn"]


def put(aws: Callable[[str], Any], table: str, pk: str, **attributes: str) -> None:
    item = {"pk": {"S": pk}, **{k: {"S": v} for k, v in attributes.items()}}
    aws("dynamodb").put_item(TableName=table, Item=item)


def make_queue(aws: Callable[[str], Any]) -> tuple[str, str]:
    url = aws("sqs").create_queue(QueueName=f"dest-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    return url, aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def batches(aws: Callable[[str], Any], name: str) -> list[list[str]]:
    return [entry["keys"] for entry in seen(aws, name)]


def test_stream_records_reach_the_function_in_order_with_the_lambda_dynamodb_shape(
    aws: Callable[[str], Any], make_function: Any, mapping: Any
) -> None:
    """AWS: with StartingPosition TRIM_HORIZON, Lambda reads the stream from its oldest record, in order, and invokes
    with Records carrying eventID, eventName, eventVersion, eventSource aws:dynamodb, awsRegion, eventSourceARN and
    dynamodb {Keys, NewImage, OldImage, SequenceNumber, SizeBytes, StreamViewType}."""
    table, stream_arn = make_table(aws)
    put(aws, table, "a", status="new")
    put(aws, table, "a", status="paid")
    aws("dynamodb").delete_item(TableName=table, Key={"pk": {"S": "a"}})
    name = make_function(STREAM_RECORDER)
    mapping(stream_arn, name, StartingPosition="TRIM_HORIZON", BatchSize=10)
    records = wait_for(
        lambda: (
            [r for e in seen(aws, name) for r in e["records"]]
            if sum(len(e["keys"]) for e in seen(aws, name)) >= 3
            else None
        )
    )
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = records
    assert insert["eventSource"] == "aws:dynamodb"
    assert insert["eventSourceARN"] == stream_arn
    assert insert["awsRegion"] == "us-east-1"
    assert insert["eventVersion"] == "1.1"
    assert insert["eventID"] and insert["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert insert["dynamodb"]["Keys"] == {"pk": {"S": "a"}}
    assert insert["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "status": {"S": "new"}}
    assert "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["status"] == {"S": "new"} and modify["dynamodb"]["NewImage"]["status"] == {
        "S": "paid"
    }
    assert "NewImage" not in remove["dynamodb"]
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence) and all(r["dynamodb"]["SizeBytes"] > 0 for r in records)


def test_latest_starts_after_the_mapping_is_created(
    aws: Callable[[str], Any], make_function: Any, mapping: Any
) -> None:
    """AWS: StartingPosition LATEST delivers only records written after the mapping was created."""
    table, stream_arn = make_table(aws)
    put(aws, table, "before")
    name = make_function(STREAM_RECORDER)
    mapping(stream_arn, name, StartingPosition="LATEST", BatchSize=10)
    put(aws, table, "after")
    wait_for(lambda: seen(aws, name))
    put(aws, table, "later")
    wait_for(lambda: sum(len(b) for b in batches(aws, name)) >= 2)
    assert [k for b in batches(aws, name) for k in b] == ["after", "later"]


def test_filter_criteria_drop_records_that_do_not_match(
    aws: Callable[[str], Any], make_function: Any, mapping: Any
) -> None:
    """AWS: with FilterCriteria, only records matching one of the patterns reach the function; the others are
    dropped and the shard moves past them."""
    table, stream_arn = make_table(aws)
    name = make_function(STREAM_RECORDER)
    patterns = [
        {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["paid"]}}}},
        {"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "vip-"}]}}}},
    ]
    mapping(
        stream_arn,
        name,
        StartingPosition="TRIM_HORIZON",
        BatchSize=1,
        FilterCriteria={"Filters": [{"Pattern": json.dumps(p)} for p in patterns]},
    )
    put(aws, table, "o1", status="pending")
    put(aws, table, "o2", status="paid")
    put(aws, table, "o1", status="paid")  # a MODIFY: the first pattern wants INSERTs
    put(aws, table, "vip-1", status="pending")
    put(aws, table, "o3", status="paid")
    put(aws, table, "o4", status="pending")
    put(aws, table, "vip-2")
    wait_for(lambda: ["vip-2"] in batches(aws, name))  # the shard is in order: everything before was decided
    assert [k for b in batches(aws, name) for k in b] == ["o2", "vip-1", "o3", "vip-2"]


def test_records_the_filter_drops_do_not_count_towards_the_batch_size(
    aws: Callable[[str], Any], make_function: Any, mapping: Any
) -> None:
    """AWS: Lambda filters before it batches, so BatchSize counts the records that match: three matches among twelve
    records with BatchSize 3 are one invocation of three records, not four invocations of whatever matched among
    each three records read."""
    table, stream_arn = make_table(aws)
    for index in range(12):
        put(aws, table, f"k{index}", status="paid" if index % 4 == 3 else "pending")
    name = make_function(STREAM_RECORDER)
    mapping(
        stream_arn,
        name,
        StartingPosition="TRIM_HORIZON",
        BatchSize=3,
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"dynamodb": {"NewImage": {"status": {"S": ["paid"]}}}})}]},
    )
    wait_for(lambda: sum(len(b) for b in batches(aws, name)) >= 3)
    assert batches(aws, name) == [["k3", "k7", "k11"]]


def test_filter_patterns_follow_lambda_event_filtering_rules() -> None:
    """AWS Lambda event filtering: exact values, prefix, numeric ranges, exists, anything-but; Filters are ORed."""
    record = {"body": {"amount": 150, "currency": "EUR", "tenant": "t-42", "note": None}}

    def matches(*patterns: dict[str, Any]) -> bool:
        return RecordFilter({"Filters": [{"Pattern": json.dumps(p)} for p in patterns]}).matches(record)

    assert matches({"body": {"currency": ["EUR", "USD"]}})
    assert not matches({"body": {"currency": ["GBP"]}})
    assert matches({"body": {"tenant": [{"prefix": "t-"}]}})
    assert matches({"body": {"amount": [{"numeric": [">", 100, "<=", 200]}]}})
    assert not matches({"body": {"amount": [{"numeric": ["<", 100]}]}})
    assert matches({"body": {"missing": [{"exists": False}]}}) and not matches(
        {"body": {"tenant": [{"exists": False}]}}
    )
    assert matches({"body": {"currency": [{"anything-but": ["GBP"]}]}})
    assert not matches({"body": {"currency": [{"anything-but": ["EUR"]}]}})
    assert matches({"body": {"note": [None]}})
    assert matches({"body": {"currency": ["GBP"]}}, {"body": {"amount": [150]}})  # Filters are ORed
    assert RecordFilter(None).matches(record)


def test_bisect_isolates_the_poison_record_and_its_failure_record_reaches_the_destination(
    aws: Callable[[str], Any], make_function: Any, mapping: Any
) -> None:
    """AWS: with BisectBatchOnFunctionError, a failing batch is split in halves that are retried separately, so the
    good records are processed and the poison record ends alone; when its retries are exhausted, the on-failure
    destination gets Lambda's stream failure record (requestContext.condition RetryAttemptsExhausted,
    DDBStreamBatchInfo) and the shard moves on."""
    table, stream_arn = make_table(aws)
    dest_url, dest_arn = make_queue(aws)
    for key in ("a", "b", "poison", "c"):
        put(aws, table, key)
    name = make_function(STREAM_RECORDER)
    mapping(
        stream_arn,
        name,
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": dest_arn}},
    )
    message = wait_for(lambda: aws("sqs").receive_message(QueueUrl=dest_url, WaitTimeSeconds=1).get("Messages"))[0]
    wait_for(lambda: ["c"] in batches(aws, name))
    assert batches(aws, name) == [["a", "b", "poison", "c"], ["a", "b"], ["poison", "c"], ["poison"], ["c"]]
    failure = json.loads(message["Body"])
    poison_sequence = next(
        r for e in seen(aws, name) for r in e["records"] if r["dynamodb"]["Keys"]["pk"]["S"] == "poison"
    )["dynamodb"]["SequenceNumber"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 1
    assert failure["requestContext"]["functionArn"].endswith(f":function:{name}")
    assert failure["responseContext"]["functionError"] == "Unhandled"
    info = failure["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        poison_sequence,
        poison_sequence,
        1,
    )
    assert info["streamArn"] == stream_arn and info["shardId"].startswith("shardId-")


def test_retries_up_to_maximum_retry_attempts_then_the_shard_moves_on(
    aws: Callable[[str], Any], make_function: Any, mapping: Any
) -> None:
    """AWS: without bisecting, a failing batch is retried MaximumRetryAttempts times (1 + retries invocations), then
    sent to the on-failure destination; records after it are processed."""
    table, stream_arn = make_table(aws)
    dest_url, dest_arn = make_queue(aws)
    name = make_function(STREAM_RECORDER)
    mapping(
        stream_arn,
        name,
        StartingPosition="TRIM_HORIZON",
        BatchSize=1,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": dest_arn}},
    )
    put(aws, table, "poison")
    put(aws, table, "next")
    wait_for(lambda: ["next"] in batches(aws, name))
    assert batches(aws, name) == [["poison"]] * 3 + [["next"]]
    failure = json.loads(
        wait_for(lambda: aws("sqs").receive_message(QueueUrl=dest_url, WaitTimeSeconds=1).get("Messages"))[0]["Body"]
    )
    assert failure["requestContext"]["approximateInvokeCount"] == 3


def test_report_batch_item_failures_checkpoints_at_the_lowest_failed_sequence_number(
    aws: Callable[[str], Any], make_function: Any, mapping: Any
) -> None:
    """AWS: with ReportBatchItemFailures on a stream, Lambda retries from the lowest reported sequence number; the
    records before it are not delivered again."""
    table, stream_arn = make_table(aws)
    for key in ("a", "b", "c", "d"):
        put(aws, table, key)
    source = STREAM_RECORDER.replace(
        "    return {}",
        "    if len(event['Records']) == 4:\n"
        "        failed = [r['dynamodb']['SequenceNumber'] for r in event['Records'][2:][::-1]]\n"
        "        return {'batchItemFailures': [{'itemIdentifier': s} for s in failed]}\n"
        "    return {'batchItemFailures': []}",
    )
    name = make_function(source)
    mapping(
        stream_arn,
        name,
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    wait_for(lambda: len(batches(aws, name)) >= 2)
    assert batches(aws, name) == [["a", "b", "c", "d"], ["c", "d"]]
