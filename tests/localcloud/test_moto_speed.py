"""Parity tests for ``localcloud.dynamodb.speed``: the same Query answers as AWS documents, at the cost of one partition.

AWS: a Query reads the items of one partition key, in sort-key order (reversed with ScanIndexForward=false); key
conditions narrow the sort-key range; Limit caps the items *evaluated*, FilterExpression then drops items from that
page, and LastEvaluatedKey/ExclusiveStartKey page through. A partition that does not exist is an empty answer.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto.dynamodb.models.table import Table

PARTITIONS = 6
PER_PARTITION = 25


@pytest.fixture(scope="module")
def table(aws: Callable[[str], Any]) -> str:
    name = f"speed-{uuid.uuid4().hex[:8]}"
    ddb = aws("dynamodb")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for p in range(PARTITIONS):
        for i in reversed(range(PER_PARTITION)):  # written out of order: the answer's order is the sort key's
            item = {
                "pk": {"S": f"T#{p}"},
                "sk": {"S": f"SEAT#{i:03d}"},
                "n": {"N": str(i)},
                "kind": {"S": "odd" if i % 2 else "even"},
            }
            ddb.put_item(TableName=name, Item=item)
    return name


@pytest.fixture
def all_items_sizes(table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many items each ``Table.all_items`` call on the test table returned (what moto's Query then sorts)."""
    sizes: list[int] = []
    current = Table.all_items

    def spy(self: Table) -> list[Any]:
        items = current(self)
        if self.name == table:
            sizes.append(len(items))
        return items

    monkeypatch.setattr(Table, "all_items", spy)
    yield sizes


def _sks(response: dict[str, Any]) -> list[str]:
    return [item["sk"]["S"] for item in response["Items"]]


def test_a_query_returns_its_partition_in_sort_key_order_and_reads_only_that_partition(
    aws: Callable[[str], Any], table: str, all_items_sizes: list[int]
) -> None:
    response = aws("dynamodb").query(
        TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "T#3"}}
    )
    assert _sks(response) == [f"SEAT#{i:03d}" for i in range(PER_PARTITION)]
    assert {item["pk"]["S"] for item in response["Items"]} == {"T#3"}
    assert response["Count"] == response["ScannedCount"] == PER_PARTITION
    assert all_items_sizes and set(all_items_sizes) == {PER_PARTITION}, "the query sorted more than its partition"


def test_sort_key_conditions_reverse_order_filters_and_projections_behave_as_on_aws(
    aws: Callable[[str], Any], table: str
) -> None:
    ddb = aws("dynamodb")
    between = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
        ExpressionAttributeValues={":p": {"S": "T#1"}, ":a": {"S": "SEAT#005"}, ":b": {"S": "SEAT#009"}},
        ScanIndexForward=False,
    )
    assert _sks(between) == ["SEAT#009", "SEAT#008", "SEAT#007", "SEAT#006", "SEAT#005"]
    prefix = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
        ExpressionAttributeValues={":p": {"S": "T#1"}, ":s": {"S": "SEAT#01"}},
    )
    assert _sks(prefix) == [f"SEAT#{i:03d}" for i in range(10, 20)]
    filtered = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        FilterExpression="kind = :k",
        ExpressionAttributeValues={":p": {"S": "T#2"}, ":k": {"S": "odd"}},
        ProjectionExpression="sk",
    )
    assert _sks(filtered) == [f"SEAT#{i:03d}" for i in range(1, PER_PARTITION, 2)]
    assert filtered["ScannedCount"] == PER_PARTITION and all(set(item) == {"sk"} for item in filtered["Items"])
    counted = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "T#2"}},
        Select="COUNT",
    )
    assert counted["Count"] == PER_PARTITION and "Items" not in counted


def test_limit_and_exclusive_start_key_page_through_the_partition(aws: Callable[[str], Any], table: str) -> None:
    ddb = aws("dynamodb")
    pages: list[list[str]] = []
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :p",
        "FilterExpression": "kind = :k",
        "ExpressionAttributeValues": {":p": {"S": "T#4"}, ":k": {"S": "even"}},
        "Limit": 4,
    }
    while True:
        page = ddb.query(**kwargs)
        pages.append(_sks(page))
        if "LastEvaluatedKey" not in page:
            break
        assert page["LastEvaluatedKey"]["pk"] == {"S": "T#4"}
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert pages[0] == ["SEAT#000", "SEAT#002"]  # Limit counts the 4 evaluated items, the filter keeps 2 of them
    assert [sk for page in pages for sk in page] == [f"SEAT#{i:03d}" for i in range(0, PER_PARTITION, 2)]


def test_a_missing_partition_is_an_empty_answer_and_creates_nothing(
    aws: Callable[[str], Any], table: str, all_items_sizes: list[int]
) -> None:
    ddb = aws("dynamodb")
    response = ddb.query(
        TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "T#none"}}
    )
    assert response["Items"] == [] and response["Count"] == 0
    assert set(all_items_sizes) == {0}
    assert ddb.describe_table(TableName=table)["Table"]["ItemCount"] == PARTITIONS * PER_PARTITION
    assert len(ddb.scan(TableName=table)["Items"]) == PARTITIONS * PER_PARTITION


def test_a_number_keyed_table_and_an_index_query_still_answer_correctly(aws: Callable[[str], Any]) -> None:
    """Key types other than S/B and index queries are left to moto's own path: they must keep working."""
    ddb = aws("dynamodb")
    name = f"speed-n-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "N"},
            {"AttributeName": "at", "AttributeType": "N"},
            {"AttributeName": "owner", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-owner",
                "KeySchema": [
                    {"AttributeName": "owner", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(6):
        ddb.put_item(
            TableName=name, Item={"id": {"N": str(i % 2)}, "at": {"N": str(10 - i)}, "owner": {"S": f"o{i % 3}"}}
        )
    by_id = ddb.query(TableName=name, KeyConditionExpression="id = :i", ExpressionAttributeValues={":i": {"N": "1.0"}})
    assert [item["at"]["N"] for item in by_id["Items"]] == ["5", "7", "9"]
    by_owner = ddb.query(
        TableName=name,
        IndexName="by-owner",
        KeyConditionExpression="#o = :o",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":o": {"S": "o0"}},
    )
    assert [item["at"]["N"] for item in by_owner["Items"]] == ["7", "10"]


def test_each_request_no_longer_lists_motos_modules(aws: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The host → service answer is remembered: after the first request, routing lists nothing on disk."""
    from moto import backends

    calls: list[int] = []
    current = backends.list_of_moto_modules

    def spy() -> Any:
        calls.append(1)
        return current()

    monkeypatch.setattr(backends, "list_of_moto_modules", spy)
    sqs = aws("sqs")
    sqs.list_queues()
    before = len(calls)
    for _ in range(20):
        sqs.list_queues()
    assert len(calls) == before


def test_attribute_values_of_every_type_are_written_exactly_as_moto_writes_them(
    aws: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DynamoDB API reference, AttributeValue: S, N, B, SS, NS, BS, M, L, NULL and BOOL, nested. The serializer's
    shortcut (only the members a value has) must answer byte for byte what moto's full walk answers."""
    from moto.core.serialize import AttributePicker, BaseJSONSerializer

    ddb = aws("dynamodb")
    name = f"serialize-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {
        "pk": {"S": "every-type"},
        "n": {"N": "-12.50"},
        "b": {"B": b"\x00\xffbytes"},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": [b"x", b"y"]},
        "null": {"NULL": True},
        "bool": {"BOOL": False},
        "m": {"M": {"inner": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"BOOL": True}}}]}, "e": {"S": ""}}},
        "l": {"L": []},
    }
    ddb.put_item(TableName=name, Item=item)

    def read() -> dict[str, Any]:
        got = ddb.get_item(TableName=name, Key={"pk": {"S": "every-type"}})["Item"]
        queried = ddb.query(
            TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "every-type"}}
        )["Items"]
        return {"get": got, "query": queried}

    picks = [0]
    picker = AttributePicker.__call__

    def counted(self: AttributePicker, context: Any) -> Any:
        picks[0] += 1
        return picker(self, context)

    monkeypatch.setattr(AttributePicker, "__call__", counted)
    shortcut = read()
    # 24 attribute values in the item, read twice: moto tried all ten members of each (about 480 picks)
    assert picks[0] < 150, f"{picks[0]} attribute picks: every member of every value was tried"
    original = BaseJSONSerializer._serialize_type_structure.__wrapped__  # type: ignore[attr-defined]
    monkeypatch.setattr(BaseJSONSerializer, "_serialize_type_structure", original)
    assert read() == shortcut
    assert shortcut["get"] == item


def test_a_json_template_is_read_as_json_and_a_yaml_one_still_as_yaml(
    aws: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CloudFormation User Guide, "Template formats": a template is JSON or YAML. moto read both with PyYAML's
    pure-Python loader; a JSON template (what the CDK synthesizes) is now read as JSON, and a YAML one with its short
    form tags as before."""
    import yaml

    loads = [0]
    load = yaml.load

    def counted(*args: Any, **kwargs: Any) -> Any:
        loads[0] += 1
        return load(*args, **kwargs)

    monkeypatch.setattr(yaml, "load", counted)
    cfn = aws("cloudformation")
    json_stack, yaml_stack = (f"fmt-{uuid.uuid4().hex[:6]}" for _ in range(2))
    template = {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"Url": {"Value": {"Ref": "Q"}}}}
    cfn.create_stack(StackName=json_stack, TemplateBody=json.dumps(template))
    assert loads[0] == 0, "a JSON template went through PyYAML"
    yaml_body = "Resources:\n  Q:\n    Type: AWS::SQS::Queue\nOutputs:\n  Url:\n    Value: !Ref Q\n"
    cfn.create_stack(StackName=yaml_stack, TemplateBody=yaml_body)
    assert loads[0] > 0
    for name in (json_stack, yaml_stack):
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        assert stack["Outputs"][0]["OutputValue"].startswith("http://localhost:")  # the queue's URL on this cloud
