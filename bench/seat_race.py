"""The seat race (challenge 3): N customers ask for the same seat at once through the front door.

    python -m bench.seat_race [--racers 200] [--concurrency 48]   # starts its own local cloud and deploys

``seat_race(endpoint, outputs)`` measures against an already deployed stack (bench/run_all.py can call it). Figures are
printed, never asserted: the guarantee itself (exactly one winner) is asserted by tests/e2e/test_seat_holds.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from devkit.seed import BookingApi  # noqa: E402


def _percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def seat_race(endpoint: str, outputs: dict[str, Any], *, racers: int = 200, concurrency: int = 48) -> dict[str, Any]:
    """Race ``racers`` holds for one seat of a fresh showtime; winners, conflicts, latency p50/p99 (ms), wall time."""
    api = BookingApi(endpoint, outputs)
    tenant = f"bench-{uuid.uuid4().hex[:6]}"
    showtime = api.showtime(tenant, rows=4, per_row=10)
    tokens = [api.token(tenant, f"racer{i}") for i in range(min(racers, 20))]
    url = f"{api.base}/showtimes/{showtime['showtimeId']}/holds"
    # Warm the workers first: the race measures the lock, not cold starts.
    with ThreadPoolExecutor(concurrency) as pool:
        list(
            pool.map(
                lambda i: requests.post(
                    url, json={"seats": [f"D{1 + i % 10}"]}, headers={"Authorization": tokens[0]}, timeout=120
                ),
                range(min(concurrency, 10)),
            )
        )

    def one(i: int) -> tuple[int, float]:
        started = time.perf_counter()
        response = requests.post(
            url, json={"seats": ["A1"]}, headers={"Authorization": tokens[i % len(tokens)]}, timeout=120
        )
        return response.status_code, (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(racers)))
    wall = time.perf_counter() - started
    latencies = [ms for _, ms in results]
    statuses = [s for s, _ in results]
    return {
        "racers": racers,
        "concurrency": concurrency,
        "winners": statuses.count(201),
        "conflicts": statuses.count(409),
        "other": len(statuses) - statuses.count(201) - statuses.count(409),
        "p50_ms": round(_percentile(latencies, 50), 1),
        "p99_ms": round(_percentile(latencies, 99), 1),
        "mean_ms": round(statistics.fmean(latencies), 1),
        "wall_s": round(wall, 2),
        "requests_per_s": round(racers / wall, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--racers", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=48)
    args = parser.parse_args(argv)
    from devkit.deploy import deploy
    from tests.cloud_process import CloudProcess

    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        cloud = CloudProcess(state)
        try:
            outputs_file = state / "outputs.json"
            deploy(cloud.endpoint_url, quiet=True, outputs_file=outputs_file, assembly=state / "cdk.out")
            outputs = json.loads(outputs_file.read_text())["Marquee"]
            figures = seat_race(cloud.endpoint_url, outputs, racers=args.racers, concurrency=args.concurrency)
        finally:
            cloud.stop()
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
