"""DynamoDB Query cost on moto, with and without ``localcloud.dynamodb.speed``, side by side in one run.

moto's own ``Table.query`` sorts every item of the table before keeping one partition, so its cost grows with the
table; the patch hands it the partition. Same process, same tables, same queries: only the patch is switched.
Run alone with ``python -m bench.moto_query``; `make bench` includes it.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

SIZES = (1_000, 10_000, 30_000)
PARTITION = 20  # items per partition (a showtime's holds, a tenant's orders...)
QUERIES = 50


def _fill(ddb: Any, table: str, start: int, stop: int) -> None:
    for first in range(start, stop, 25):
        requests = [
            {"PutRequest": {"Item": {"pk": {"S": f"P#{i // PARTITION}"}, "sk": {"S": f"I#{i:08d}"}, "v": {"N": "1"}}}}
            for i in range(first, min(stop, first + 25))
        ]
        ddb.batch_write_item(RequestItems={table: requests})


def _p50_ms(ddb: Any, table: str, items: int) -> float:
    samples = []
    partitions = items // PARTITION
    for n in range(QUERIES):
        started = time.perf_counter()
        answer = ddb.query(
            TableName=table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": f"P#{(n * 7919) % partitions}"}},
        )
        samples.append(time.perf_counter() - started)
        assert answer["Count"] == PARTITION
    return statistics.median(samples) * 1000


def moto_query_cost() -> dict[str, Any]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    import boto3
    from moto import mock_aws
    from moto.dynamodb.models.table import Table

    from localcloud.dynamodb import speed as moto_speed

    plain = (Table.query, Table.all_items)
    moto_speed.install_query()
    patched = (Table.query, Table.all_items)
    rows = []
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="bench",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        filled = 0
        try:
            for size in SIZES:
                _fill(ddb, "bench", filled, size)
                filled = size
                Table.query, Table.all_items = plain  # type: ignore[method-assign]
                moto_ms = _p50_ms(ddb, "bench", size)
                Table.query, Table.all_items = patched  # type: ignore[method-assign]
                patched_ms = _p50_ms(ddb, "bench", size)
                rows.append(
                    {"items": size, "moto_ms": moto_ms, "patched_ms": patched_ms, "ratio": moto_ms / patched_ms}
                )
        finally:
            Table.query, Table.all_items = patched  # type: ignore[method-assign]
    for row in rows:
        print(  # noqa: T201 - a bench prints its figures
            f"Query of one {PARTITION}-item partition in a {row['items']:>6}-item table: "
            f"moto {row['moto_ms']:7.2f} ms p50, patched {row['patched_ms']:5.2f} ms p50 ({row['ratio']:.0f}x)"
        )
    return {"partition_items": PARTITION, "queries": QUERIES, "rows": rows}


if __name__ == "__main__":
    moto_query_cost()
