"""Temporal audit (challenge 8): an as-of read of an entity with 1,000 versions, on the local cloud's DynamoDB.

A fresh local cloud (a separate process, as a client sees it) gets the main table's shape (pk, sk; TTL); one movie
is created and updated until it has ``--versions`` versions, through ``marquee.booking.catalog`` (each update is one
TransactWriteItems: the movie, its event, its version and the settings guard). Then ``--reads`` as-of reads at random
times inside the movie's life (``marquee.history.versions.as_of``: ONE Query, ``ScanIndexForward=False``,
``Limit=1``, consistent) are timed one after another, and each answer is checked against the version in effect then.

    python -m bench.temporal                       # 1,000 versions, 2,000 reads
    python -m bench.temporal --versions 5000       # a longer history: the read should not care

Prints p50/p99/max (ms) of the as-of read, the history page read and the update; writes bench/temporal.json.
docs/benchmarks.md has the recorded run. Goal (issue 12): as-of p99 <= 10 ms with 1,000 versions. Never asserted.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "layers" / "common" / "python")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

RESULTS_FILE = ROOT / "bench" / "temporal.json"
TABLE = "bench-temporal"


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "n": len(ordered),
    }


def run(endpoint: str, *, versions_wanted: int, reads: int) -> dict[str, Any]:
    import boto3

    from marquee.booking import catalog
    from marquee.history import versions
    from marquee.history.versions import Actor
    from marquee.tenancy.tenant import TenantContext

    credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}  # noqa: S105 - the local cloud's
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", **credentials)
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    tenant = TenantContext(tenant_id="bench-temporal", user_id="staff-1", username="bench", groups=frozenset({"staff"}))
    details = catalog.MovieDetails(director="Ada Reel", synopsis="x" * 400, genres=["drama"])
    movie = catalog.create_movie(
        tenant, title="v1", runtime_minutes=100, details=details, actor=Actor.of(tenant, "r1"), table_name=TABLE,
        client=ddb,
    )  # fmt: skip
    writes = []
    for n in range(2, versions_wanted + 1):
        started = time.perf_counter()
        catalog.update_movie(
            tenant, movie.movie_id, title=f"v{n}", runtime_minutes=100, details=details,
            actor=Actor.of(tenant, f"r{n}"), table_name=TABLE, client=ddb,
        )  # fmt: skip
        writes.append(time.perf_counter() - started)

    history, cursor = versions.history(ddb, TABLE, tenant, "MOVIE", movie.movie_id, limit=100)
    while cursor:
        more, cursor = versions.history(ddb, TABLE, tenant, "MOVIE", movie.movie_id, limit=100, cursor=cursor)
        history.extend(more)
    timeline = sorted(history, key=lambda v: v.at)
    times = [v.at for v in timeline]
    assert len(timeline) == versions_wanted, len(timeline)

    rng = random.Random(12)  # noqa: S311 - a workload, not a secret
    as_of, wrong = [], 0
    for _ in range(reads):
        a, b = rng.sample(range(len(times)), 2)
        at = times[min(a, b)] + (times[max(a, b)] - times[min(a, b)]) * rng.random()
        expected = timeline[bisect.bisect_right(times, at) - 1].revision
        started = time.perf_counter()
        found = versions.as_of(ddb, TABLE, tenant, "MOVIE", movie.movie_id, at)
        as_of.append(time.perf_counter() - started)
        wrong += found is None or found.revision != expected

    pages = []
    for _ in range(200):
        started = time.perf_counter()
        versions.history(ddb, TABLE, tenant, "MOVIE", movie.movie_id, limit=20)
        pages.append(time.perf_counter() - started)
    return {
        "versions": versions_wanted,
        "as_of": {**_ms(as_of), "wrong_answers": wrong},
        "history_page_20": _ms(pages),
        "update_with_version": _ms(writes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--endpoint", help="a running local cloud (default: a fresh one)")
    args = parser.parse_args()
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the outbox stamps each event with its origin region
    from tests.cloud_process import CloudProcess

    cloud = None
    try:
        if args.endpoint:
            endpoint = args.endpoint
        else:
            cloud = CloudProcess(Path(tempfile.mkdtemp(prefix="bench-temporal-")))
            endpoint = cloud.endpoint_url
        results = run(endpoint, versions_wanted=args.versions, reads=args.reads)
    finally:
        if cloud is not None:
            cloud.stop()
    print(f"as-of read, {results['versions']} versions: p50 {results['as_of']['p50_ms']} ms, "
          f"p99 {results['as_of']['p99_ms']} ms, max {results['as_of']['max_ms']} ms "
          f"({results['as_of']['n']} reads, {results['as_of']['wrong_answers']} wrong)")  # fmt: skip
    page = results["history_page_20"]
    print(f"history page of 20: p50 {page['p50_ms']} ms, p99 {page['p99_ms']} ms")
    write = results["update_with_version"]
    print(f"update + version (one transaction): p50 {write['p50_ms']} ms, p99 {write['p99_ms']} ms")
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
