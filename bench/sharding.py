"""Benchmark: move one tenant between shard tables under live writes (challenge 9).

Three shard tables with streams and a control table on moto's threaded server, with the local cloud's serializable
writes (as on AWS). One tenant holds ``--items`` items; ``--writers`` threads write to it (a unique item and a counter
increment each, ~20 writes/s per thread, retrying a fenced write) and one thread reads, while the mover relocates it
with the deployed map staleness (5 s). Prints the fence (from the fence's put to the flip's commit), the copy rate,
the whole move, the write rate during it, and checks: no acknowledged write lost, no increment counted twice.
Figures only, never an assertion.

    .venv/bin/python -m bench.sharding [--items 2000] [--writers 5] [--staleness 5]
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for entry in (str(ROOT / "layers" / "common" / "python"), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

MAIN = "main"
TABLES = (MAIN, "shard-1", "shard-2")


def _client(service: str, url: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106
    )


def run(items: int, writers: int, staleness: float) -> dict[str, Any]:
    from moto.server import ThreadedMotoServer

    from localcloud.dynamodb import atomicity
    from marquee.sharding.control import ControlStore
    from marquee.sharding.mover import Mover
    from marquee.sharding.routing import RoutedDynamoDB, ShardFenced, ShardRouter, default_map

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(port=port, verbose=False)
    server.start()
    atomicity.install()
    url = f"http://127.0.0.1:{port}"
    ddb = _client("dynamodb", url)
    for table in (*TABLES, "control"):
        ddb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
    control = ControlStore("control", ddb)

    def routed() -> RoutedDynamoDB:
        router = ShardRouter(control, default=default_map(list(TABLES), 2), staleness_s=staleness)
        return RoutedDynamoDB(_client("dynamodb", url), router, MAIN)

    first = routed()
    tenant = next(t for t in (f"chain-{i}" for i in range(1000)) if first.router.current().hashed(t) == "s0")
    for start in range(0, items, 25):
        first.batch_write_item(
            RequestItems={
                MAIN: [
                    {"PutRequest": {"Item": {"pk": {"S": f"TENANT#{tenant}#SEED#{i}"}, "sk": {"S": "META"}}}}
                    for i in range(start, min(items, start + 25))
                ]
            }
        )

    stop = threading.Event()
    lock = threading.Lock()
    acked: list[str] = []
    retries = [0]
    reads = [0, 0]  # ok, failed

    def retrying(call: Any) -> None:
        while True:
            try:
                call()
                return
            except ShardFenced:
                with lock:
                    retries[0] += 1
                time.sleep(0.05)

    def writer(w: int) -> None:
        db, n = routed(), 0
        while not stop.is_set():
            began = time.perf_counter()
            key = f"TENANT#{tenant}#W#{w}-{n}"
            retrying(lambda: db.put_item(TableName=MAIN, Item={"pk": {"S": key}, "sk": {"S": "META"}}))  # noqa: B023
            retrying(
                lambda: db.update_item(
                    TableName=MAIN,
                    Key={"pk": {"S": f"TENANT#{tenant}#COUNTER"}, "sk": {"S": str(w)}},  # noqa: B023
                    UpdateExpression="ADD n :one",
                    ExpressionAttributeValues={":one": {"N": "1"}},
                )
            )
            with lock:
                acked.append(key)
            n += 1
            time.sleep(max(0.0, 0.1 - (time.perf_counter() - began)))

    def reader() -> None:
        db = routed()
        while not stop.is_set():
            try:
                db.get_item(TableName=MAIN, Key={"pk": {"S": f"TENANT#{tenant}#SEED#1"}, "sk": {"S": "META"}})["Item"]
                reads[0] += 1
            except Exception:  # noqa: BLE001 - counted
                reads[1] += 1
            time.sleep(0.02)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)] + [threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    mover = Mover(control, ddb, _client("dynamodbstreams", url), staleness_s=staleness)
    before, began = len(acked), time.perf_counter()
    try:
        report = mover.move(tenant, "s1")
    finally:
        elapsed = time.perf_counter() - began
        during = len(acked) - before
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join()
    moved = {
        (i["pk"]["S"], i["sk"]["S"]): i
        for page in ddb.get_paginator("scan").paginate(TableName="shard-1", ConsistentRead=True)
        for i in page["Items"]
    }
    counted = sum(int(i["n"]["N"]) for (pk, _), i in moved.items() if pk.endswith("#COUNTER"))
    server.stop()
    return {
        "items": items,
        "writers": writers,
        "staleness_s": staleness,
        "writes_per_s_during_move": round(2 * during / elapsed, 1),
        "fence_ms": report.fence_ms,
        "copied": report.copied,
        "copy_items_per_s": round(report.copied / report.copy_s, 0) if report.copy_s else None,
        "moved_items": report.items,
        "moved_items_per_s_whole_move": round(report.items / elapsed, 1),
        "move_s": round(elapsed, 2),
        "stream_records_applied": report.applied,
        "verified_by": "count+checksum",
        "repaired": report.repaired,
        "late_writes": report.late,
        "fenced_retries": retries[0],
        "lost_writes": sum(1 for k in acked if (k, "META") not in moved),
        "duplicated_increments": counted - len(acked),
        "reads_ok": reads[0],
        "reads_failed": reads[1],
        "steps_s": report.timings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--writers", type=int, default=5)
    parser.add_argument("--staleness", type=float, default=5.0)
    args = parser.parse_args()
    print(json.dumps(run(args.items, args.writers, args.staleness), indent=2))


if __name__ == "__main__":
    main()
