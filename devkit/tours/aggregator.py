"""Tour scenario of the API aggregator (challenge 17): one overview from four services; then recommendations made to
hang for this tenant by the chaos flag, and the overview still answers within their 0.8 s timeout, that section named
as degraded, with the sections' timings as evidence."""

from __future__ import annotations

import time
from typing import Any

from devkit import chaos
from devkit.layer import use_layer
from devkit.tour import Tour, expect, scenario

use_layer()

TENANT = "tour-overview"


def _showtime(tour: Tour, staff: str) -> str:
    def create(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = tour.call("POST", path, token=staff, json=body)
        expect(response.status_code == 201, f"POST {path} gave {response.status_code}: {response.text}")
        return dict(response.json())

    cinema = create("/cinemas", {"name": "Aggregate Hall", "city": "Braga"})
    auditorium = create("/auditoriums", {"cinemaId": cinema["cinemaId"], "name": "Sala 1", "rows": 2, "seatsPerRow": 5})
    movie = create("/movies", {"title": "Fan Out", "runtimeMinutes": 99, "genres": ["thriller"]})
    body = {
        "movieId": movie["movieId"],
        "auditoriumId": auditorium["auditoriumId"],
        "startsAt": "2031-06-01T20:00:00Z",
        "price": {"amount": 800, "currency": "EUR"},
    }
    return str(create("/showtimes", body)["showtimeId"])


def _timings(response: Any) -> str:
    return str(response.headers.get("Server-Timing", ""))


@scenario("aggregator: one overview from four services; a hung backend costs its timeout, its section degraded")
def _degraded_overview(tour: Tour) -> list[str]:
    customer = tour.token(TENANT, "olga")
    showtime = _showtime(tour, tour.token(TENANT, "staff1", "staff"))
    path = f"/showtimes/{showtime}/overview"
    healthy = None
    for _ in range(60):  # cold workers and the read model settle (polled at 2/s, inside the plan's read rate)
        response = tour.call("GET", path, token=customer)
        expect(response.status_code == 200, f"GET {path} gave {response.status_code}: {response.text}")
        if not response.json()["degraded"] and response.json()["availability"]:
            healthy = response
            break
        time.sleep(0.5)
    expect(healthy is not None, "the overview never had all four sections")
    assert healthy is not None
    lines = [f"healthy: degraded={healthy.json()['degraded']}; Server-Timing: {_timings(healthy)}"]
    before = chaos.inject_latency(tour.endpoint_url, tenant=TENANT, service="recommendations", delay_ms=5_000)
    try:
        for _ in range(40):  # the flag reaches the function within its 5 s cache age
            started = time.perf_counter()
            response = tour.call("GET", path, token=customer)
            elapsed = time.perf_counter() - started
            body = response.json()
            if body["sections"]["recommendations"]["status"] == "timeout":
                expect(response.status_code == 200, f"a degraded overview answered {response.status_code}")
                expect(body["degraded"] == ["recommendations"], f"degraded: {body['degraded']}")
                expect(body["recommendations"] is None and body["catalog"] is not None, "sections wrong")
                lines += [
                    f"recommendations made to sleep 5 s (flag chaos_latency_ms, tenant {TENANT} only): HTTP "
                    f"{response.status_code} in {elapsed:.2f} s, degraded={body['degraded']}",
                    f"Server-Timing: {_timings(response)}",
                    f"X-Request-Id: {response.headers.get('X-Request-Id')}",
                ]
                return lines
            time.sleep(0.5)
        expect(False, "the chaos flag never made recommendations time out")
    finally:
        chaos.restore(tour.endpoint_url, before)
    return lines
