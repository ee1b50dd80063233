"""Parity tests: DynamoDB conditional writes and transactions stay atomic under concurrent callers.

AWS: a conditional write is atomic per item, and TransactWriteItems is all-or-nothing and serializable with other
writes; a cancelled transaction reports one CancellationReason per item (ALL_OLD items on request)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError


def _table(aws: Callable[[str], Any]) -> str:
    name = f"atom-{uuid.uuid4().hex[:8]}"
    aws("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return name


def test_concurrent_transactions_for_one_item_have_exactly_one_winner_and_lose_no_write(
    aws: Callable[[str], Any], endpoint: str
) -> None:
    from localcloud.aws import local_client

    table = _table(aws)
    aws("dynamodb").put_item(TableName=table, Item={"pk": {"S": "seat"}})

    def racer(i: int) -> bool:
        client = local_client("dynamodb", endpoint)
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"pk": {"S": "seat"}},
                            "ConditionExpression": "attribute_not_exists(holder)",
                            "UpdateExpression": "SET holder = :me",
                            "ExpressionAttributeValues": {":me": {"S": str(i)}},
                        }
                    },
                    {"Put": {"TableName": table, "Item": {"pk": {"S": f"hold-{i}"}}}},
                ]
            )
            return True
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "TransactionCanceledException"
            return False

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(racer, range(64)))
    assert results.count(True) == 1
    winner = str(results.index(True))
    items = aws("dynamodb").scan(TableName=table)["Items"]
    assert [i for i in items if i["pk"]["S"] == "seat"][0]["holder"]["S"] == winner
    assert sorted(i["pk"]["S"] for i in items if i["pk"]["S"].startswith("hold-")) == [f"hold-{winner}"]


def test_a_cancelled_transaction_writes_nothing_and_reports_each_item(aws: Callable[[str], Any]) -> None:
    table = _table(aws)
    ddb = aws("dynamodb")
    ddb.put_item(TableName=table, Item={"pk": {"S": "b"}, "v": {"S": "old"}})
    try:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "a"}}}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": "b"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )
    except ClientError as exc:
        reasons = exc.response["CancellationReasons"]
    else:
        raise AssertionError("the transaction should have been cancelled")
    assert reasons[0]["Code"] == "None"
    assert reasons[1]["Code"] == "ConditionalCheckFailed" and reasons[1]["Item"]["v"] == {"S": "old"}
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})
