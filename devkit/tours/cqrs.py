"""Tour scenarios of CQRS (challenge 5): an order reaching every read model, with the lag a client sees; a read model
rebuilt into a new generation while a reader keeps reading, proven equal to the live one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from devkit.layer import use_layer
from devkit.projections import data_api, lag
from devkit.tour import Tour, expect, scenario

use_layer()

from marquee.projections.rebuild import rebuild  # noqa: E402

TENANT = "tour-cqrs"
GOOD_CARD = "4242424242424242"


def _until(check: Callable[[], Any], what: str, timeout: float = 30) -> float:
    """Poll ``check`` every 50 ms (within the standard plan's read rate, pattern 1); the seconds it took."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if check():
            return time.perf_counter() - started
        time.sleep(0.05)
    raise AssertionError(f"{what} did not show within {timeout} s")


def _listing(tour: Tour, token: str, showtime_id: str) -> dict[str, Any] | None:
    page = tour.call("GET", "/showtimes", token=token, params={"limit": 100}).json()
    return next((s for s in page["items"] if s["showtimeId"] == showtime_id), None)


def _showtime(tour: Tour, staff: str) -> str:
    def create(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = tour.call("POST", path, token=staff, json=body)
        expect(response.status_code == 201, f"POST {path} gave {response.status_code}: {response.text}")
        return dict(response.json())

    cinema = create("/cinemas", {"name": "Projection Hall", "city": "Recife"})
    auditorium = create("/auditoriums", {"cinemaId": cinema["cinemaId"], "name": "Sala 5", "rows": 2, "seatsPerRow": 5})
    movie = create("/movies", {"title": "Read Your Writes", "runtimeMinutes": 95})
    body = {
        "movieId": movie["movieId"],
        "auditoriumId": auditorium["auditoriumId"],
        "startsAt": "2031-06-01T20:00:00Z",
        "price": {"amount": 1500, "currency": "BRL"},
    }
    return str(create("/showtimes", body)["showtimeId"])


@scenario("cqrs: an order reaches the listing, the order history and the sales report, each read model with its lag")
def _order_reaches_read_models(tour: Tour) -> list[str]:
    staff = tour.token(TENANT, "staff1", "staff")
    customer = tour.token(TENANT, "ana")
    showtime_id = _showtime(tour, staff)
    listed_s = _until(lambda: _listing(tour, customer, showtime_id), "the new showtime in GET /showtimes")
    held = tour.call("POST", f"/showtimes/{showtime_id}/holds", token=customer, json={"seats": ["A1", "A2"]})
    expect(held.status_code == 201, f"hold gave {held.status_code}: {held.text}")
    held_s = _until(
        lambda: (_listing(tour, customer, showtime_id) or {}).get("availability", {}).get("held") == 2,
        "the hold in the listing's counts",
    )
    placed = tour.call("POST", "/orders", token=customer, json={"holdId": held.json()["holdId"], "card": GOOD_CARD})
    expect(placed.status_code == 202, f"POST /orders gave {placed.status_code}: {placed.text}")
    order_id = placed.json()["orderId"]

    def confirmed() -> bool:
        items = tour.call("GET", "/me/orders", token=customer).json()["items"]
        return any(o["orderId"] == order_id and o["status"] == "CONFIRMED" for o in items)

    order_s = _until(confirmed, "the confirmed order in GET /me/orders", timeout=60)
    availability = (_listing(tour, customer, showtime_id) or {})["availability"]
    today = datetime.now(UTC).date().isoformat()
    rows: list[dict[str, Any]] = []

    def sold() -> bool:
        rows[:] = tour.call("GET", "/reports/sales", token=staff, params={"from": today, "to": today}).json()["rows"]
        return any(r["title"] == "Read Your Writes" for r in rows)

    _until(sold, "the sale in GET /reports/sales")
    sale = next(r for r in rows if r["title"] == "Read Your Writes")
    recent = lag(data_api(tour.endpoint_url, tour.outputs), window=200)
    return [
        f"POST /showtimes -> listed by GET /showtimes after {listed_s * 1000:.0f} ms "
        f"(capacity {availability['capacity']})",
        f"POST /showtimes/{{id}}/holds A1,A2 -> listing counts held=2 after {held_s * 1000:.0f} ms",
        f"POST /orders -> GET /me/orders shows CONFIRMED after {order_s:.1f} s (the saga runs first)",
        f"listing now: {availability}",
        f"GET /reports/sales (staff) -> {sale['day']} {sale['title']!r} at {sale['cinemaName']}: "
        f"{sale['orders']} order, {sale['seats']} seats, {sale['revenue']}",
        f"projector lag, commit -> read model, last {recent.events} events: p50 {recent.p50_ms:.0f} ms, "
        f"p99 {recent.p99_ms:.0f} ms",
    ]


@scenario("cqrs: a read model is rebuilt from the event log while reads go on, proven equal to the live one")
def _rebuild_under_reads(tour: Tour) -> list[str]:
    customer = tour.token(TENANT, "reader")
    stop = threading.Event()
    reads: list[int] = []
    failures: list[int] = []

    def reader() -> None:
        while not stop.is_set():
            response = tour.call("GET", "/showtimes", token=customer, params={"limit": 20})
            (reads if response.status_code == 200 else failures).append(response.status_code)
            time.sleep(0.05)  # within the standard plan's read rate (pattern 1)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        report = rebuild(data_api(tour.endpoint_url, tour.outputs), "availability")
    finally:
        stop.set()
        thread.join(timeout=10)
    expect(not failures, f"{len(failures)} reads failed during the rebuild: {failures[:5]}")
    expect(set(report.differences.values()) == {0}, f"the rebuilt generation differs: {report.differences}")
    return [
        f"marquee projections rebuild availability: generation {report.old_generation} -> {report.new_generation}",
        f"  {report.events_replayed} events replayed in {report.replay_seconds:.2f} s; compared row by row "
        f"(differences {report.differences}) and swapped in {report.swap_seconds * 1000:.0f} ms",
        f"  GET /showtimes meanwhile: {len(reads)} answers 200, {len(failures)} failures",
    ]
