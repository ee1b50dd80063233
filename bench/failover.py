"""The multi-region failover drill (design question 1): fail the primary region under steady traffic, then fail back.

One local cloud, two regions (us-east-1 primary, eu-west-1 secondary), each with a regional cell
(tests/localcloud/failover_helpers.py: a function behind a REST API, on a global table replicated between the two),
Route 53 HTTP health checks against each region's ``/v1/health`` and a PRIMARY/SECONDARY failover pair ``api.{zone}``.
A writer sends ``PUT /items/{n}`` through the global name at a steady rate; the cloud's global front door resolves the
failover record per request. Then:
1. the primary fails (``POST /_localcloud/chaos/region/us-east-1?state=down``: its front door answers 503 and its
   replication link stops, so writes still in the replication lag stay there);
2. figures: **detection** (fault -> the health check turns unhealthy), **RTO** (fault -> the first write served by
   the secondary), failed requests in between, **RPO** (writes the primary acknowledged that the secondary did not
   hold at failover: their count and the age of the oldest);
3. the primary comes back: **failback** (-> the first write served by the primary again), and convergence (the
   writes stranded in the primary replicate; both replicas hold the same items).

    python -m bench.failover [--interval 10] [--threshold 3] [--lag-ms 1000] [--rate 20]

Figures, never assertions (``make drill-failover`` runs it). Health checks run at AWS's intervals (10 or 30 s), so
one run takes about a minute and a half with the defaults.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from localcloud.aws import local_client
from localcloud.server import LocalCloud, Settings
from tests.localcloud.failover_helpers import cell, failover, global_table

PRIMARY, SECONDARY = "us-east-1", "eu-west-1"


@dataclass
class Write:
    n: int
    sent: float
    acked: float
    status: int
    region: str | None


@dataclass
class Traffic:
    port: int
    record: str
    rate: float
    writes: list[Write] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        session = requests.Session()
        n = 0
        while not self.stop.is_set():
            n += 1
            sent = time.time()
            try:
                response = session.put(
                    f"http://127.0.0.1:{self.port}/v1/items/w{n:06d}",
                    headers={"Host": f"{self.record}:{self.port}"},
                    timeout=10,
                )
                region = response.json().get("region") if response.status_code == 201 else None
                self.writes.append(Write(n, sent, time.time(), response.status_code, region))
            except requests.RequestException:
                self.writes.append(Write(n, sent, time.time(), 0, None))
            time.sleep(max(0.0, 1 / self.rate - (time.time() - sent)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def transitions(endpoint: str, check_id: str) -> list[dict[str, Any]]:
    checks = requests.get(f"{endpoint}/_localcloud/dns", timeout=5).json()["healthChecks"]
    found: list[dict[str, Any]] = checks.get(check_id, {}).get("transitions", [])
    return found


def first(writes: list[Write], after: float, region: str) -> Write | None:
    return next((w for w in writes if w.sent >= after and w.status == 201 and w.region == region), None)


def wait_until(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.1)


def drill(interval: int, threshold: int, lag_ms: int, rate: float, steady_s: float) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="failover-drill-"))
    cloud = LocalCloud(Settings(port=free_port(), state_dir=state, quiet=True, replication_lag_s=lag_ms / 1000)).start()
    endpoint = cloud.settings.endpoint_url
    try:
        table = global_table(endpoint, PRIMARY, [SECONDARY])
        primary, secondary = cell(endpoint, PRIMARY, table), cell(endpoint, SECONDARY, table)
        pair = failover(endpoint, cloud.settings.port, primary, secondary, interval=interval, threshold=threshold)
        for c in (primary, secondary):  # warm both regions' functions: the drill measures routing, not cold starts
            requests.get(f"{endpoint}/_aws/execute-api/{c.api_id}/v1/health", timeout=30).raise_for_status()
        traffic = Traffic(cloud.settings.port, pair.record, rate)
        writer = threading.Thread(target=traffic.run, daemon=True)
        writer.start()
        time.sleep(steady_s)

        fault = time.time()
        requests.post(f"{endpoint}/_localcloud/chaos/region/{PRIMARY}?state=down", timeout=5).raise_for_status()
        wait_until(lambda: first(traffic.writes, fault, SECONDARY) is not None, timeout=interval * (threshold + 3))
        recovered = first(traffic.writes, fault, SECONDARY)
        secondary_ddb = local_client("dynamodb", endpoint, region=SECONDARY)
        acked = [w for w in traffic.writes if w.status == 201 and w.region == PRIMARY]
        missing = [
            w for w in acked if "Item" not in secondary_ddb.get_item(TableName=table, Key={"pk": {"S": f"w{w.n:06d}"}})
        ]
        time.sleep(steady_s)

        restored = time.time()
        requests.post(f"{endpoint}/_localcloud/chaos/region/{PRIMARY}?state=up", timeout=5).raise_for_status()
        wait_until(lambda: first(traffic.writes, restored, PRIMARY) is not None, timeout=interval * (threshold + 3))
        back = first(traffic.writes, restored, PRIMARY)
        time.sleep(steady_s / 2)
        traffic.stop.set()
        writer.join(timeout=15)
        time.sleep(lag_ms / 1000 * 3)

        def items(region: str) -> set[str]:
            ddb = local_client("dynamodb", endpoint, region=region)
            pages = ddb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="pk")
            return {i["pk"]["S"] for page in pages for i in page["Items"]}

        in_primary, in_secondary = items(PRIMARY), items(SECONDARY)
        down = [t for t in transitions(endpoint, pair.checks[PRIMARY]) if t["at"] >= fault]
        failed_window = [
            w for w in traffic.writes if fault <= w.sent and (recovered is None or w.sent < recovered.sent)
        ]
        return {
            "healthCheck": f"HTTP every {interval} s, failure threshold {threshold}",
            "replicationLagMs": lag_ms,
            "writesPerSecond": rate,
            "writes": len(traffic.writes),
            "detectionS": round(down[0]["at"] - fault, 2) if down else None,
            "rtoS": round(recovered.acked - fault, 2) if recovered else None,
            "failedDuringFailover": sum(1 for w in failed_window if w.status != 201),
            "rpoWrites": len(missing),
            "rpoOldestS": round(fault - min(w.acked for w in missing), 2) if missing else 0.0,
            "failbackS": round(back.acked - restored, 2) if back else None,
            "failbackDetectionS": round(
                next(
                    (
                        t["at"]
                        for t in transitions(endpoint, pair.checks[PRIMARY])
                        if t["at"] >= restored and t["healthy"]
                    ),
                    restored,
                )
                - restored,
                2,
            ),
            "strandedReplicatedAfterFailback": sum(1 for w in missing if f"w{w.n:06d}" in in_secondary),
            "replicasConverged": in_primary == in_secondary,
            "acknowledgedLost": sum(
                1 for w in traffic.writes if w.status == 201 and f"w{w.n:06d}" not in in_primary | in_secondary
            ),
        }
    finally:
        cloud.shutdown(deadline_s=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", type=int, default=10, choices=(10, 30), help="RequestInterval (AWS: 10 or 30)")
    parser.add_argument("--threshold", type=int, default=3, help="FailureThreshold (AWS default 3)")
    parser.add_argument("--lag-ms", type=int, default=1000, help="replication lag of the global table")
    parser.add_argument("--rate", type=float, default=20.0, help="writes per second through the global name")
    parser.add_argument("--steady", type=float, default=5.0, help="seconds of steady traffic around each step")
    args = parser.parse_args(argv)
    figures = drill(args.interval, args.threshold, args.lag_ms, args.rate, args.steady)
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    return 0 if figures["replicasConverged"] and figures["acknowledgedLost"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
