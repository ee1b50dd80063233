"""Tour scenarios of the order saga (challenge 11): a confirmed order with its step history, and a declined card
compensating in reverse order with the seats free again. Everything goes through the deployed API: staff create the
catalog, a customer holds seats and orders them."""

from __future__ import annotations

import time
from typing import Any

from devkit.tour import Tour, expect, scenario

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
TENANT = "t1"


def _showtime(tour: Tour) -> str:
    staff = tour.token(TENANT, "saga-staff", "staff")

    def create(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = tour.call("POST", path, token=staff, json=body)
        expect(response.status_code == 201, f"POST {path} gave {response.status_code}: {response.text}")
        return dict(response.json())

    cinema = create("/cinemas", {"name": "Saga Palace", "city": "Lyon"})
    auditorium = create(
        "/auditoriums", {"cinemaId": cinema["cinemaId"], "name": "Room 11", "rows": 2, "seatsPerRow": 4}
    )
    movie = create("/movies", {"title": "The Compensation", "runtimeMinutes": 111})
    showtime = create(
        "/showtimes",
        {
            "movieId": movie["movieId"],
            "auditoriumId": auditorium["auditoriumId"],
            "startsAt": "2031-05-01T20:00:00Z",
            "price": {"amount": 1200, "currency": "EUR"},
        },
    )
    return str(showtime["showtimeId"])


def _order(tour: Tour, showtime_id: str, seats: list[str], card: str, user: str) -> tuple[dict[str, Any], float]:
    token = tour.token(TENANT, user)
    held = tour.call("POST", f"/showtimes/{showtime_id}/holds", token=token, json={"seats": seats})
    expect(held.status_code == 201, f"hold gave {held.status_code}: {held.text}")
    started = time.perf_counter()
    placed = tour.call("POST", "/orders", token=token, json={"holdId": held.json()["holdId"], "card": card})
    expect(placed.status_code == 202, f"POST /orders gave {placed.status_code}: {placed.text}")
    order_id = placed.json()["orderId"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        order = tour.call("GET", f"/orders/{order_id}", token=token).json()
        if order.get("status") in ("CONFIRMED", "FAILED"):
            return dict(order), time.perf_counter() - started
        time.sleep(0.25)
    raise AssertionError(f"order {order_id} did not finish within 60 s")


def _history(order: dict[str, Any]) -> list[str]:
    return [f"  {e['step']:<14} {e['status']:<8} {e.get('detail') or ''}" for e in order["history"]]


def _seat_states(tour: Tour, showtime_id: str, seats: list[str]) -> dict[str, str]:
    detail = tour.call("GET", f"/showtimes/{showtime_id}", token=tour.token(TENANT, "saga-viewer")).json()
    return {s["seatId"]: s["state"] for s in detail["seats"] if s["seatId"] in seats}


@scenario("saga: a good card confirms the order; each step is in its history")
def _confirmed(tour: Tour) -> list[str]:
    showtime_id = _showtime(tour)
    order, seconds = _order(tour, showtime_id, ["A1", "A2"], GOOD_CARD, "saga-alice")
    expect(order["status"] == "CONFIRMED", f"order is {order['status']}: {order.get('reason')}")
    expect([e["step"] for e in order["history"]][-1] == "ConfirmOrder", "ConfirmOrder is not the last step")
    states = _seat_states(tour, showtime_id, ["A1", "A2"])
    expect(set(states.values()) == {"sold"}, f"seats are {states}")
    return [
        f"POST /orders -> 202, CONFIRMED after {seconds * 1000:.0f} ms, {order['amount']['amount']} "
        f"{order['amount']['currency']} charged once as {order['paymentId']}",
        *_history(order),
        f"seats {states}",
    ]


@scenario("saga: a declined card compensates in reverse (refund if charged, release, FAILED); the seats are free")
def _declined(tour: Tour) -> list[str]:
    showtime_id = _showtime(tour)
    order, seconds = _order(tour, showtime_id, ["B1", "B2"], DECLINED_CARD, "saga-bob")
    expect(order["status"] == "FAILED", f"order is {order['status']}")
    steps = [e["step"] for e in order["history"]]
    expect(steps[-3:] == ["RefundPayment", "ReleaseSeats", "MarkFailed"], f"compensation order {steps}")
    states = _seat_states(tour, showtime_id, ["B1", "B2"])
    expect(set(states.values()) == {"free"}, f"seats are {states}")
    return [
        f"POST /orders -> 202, FAILED after {seconds * 1000:.0f} ms: {order['reason']}",
        *_history(order),
        f"seats {states} (bookable again)",
    ]
