"""Marquee's console pages with the whole stack deployed: how fast each answers (devkit/console_panels.py).

    python -m bench.console_panels [--rounds 30]   # starts its own local cloud and deploys the stack

It makes what the pages show first: a showtime raced for (``devkit/race.py``, 200 racers), a confirmed and a declined
order, then times GETs of each page's JSON (p50, p95, max, bytes) and of the page's module. Figures are printed, never
asserted (shared machines are noisy; the load average is printed beside them).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]


def time_get(url: str, rounds: int) -> dict[str, float]:
    session = requests.Session()
    samples, size = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        response = session.get(url, timeout=60)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        size = len(response.content)
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 1),
        "max_ms": round(ordered[-1], 1),
        "bytes": size,
    }


def measure(endpoint: str, outputs: dict[str, Any], *, rounds: int = 30) -> dict[str, Any]:
    from devkit.race import race
    from tests.e2e.saga_helpers import CARD_DECLINED, CARD_OK, SagaWorld

    raced = race(endpoint, outputs, showtime="new", seat="C5", racers=200)
    world = SagaWorld(endpoint, outputs)
    customer = world.customer("bench-console", "ada")
    showtime_id, _ = world.showtime("bench-console", rows=1, per_row=4)
    orders = {}
    for card, seat in ((CARD_OK, "A1"), (CARD_DECLINED, "A2")):
        orders[card] = world.place(customer, world.hold(customer, showtime_id, [seat]), card).json()["orderId"]
    for order in orders.values():
        world.wait_order(customer, order)
    base = f"{endpoint}/_localcloud/console"
    x = f"{base}/api/x/marquee"
    urls = {
        "seats (50 seats, tenant given)": f"{x}/seats?showtime={raced.showtime_id}&tenant={raced.tenant}",
        "seats (tenant found once, then kept)": f"{x}/seats?showtime={raced.showtime_id}",
        "showtimes on the bus": f"{x}/showtimes",
        "order journey (confirmed)": f"{x}/order?order={orders[CARD_OK]}&tenant=bench-console",
        "order journey (declined)": f"{x}/order?order={orders[CARD_DECLINED]}&tenant=bench-console",
        "orders on the bus": f"{x}/orders",
        "flags": f"{x}/flags",
        "breakers": f"{x}/breakers",
        "seat map module": f"{base}/panels/seat-map.js",
    }
    figures = {name: time_get(url, rounds) for name, url in urls.items()}
    return {
        "race": {"racers": raced.racers, "statuses": raced.statuses, "seconds": round(raced.seconds, 2)},
        "rounds": rounds,
        "load_average": round(os.getloadavg()[0], 2),
        "answers": figures,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
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
            figures = measure(cloud.endpoint_url, outputs, rounds=args.rounds)
        finally:
            cloud.stop()
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
