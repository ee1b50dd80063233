"""CQRS read models (challenge 5): the lag from a write's commit to its read model, and a rebuild under reads.

On a fresh local cloud (or a running one), through the deployed API as a client would:
1. **lag**: a staff user schedules a showtime; customers hold and release seats one after another at a steady rate
   (each hold writes HoldCreated, each release HoldReleased); the projector's event log gives each event's
   ``projected_at - occurred_at`` (occurredAt is stamped just before the write commits): p50, p99 and max. A sample
   of holds is also timed as a client sees it: from the hold's 201 until GET /showtimes counts it;
2. **rebuild**: ``marquee.projections.rebuild`` of the availability model while a reader thread keeps calling
   GET /showtimes: events replayed, replay and swap time, reads served during the rebuild, failed reads, slowest read.

    python -m bench.projections                    # fresh cloud in a temporary directory, deploy, measure
    python -m bench.projections --events 400       # more holds
    python -m bench.projections --endpoint http://localhost:4566   # a running cloud with the stack deployed

Figures are printed and written to bench/projections.json; docs/benchmarks.md has the recorded run. Never asserted.
The goal (issue 10): p99 lag <= 1 s on an idle local cloud.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "layers" / "common" / "python")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

RESULTS_FILE = ROOT / "bench" / "projections.json"
TENANT = "bench-cqrs"


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else 0.0


class Api:
    def __init__(self, base: str, staff: str, customer: str) -> None:
        import requests

        self.base = base
        self.staff = staff
        self.customer = customer
        self.http = requests.Session()

    def call(self, method: str, path: str, token: str, **kwargs: Any) -> Any:
        response = self.http.request(
            method, f"{self.base}{path}", headers={"Authorization": token}, timeout=60, **kwargs
        )
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def showtime(self) -> str:
        cinema = self.call("POST", "/cinemas", self.staff, json={"name": "Bench Cinema", "city": "Lisbon"})
        auditorium = self.call(
            "POST",
            "/auditoriums",
            self.staff,
            json={"cinemaId": cinema["cinemaId"], "name": "One", "rows": 20, "seatsPerRow": 25},
        )
        movie = self.call("POST", "/movies", self.staff, json={"title": "Eventually Consistent", "runtimeMinutes": 99})
        starts = datetime.now(UTC).replace(microsecond=0).isoformat()
        body = {
            "movieId": movie["movieId"],
            "auditoriumId": auditorium["auditoriumId"],
            "startsAt": starts,
            "price": {"amount": 800, "currency": "EUR"},
        }
        return str(self.call("POST", "/showtimes", self.staff, json=body)["showtimeId"])

    def held(self, showtime_id: str) -> int | None:
        page = self.call("GET", "/showtimes", self.customer, params={"limit": 100})
        for item in page["items"]:
            if item["showtimeId"] == showtime_id:
                return int(item["availability"]["held"])
        return None


def measure_lag(api: Api, data: Any, *, events: int, rate: float, client_samples: int) -> dict[str, Any]:
    from devkit.projections import lag

    cold_at = datetime.now(UTC)
    showtime_id = api.showtime()
    while api.held(showtime_id) is None:
        time.sleep(0.02)
    cold = lag(data, window=50, since=cold_at)  # the catalog's first events: cold router and projector workers
    started_at = datetime.now(UTC)  # steady state from here: the functions are warm
    seats = [f"{chr(65 + r)}{n}" for r in range(20) for n in range(1, 26)]
    client_ms: list[float] = []
    every = max(1, (events // 2) // max(1, client_samples))
    interval = 1.0 / rate
    for i in range(events // 2):
        sampled = i % every == 0
        if sampled:  # the previous release must show first, or the previous hold would be counted
            while api.held(showtime_id) != 0:
                time.sleep(0.03)  # under the standard plan's 50 reads/s per user (pattern 1)
        tick = time.perf_counter()
        hold = api.call(
            "POST", f"/showtimes/{showtime_id}/holds", api.customer, json={"seats": [seats[i % len(seats)]]}
        )
        if sampled:
            t0 = time.perf_counter()
            while (api.held(showtime_id) or 0) < 1:
                time.sleep(0.03)  # under the standard plan's 50 reads/s per user (pattern 1)
            client_ms.append((time.perf_counter() - t0) * 1000)
        api.call("DELETE", f"/holds/{hold['holdId']}", api.customer)
        time.sleep(max(0.0, interval * 2 - (time.perf_counter() - tick)))
    time.sleep(2)  # let the last events land before reading the log
    server = lag(data, window=events + 10, since=started_at)
    return {
        "cold_events": cold.events,
        "cold_max_ms": round(cold.max_ms, 1),
        "events": server.events,
        "rate_per_s": rate,
        "lag_p50_ms": round(server.p50_ms, 1),
        "lag_p99_ms": round(server.p99_ms, 1),
        "lag_max_ms": round(server.max_ms, 1),
        "client_samples": len(client_ms),
        "client_p50_ms": round(pct(client_ms, 50), 1),
        "client_p99_ms": round(pct(client_ms, 99), 1),
    }


def measure_rebuild(api: Api, data: Any) -> dict[str, Any]:
    from marquee.projections.rebuild import rebuild

    stop = threading.Event()
    reads: list[float] = []
    failures: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                api.call("GET", "/showtimes", api.customer, params={"limit": 20})
                reads.append((time.perf_counter() - t0) * 1000)
            except Exception as exc:  # noqa: BLE001 - a failed read is the figure
                failures.append(str(exc)[:200])
            time.sleep(0.04)  # about 20 reads/s: inside the standard plan's read limit (pattern 1)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    time.sleep(0.5)
    report = rebuild(data, "availability")
    time.sleep(0.5)
    stop.set()
    thread.join()
    return {
        "events_replayed": report.events_replayed,
        "replay_s": round(report.replay_seconds, 2),
        "swap_ms": round(report.swap_seconds * 1000, 1),
        "generation": report.new_generation,
        "differences": report.differences,
        "reads": len(reads),
        "failed_reads": len(failures),
        "read_p50_ms": round(statistics.median(reads), 1) if reads else None,
        "read_max_ms": round(max(reads), 1) if reads else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", help="a running local cloud with the stack deployed")
    parser.add_argument("--events", type=int, default=200, help="events written (holds + releases)")
    parser.add_argument("--rate", type=float, default=5.0, help="events per second")
    parser.add_argument("--client-samples", type=int, default=20)
    args = parser.parse_args()

    from bench.stack import deployed_stack
    from devkit.identity import ApiClient
    from devkit.projections import data_api

    results: dict[str, Any] = {}
    with deployed_stack(args.endpoint, prefix="bench-cqrs-") as stack:
        endpoint, outputs = stack.endpoint, stack.outputs
        client = ApiClient(endpoint, outputs)
        api = Api(stack.api, client.token(TENANT, "staff1", "staff"), client.token(TENANT, "buyer", "customer"))
        data = data_api(endpoint, outputs)
        results["lag"] = measure_lag(api, data, events=args.events, rate=args.rate, client_samples=args.client_samples)
        lag = results["lag"]
        print(
            f"first events (cold functions): {lag['cold_events']}, slowest {lag['cold_max_ms']} ms; "
            f"lag commit -> read model over {lag['events']} events at {lag['rate_per_s']}/s: p50 {lag['lag_p50_ms']} ms, "
            f"p99 {lag['lag_p99_ms']} ms, max {lag['lag_max_ms']} ms; as a client sees it (hold 201 -> GET /showtimes "
            f"counts it, {lag['client_samples']} samples): p50 {lag['client_p50_ms']} ms, p99 {lag['client_p99_ms']} ms",
            flush=True,
        )
        results["rebuild"] = rb = measure_rebuild(api, data)
        print(
            f"rebuild availability: {rb['events_replayed']} events replayed in {rb['replay_s']} s, compared and swapped "
            f"in {rb['swap_ms']} ms, differences {rb['differences']}; {rb['reads']} reads meanwhile, "
            f"{rb['failed_reads']} failed, p50 {rb['read_p50_ms']} ms, slowest {rb['read_max_ms']} ms",
            flush=True,
        )
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS_FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
