"""Benchmark: a tenant moved between shards on the DEPLOYED stack while customers hold seats as fast as they can.

The e2e move (tests/e2e/test_sharding.py) writes at the standard plan's 10 writes/s; this one gives its tenant a
plan of its own for the run (a `rate_limit_plan` rule, 300 writes/s, removed at the end) so the writers go as fast as
the local cloud serves `POST /showtimes/{id}/holds` (the route's own API Gateway limit is 100/s). ``--writers``
customers each hold one seat per request, retrying 429 and 503 as told; a reader lists the tenant's showtimes (the
read models) and reads one hold back. ``marquee shards move`` moves the tenant from s0 to s1 meanwhile.

    python -m bench.sharding_deployed                 # a fresh cloud and deploy (about 3 minutes), then the move
    python -m bench.sharding_deployed --endpoint http://localhost:4566   # the running cloud's deployed stack

Prints the write rate before, during and after the move, the fence, the move's steps, lost and unacknowledged holds
(items on s1 against acknowledged answers), the read models' count in s1's schema, and failed reads; writes
bench/sharding_deployed.json. docs/benchmarks.md has the recorded run. Figures only, never an assertion.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "layers" / "common" / "python")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

RESULTS_FILE = ROOT / "bench" / "sharding_deployed.json"
RETRYABLE = {429, 503}
RULE = "bench: one tenant's own plan (bench.sharding_deployed)"


def _plan_rule(flags: dict[str, Any], tenant: str | None) -> dict[str, Any]:
    """``flags`` with this bench's rule for ``tenant`` (None: without it)."""
    changed = json.loads(json.dumps(flags))
    rules = changed["rate_limit_plan"].setdefault("rules", {})
    rules.pop(RULE, None)
    if tenant is not None:
        rules[RULE] = {
            "when_match": {
                "plan": "bench",
                "read": {"count": 600, "periodS": 1, "burst": 1200},
                "write": {"count": 300, "periodS": 1, "burst": 600},
            },
            "conditions": [{"action": "KEY_IN_VALUE", "key": "tenant", "value": [tenant]}],
        }
    return changed


def run(stack: Any, *, writers: int, rows: int, per_row: int) -> dict[str, Any]:
    import requests

    from devkit.flags import FlagsClient
    from devkit.projections import data_api
    from devkit.shards import move_tenant
    from localcloud.aws import local_client
    from tests.e2e.booking_helpers import create_showtime, hold, token

    deployed = {"endpoint": stack.endpoint, "outputs": stack.outputs}
    api, tenant = stack.api, f"bench-move-{uuid.uuid4().hex[:6]}"
    flags = FlagsClient(stack.endpoint)
    _version, before_flags = flags.current()
    flags.deploy(_plan_rule(before_flags, tenant))
    time.sleep(7)  # the functions' flag cache (5 s) expires
    try:
        show = create_showtime(api, deployed, tenant, rows=rows, per_row=per_row)
        seats = [f"{chr(ord('A') + r)}{c}" for r in range(rows) for c in range(1, per_row + 1)]  # rows: A..Z
        tokens = [token(deployed, tenant, f"writer-{n}") for n in range(writers)]
        acknowledged: list[tuple[float, str]] = []
        statuses: Counter[int] = Counter()
        failed_reads: list[str] = []
        reads = [0]
        lock = threading.Lock()
        stop = threading.Event()

        def writer(n: int) -> None:
            session = requests.Session()
            for seat in seats[n::writers]:
                while not stop.is_set():
                    response = hold(api, tokens[n], show.showtime_id, [seat], session)
                    with lock:
                        statuses[response.status_code] += 1
                    if response.status_code == 201:
                        with lock:
                            acknowledged.append((time.monotonic(), response.json()["holdId"]))
                        break
                    if response.status_code not in RETRYABLE:
                        break
                    time.sleep(min(float(response.headers.get("Retry-After", "1")), 1.0) / 4)
                if stop.is_set():
                    return

        def reader() -> None:
            session = requests.Session()
            while not stop.is_set():
                for path in ("/showtimes?limit=5", f"/showtimes/{show.showtime_id}"):
                    response = session.get(f"{api}{path}", headers={"Authorization": tokens[0]}, timeout=60)
                    reads[0] += 1
                    if response.status_code not in (200, 429):
                        failed_reads.append(f"{path}: {response.status_code} {response.text[:200]}")
                time.sleep(0.1)

        threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(writers)]
        threads.append(threading.Thread(target=reader, daemon=True))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(8.0)  # the rate before the move
        steps: list[str] = []
        move_started = time.monotonic()
        report = move_tenant(
            stack.endpoint, stack.outputs, tenant, "s1", control_table=None, tables=None, silo=False, abort=False,
            progress=lambda step, _record: steps.append(step) if not steps or steps[-1] != step else None,
        )  # fmt: skip
        move_ended = time.monotonic()
        time.sleep(5.0)  # the rate after it
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        ended = time.monotonic()

        def rate(a: float, b: float) -> float:
            return round(sum(1 for at, _ in acknowledged if a <= at < b) / (b - a), 1) if b > a else 0.0

        ids = {h for _, h in acknowledged}
        tables = [t for t in stack.outputs["ShardTableNames"].split(",") if t]
        ddb = local_client("dynamodb", stack.endpoint)

        def holds_on(table: str) -> set[str]:
            found: set[str] = set()
            for page in ddb.get_paginator("scan").paginate(
                TableName=table, FilterExpression="begins_with(pk, :p)",
                ExpressionAttributeValues={":p": {"S": f"TENANT#{tenant}#HOLD#"}}, ConsistentRead=True,
            ):  # fmt: skip
                found |= {i["pk"]["S"].rsplit("#", 1)[1] for i in page["Items"] if i["sk"]["S"] == "META"}
            return found

        on_s1, on_s0 = holds_on(tables[1]), holds_on(tables[0])
        db = data_api(stack.endpoint, stack.outputs)
        counted, deadline = 0, time.monotonic() + 60
        while time.monotonic() < deadline:
            counted = int(
                db.query(
                    "SELECT count(*) AS n FROM shard_s1.rm_availability_seats WHERE tenant_id = :t AND showtime_id = :s",
                    {"t": tenant, "s": show.showtime_id},
                )[0]["n"]
            )
            if counted >= len(ids):
                break
            time.sleep(0.5)
        return {
            "writers": writers,
            "seats": len(seats),
            "holds_acknowledged": len(ids),
            "answers": dict(statuses),
            "writes_per_s": {
                "before_move": rate(started, move_started),
                "during_move": rate(move_started, move_ended),
                "after_move": rate(move_ended, ended),
            },
            "move": {
                "state": report.state,
                "fence_ms": report.fence_ms,
                "total_s": report.total_s,
                "items_verified": report.items,
                "stream_records_applied": report.applied,
                "repaired": report.repaired,
                "late": report.late,
                "steps_s": report.timings,
                "read_model_rows_moved": sum(report.read_model_rows.values()),
                "read_model_s": report.read_model_s,
            },
            "lost": len(ids - on_s1),
            "unacknowledged_on_s1": len(on_s1 - ids),
            "left_on_s0": len(on_s0),
            "read_model_seats_in_s1": counted,
            "reads": reads[0],
            "failed_reads": len(failed_reads),
            "failed_read_samples": failed_reads[:3],
        }
    finally:
        _version, now = flags.current()
        flags.deploy(_plan_rule(now, None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--endpoint", default=None, help="A running cloud with the stack deployed (default: a fresh one)."
    )
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--rows", type=int, default=26, choices=range(1, 27), metavar="1..26")
    parser.add_argument("--per-row", type=int, default=50, choices=range(1, 51), metavar="1..50")
    args = parser.parse_args()

    from bench.stack import deployed_stack

    with deployed_stack(args.endpoint, prefix="bench-shard-deployed-") as stack:
        result = run(stack, writers=args.writers, rows=args.rows, per_row=args.per_row)
        result["deploy_s"] = stack.deploy_seconds
    print(json.dumps(result, indent=2))
    RESULTS_FILE.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
