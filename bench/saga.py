"""Benchmark: the order saga on the local cloud (challenge 11): orders settled per minute, and end-to-end latency
from ``POST /orders`` to CONFIRMED (p50, p99).

``saga_throughput(endpoint, outputs)`` needs a deployed stack (``make up`` + ``make deploy``, or the e2e fixture). It
seeds one showtime per batch straight into DynamoDB, holds one seat per order (``marquee.booking.seats.create_hold``), posts
the orders through the front door with a good test card, ``concurrency`` at a time, and polls each order until it is
CONFIRMED or FAILED. Figures only, never an assertion (shared machines are noisy).

    .venv/bin/python -m bench.saga [--orders 100] [--concurrency 16]   # against .localcloud/outputs.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for entry in (str(ROOT / "layers" / "common" / "python"), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from tests.e2e.saga_helpers import CARD_OK, TERMINAL, SagaWorld  # noqa: E402

SEATS_PER_ROW = 10
MAX_ROWS = 26


def _percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def saga_throughput(
    endpoint: str, outputs: dict[str, Any], *, orders: int = 100, concurrency: int = 16, timeout_s: float = 600
) -> dict[str, Any]:
    """Place ``orders`` orders (``concurrency`` in flight) and time each from POST to its final status."""
    world = SagaWorld(endpoint, outputs)
    customer = world.customer("bench", "saga-bench")
    holds: list[str] = []
    per_showtime = SEATS_PER_ROW * MAX_ROWS
    for start in range(0, orders, per_showtime):
        count = min(per_showtime, orders - start)
        showtime_id, seat_ids = world.showtime("bench", rows=-(-count // SEATS_PER_ROW), per_row=SEATS_PER_ROW)
        holds.extend(world.hold(customer, showtime_id, [seat]) for seat in seat_ids[:count])

    def one(hold_id: str) -> tuple[str, float]:
        started = time.monotonic()
        response = world.place(customer, hold_id, CARD_OK)
        if response.status_code != 202:
            return f"HTTP {response.status_code}", time.monotonic() - started
        order_id = response.json()["orderId"]
        deadline = started + timeout_s
        while time.monotonic() < deadline:
            status = world.order(customer, order_id).json().get("status")
            if status in TERMINAL:
                return str(status), time.monotonic() - started
            time.sleep(0.1)
        return "TIMEOUT", time.monotonic() - started

    began = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, holds))
    elapsed = time.monotonic() - began
    confirmed = [seconds for status, seconds in results if status == "CONFIRMED"]
    outcomes: dict[str, int] = {}
    for status, _ in results:
        outcomes[status] = outcomes.get(status, 0) + 1
    figures = {
        "orders": orders,
        "concurrency": concurrency,
        "outcomes": outcomes,
        "elapsed_s": round(elapsed, 1),
        "orders_per_minute": round(len(results) / elapsed * 60, 1),
        "latency_to_confirmed_p50_ms": round(_percentile(confirmed, 50) * 1000),
        "latency_to_confirmed_p99_ms": round(_percentile(confirmed, 99) * 1000),
    }
    print(  # noqa: T201 - a benchmark prints its figures
        f"saga: {figures['orders_per_minute']} orders/min ({orders} orders, {concurrency} in flight, "
        f"{figures['elapsed_s']} s); POST -> CONFIRMED p50 {figures['latency_to_confirmed_p50_ms']} ms, "
        f"p99 {figures['latency_to_confirmed_p99_ms']} ms; outcomes {outcomes}"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--endpoint", default="http://localhost:4566")
    parser.add_argument("--outputs", type=Path, default=ROOT / ".localcloud" / "outputs.json")
    args = parser.parse_args()
    outputs = json.loads(args.outputs.read_text())["Marquee"]
    saga_throughput(args.endpoint, outputs, orders=args.orders, concurrency=args.concurrency)


if __name__ == "__main__":
    main()
