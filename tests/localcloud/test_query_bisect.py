"""Parity tests for the bisected Query (``localcloud.dynamodb.speed``): on randomized data, every Query answers exactly
what moto's own ``Table.query`` answers (items, order, Count, ScannedCount, LastEvaluatedKey, errors), page by page.

Each query runs twice on the same data through the local cloud's DynamoDB API: once as served (the partition kept
sorted and bisected), once with moto's ``Table.query`` swapped back in (the whole partition sorted and walked). The
data mixes S, N and B sort keys with shared prefixes, negative and fractional numbers, large items (so pages end at
moto's 1 MB cut), and writes, overwrites and deletes between queries (so the kept order is checked after each kind of
change).
"""

from __future__ import annotations

import copy
import random
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models.table import Table

from localcloud.dynamodb import speed

S_ALPHABET = "ab#Zé😀"


@pytest.fixture
def served_sizes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many items each base-table Query handed moto (what moto then sorts and walks)."""
    sizes: list[int] = []
    current = Table.all_items

    def spy(self: Table) -> list[Any]:
        items = current(self)
        sizes.append(len(items))
        return items

    monkeypatch.setattr(Table, "all_items", spy)
    yield sizes


def _make_table(ddb: Any, range_type: str, hash_type: str = "S") -> str:
    name = f"bisect-{range_type.lower()}-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": hash_type},
            {"AttributeName": "sk", "AttributeType": range_type},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


@pytest.fixture
def bisected(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """For each Query that could bisect: whether it did (True) or left the answer to moto's path (False)."""
    taken: list[bool] = []
    current = speed._bisected

    def spy(*args: Any, **kwargs: Any) -> Any:
        items = current(*args, **kwargs)
        taken.append(items is not None)
        return items

    monkeypatch.setattr(speed, "_bisected", spy)
    yield taken


def _random_key(rng: random.Random, range_type: str) -> dict[str, Any]:
    if range_type == "S":
        return {"S": "".join(rng.choice(S_ALPHABET) for _ in range(rng.randint(1, 4)))}
    if range_type == "N":
        whole = rng.randint(-40, 40)
        return {"N": rng.choice([str(whole), f"{whole}.5", f"{whole / 8}", f"-0.{rng.randint(1, 9)}"])}
    return {"B": bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 3)))}


def _hash(hash_type: str, partition: int) -> dict[str, Any]:
    return {"S": f"P#{partition}"} if hash_type == "S" else {"B": f"P{partition}".encode()}


def _item(rng: random.Random, hash_type: str, partition: int, key: dict[str, Any], big: bool) -> dict[str, Any]:
    item = {"pk": _hash(hash_type, partition), "sk": key, "kind": {"S": rng.choice(["odd", "even"])}}
    item["n"] = {"N": str(rng.randint(0, 9))}
    if big:
        item["blob"] = {"S": "x" * rng.randint(60_000, 380_000)}
    return item


def _random_query(
    rng: random.Random, table: str, range_type: str, hash_type: str, partitions: int, known: list[dict[str, Any]]
) -> dict[str, Any]:
    def value() -> dict[str, Any]:
        return rng.choice(known) if known and rng.random() < 0.6 else _random_key(rng, range_type)

    values: dict[str, Any] = {":p": _hash(hash_type, rng.randrange(partitions + 1))}  # one partition never written
    condition = "pk = :p"
    op = rng.choice(
        ["none", "=", "<", "<=", ">", ">=", "between", "begins"] + (["begins"] if range_type == "S" else [])
    )
    if op == "between":
        low, high = sorted([value(), value()], key=_order_key) if rng.random() < 0.85 else [value(), value()]
        condition += " AND sk BETWEEN :a AND :b"
        values.update({":a": low, ":b": high})
    elif op == "begins" and range_type != "N":
        prefix = value()
        kind, raw = next(iter(prefix.items()))
        prefix = {kind: raw[: rng.randint(1, len(raw))]}
        condition += " AND begins_with(sk, :a)"
        values[":a"] = prefix
    elif op not in ("none", "begins"):
        condition += f" AND sk {op} :a"
        values[":a"] = value()
    query: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": rng.random() < 0.5,
        "ConsistentRead": True,
    }
    if rng.random() < 0.8:
        query["Limit"] = rng.choice([1, 1, 2, 3, 5, 8, 40])
    if rng.random() < 0.3:
        query["FilterExpression"] = "kind = :k"
        values[":k"] = {"S": "odd"}
    if rng.random() < 0.2:
        query["ProjectionExpression"] = "sk, kind"
    if rng.random() < 0.25:
        query["ExclusiveStartKey"] = {"pk": values[":p"], "sk": value()}
    return query


def _order_key(key: dict[str, Any]) -> Any:
    from decimal import Decimal

    kind, raw = next(iter(key.items()))
    if kind == "N":
        return Decimal(raw)
    return raw  # S: text, B: bytes (moto decodes binary values, so they sort by byte as on AWS)


def _answer(ddb: Any, query: dict[str, Any]) -> dict[str, Any]:
    try:
        response = ddb.query(**query)
    except ClientError as exc:
        return {"error": exc.response["Error"]["Code"]}
    return {key: response.get(key) for key in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")}


def _both(ddb: Any, query: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], dict[str, Any]]:
    served = _answer(ddb, query)
    with monkeypatch.context() as m:
        m.setattr(Table, "query", Table.query.__wrapped__)  # type: ignore[attr-defined]  # moto's own Query
        moto_answer = _answer(ddb, query)
    return served, moto_answer


def _pages_agree(ddb: Any, query: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> int:
    """Pages through ``query`` with both paths, comparing every page; returns how many pages."""
    pages = 0
    query = copy.deepcopy(query)
    while True:
        served, moto_answer = _both(ddb, query, monkeypatch)
        assert served == moto_answer, query
        pages += 1
        if "error" in served or not served.get("LastEvaluatedKey") or pages > 200:
            return pages
        query["ExclusiveStartKey"] = served["LastEvaluatedKey"]


@pytest.mark.parametrize(("range_type", "hash_type"), [("S", "S"), ("N", "S"), ("B", "S"), ("S", "B")])
def test_bisected_queries_answer_exactly_what_moto_answers_on_random_data(
    aws: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch, bisected: list[bool], range_type: str, hash_type: str
) -> None:
    ddb = aws("dynamodb")
    rng = random.Random(f"bisect-{range_type}-{hash_type}")  # noqa: S311 - test data, not a secret
    table = _make_table(ddb, range_type, hash_type)
    partitions = 4
    known: list[dict[str, Any]] = []
    queries = 0
    for round_ in range(4):
        # writes between rounds: new items, overwrites of existing keys, deletes (the kept order must follow them)
        for _ in range(rng.randint(15, 40)):
            partition = rng.randrange(partitions)
            roll = rng.random()
            if known and roll < 0.2:
                ddb.delete_item(TableName=table, Key={"pk": _hash(hash_type, partition), "sk": rng.choice(known)})
                continue
            key = rng.choice(known) if known and roll < 0.4 else _random_key(rng, range_type)
            big = partition == 3 and rng.random() < 0.7  # one partition of large items: pages end at the 1 MB cut
            ddb.put_item(TableName=table, Item=_item(rng, hash_type, partition, key, big))
            known.append(key)
        if round_ == 2:  # a transaction and a batch write change partitions too
            ddb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": table,
                            "Item": _item(rng, hash_type, 0, _random_key(rng, range_type), False),
                        }
                    },
                    {"Delete": {"TableName": table, "Key": {"pk": _hash(hash_type, 1), "sk": rng.choice(known)}}},
                ]
            )
            ddb.batch_write_item(
                RequestItems={
                    table: [
                        {"PutRequest": {"Item": _item(rng, hash_type, 2, _random_key(rng, range_type), False)}}
                        for _ in range(10)
                    ]
                }
            )
        for _ in range(30):
            _pages_agree(ddb, _random_query(rng, table, range_type, hash_type, partitions, known), monkeypatch)
            queries += 1
    assert queries == 120
    assert bisected.count(True) > 0.7 * len(bisected), (
        "the fast path was rarely taken: the test compared moto to itself"
    )


def test_pages_cut_at_one_megabyte_agree_with_moto(
    aws: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch, bisected: list[bool]
) -> None:
    """Items of up to ~380 KB: a page without Limit ends at moto's 1 MB cut, inside the key range or after it."""
    ddb = aws("dynamodb")
    rng = random.Random(7)  # noqa: S311 - test data, not a secret
    table = _make_table(ddb, "S")
    for i in range(24):
        item = _item(rng, "S", 0, {"S": f"V#{i:03d}"}, big=True)
        ddb.put_item(TableName=table, Item=item)
    pages = 0
    for condition, values in [
        ("pk = :p", {}),
        ("pk = :p AND sk BETWEEN :a AND :b", {":a": {"S": "V#004"}, ":b": {"S": "V#009"}}),
        ("pk = :p AND sk < :a", {":a": {"S": "V#003"}}),
        ("pk = :p AND sk > :a", {":a": {"S": "V#020"}}),
        ("pk = :p AND begins_with(sk, :a)", {":a": {"S": "V#01"}}),
    ]:
        for forward in (True, False):
            for limit in (None, 2, 3, 6):
                query: dict[str, Any] = {
                    "TableName": table,
                    "KeyConditionExpression": condition,
                    "ExpressionAttributeValues": {":p": {"S": "P#0"}, **values},
                    "ScanIndexForward": forward,
                }
                if limit:
                    query["Limit"] = limit
                pages += _pages_agree(ddb, query, monkeypatch)
    assert pages > 5 * 2 * 4  # some queries took more than one page
    assert True in bisected and False in bisected  # both: bisected pages, and pages left to moto near the cut


def test_an_as_of_read_hands_moto_two_items_not_the_whole_history(
    aws: Callable[[str], Any], served_sizes: list[int]
) -> None:
    """The temporal read: newest first, Limit 1, a range condition, on a 300-version partition."""
    ddb = aws("dynamodb")
    table = _make_table(ddb, "S")
    for i in range(300):
        ddb.put_item(TableName=table, Item={"pk": {"S": "MOVIE#1"}, "sk": {"S": f"V#{i:05d}"}, "rev": {"N": str(i)}})
    served_sizes.clear()
    for at in (0, 1, 150, 299, 400):
        response = ddb.query(
            TableName=table,
            KeyConditionExpression="pk = :p AND sk <= :t",
            ExpressionAttributeValues={":p": {"S": "MOVIE#1"}, ":t": {"S": f"V#{at:05d}"}},
            ScanIndexForward=False,
            Limit=1,
        )
        assert [item["rev"]["N"] for item in response["Items"]] == [str(min(at, 299))]
        assert ("LastEvaluatedKey" in response) == (at > 0)
    assert served_sizes and max(served_sizes) <= 2, served_sizes


def _casts(part: speed._Partition) -> list[Any]:
    order = part.order()
    assert order is not None
    return order[0]


def test_a_partition_keeps_its_order_through_copies_and_every_kind_of_change() -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    part = speed._Partition()
    for value in ("b", "d", "a"):
        part[DynamoType({"S": value})] = value
    assert part.order() is not None
    part[DynamoType({"S": "c"})] = "c"
    del part[DynamoType({"S": "d"})]
    part.pop(DynamoType({"S": "a"}))
    assert part.order() == (["b", "c"], [DynamoType({"S": "b"}), DynamoType({"S": "c"})])
    clone = copy.deepcopy(part)
    assert type(clone) is speed._Partition and dict(clone) == dict(part)
    clone[DynamoType({"S": "a"})] = "a"
    assert _casts(clone) == ["a", "b", "c"] and _casts(part) == ["b", "c"]
    part.update({DynamoType({"S": "z"}): "z"})
    part.setdefault(DynamoType({"S": "y"}), "y")
    assert _casts(part) == ["b", "c", "y", "z"]
    part[DynamoType({"N": "1"})] = "mixed"  # mixed key types: no order, moto's own path answers
    assert part.order() is None
