"""API aggregator figures (challenge 17) on a freshly deployed local cloud (or ``--endpoint``).

`python -m bench.aggregator` prints, as JSON (and writes bench/aggregator.json):
- **fan-out**: N overviews of one showtime, at about 10/s (inside the standard plan's read rate). From each answer's
  ``Server-Timing``: the fan-out's total over its slowest section (the figure the pattern promises is <= 1.2 at p50
  and p99: concurrency, not a sum), and the HTTP latency over the slowest section (front door and function included);
- **hung backend**: the chaos flag makes recommendations sleep 5 s for the tenant; the overview's HTTP latency and
  the recommendations section's time (its timeout is 0.8 s).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
RESULTS_FILE = ROOT / "bench" / "aggregator.json"
_DUR = re.compile(r'(\w+);desc="([\w-]+)";dur=([\d.]+)|total;dur=([\d.]+)')


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def server_timing(header: str) -> tuple[dict[str, tuple[str, float]], float]:
    sections: dict[str, tuple[str, float]] = {}
    total = 0.0
    for name, desc, dur, total_dur in _DUR.findall(header):
        if total_dur:
            total = float(total_dur)
        else:
            sections[name] = (desc, float(dur))
    return sections, total


def measure(url: str, token: str, *, requests_count: int = 40, rate: float = 10.0) -> dict[str, Any]:
    """``requests_count`` overviews at ``url``; ratios of the fan-out's total and of the HTTP latency to the slowest
    section. Answers with a degraded section are counted and left out of the ratios."""
    session = requests.Session()
    fan_out, http, slowest_ms, degraded = [], [], [], 0
    for _ in range(requests_count):
        started = time.perf_counter()
        response = session.get(url, headers={"Authorization": token}, timeout=30)
        elapsed_ms = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        if response.json()["degraded"]:
            degraded += 1
        else:
            sections, total = server_timing(response.headers["Server-Timing"])
            slowest = max(dur for _, dur in sections.values())
            fan_out.append(total / slowest)
            http.append(elapsed_ms / slowest)
            slowest_ms.append(slowest)
        time.sleep(max(0.0, 1 / rate - elapsed_ms / 1000))
    return {
        "requests": requests_count,
        "degraded": degraded,
        "fan_out_over_slowest_p50": round(statistics.median(fan_out), 3),
        "fan_out_over_slowest_p99": round(_percentile(fan_out, 0.99), 3),
        "http_over_slowest_p50": round(statistics.median(http), 2),
        "http_over_slowest_p99": round(_percentile(http, 0.99), 2),
        "slowest_section_p50_ms": round(statistics.median(slowest_ms), 1),
        "slowest_section_p99_ms": round(_percentile(slowest_ms, 0.99), 1),
    }


def measure_hung(url: str, token: str, endpoint: str, tenant: str) -> dict[str, Any]:
    from devkit import chaos

    before = chaos.inject_latency(endpoint, tenant=tenant, service="recommendations", delay_ms=5_000)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = requests.get(url, headers={"Authorization": token}, timeout=30)
            elapsed_ms = (time.perf_counter() - started) * 1000
            section = response.json()["sections"]["recommendations"]
            if section["status"] == "timeout":
                return {"status": response.status_code, "http_ms": round(elapsed_ms, 1), "section_ms": section["ms"]}
            time.sleep(0.5)
        raise RuntimeError("the chaos flag never reached the recommendations function")
    finally:
        chaos.restore(endpoint, before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", help="a running local cloud with the stack deployed")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    from bench.stack import deployed_stack
    from devkit.identity import ApiClient
    from tests.e2e.booking_helpers import create_showtime

    with deployed_stack(args.endpoint, prefix="bench-aggregator-") as stack:
        endpoint, outputs, api = stack.endpoint, stack.outputs, stack.api
        tenant = f"bench-ov-{uuid.uuid4().hex[:4]}"
        show = create_showtime(api, {"endpoint": endpoint, "outputs": outputs}, tenant, rows=2, per_row=5)
        token = ApiClient(endpoint, outputs).token(tenant, "bench-viewer", "customer")
        url = f"{api}/showtimes/{show.showtime_id}/overview"
        for _ in range(20):  # warm: cold workers and the read model
            if not requests.get(url, headers={"Authorization": token}, timeout=30).json()["degraded"]:
                break
            time.sleep(0.5)
        results = {"fan_out": measure(url, token, requests_count=args.requests)}
        results["hung_backend"] = measure_hung(url, token, endpoint, tenant)
    print(json.dumps(results, indent=2))
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
