"""CQRS read models (challenge 5) after a real deploy: writes go to DynamoDB through the booking API; the projector
builds the read models in Aurora from their events; GET /showtimes, GET /me/orders and GET /reports/sales read only
the read models. The test follows one order from hold to sale and prints each model's lag as a client sees it.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from tests.e2e.booking_helpers import create_showtime, hold, token
from tests.waiting import wait_for

RUN = uuid.uuid4().hex[:6]
TENANT = f"cqrs-{RUN}"
CARD_OK = "4242424242424242"
TIMEOUT = 30


def get(api: str, path: str, tok: str, **params: Any) -> requests.Response:
    return requests.get(f"{api}{path}", params=params, headers={"Authorization": tok}, timeout=TIMEOUT)


def listing(api: str, tok: str, showtime_id: str) -> dict[str, Any] | None:
    cursor = None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        response = get(api, "/showtimes", tok, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        for item in body["items"]:
            if item["showtimeId"] == showtime_id:
                return dict(item)
        cursor = body["nextCursor"]
        if not cursor:
            return None


def test_an_order_reaches_every_read_model_and_each_query_reads_only_its_model(
    api: str, deployed: dict[str, Any]
) -> None:
    staff = token(deployed, TENANT, "staff1", "staff")
    customer = token(deployed, TENANT, "buyer")
    show = create_showtime(api, deployed, TENANT, rows=2, per_row=5, unavailable=["A1"])

    started = time.perf_counter()
    scheduled = wait_for(lambda: listing(api, customer, show.showtime_id), timeout=TIMEOUT, interval=0.05)
    lag_listed = time.perf_counter() - started
    assert scheduled["availability"] == {"capacity": 9, "free": 9, "held": 0, "sold": 0}
    assert scheduled["city"] == "Porto" and scheduled["price"] == {"amount": 900, "currency": "EUR"}

    held = hold(api, customer, show.showtime_id, ["B1", "B2"])
    assert held.status_code == 201, held.text
    started = time.perf_counter()
    wait_for(
        lambda: listing(api, customer, show.showtime_id)["availability"]["held"] == 2,  # type: ignore[index]
        timeout=TIMEOUT,
        interval=0.05,
    )
    lag_held = time.perf_counter() - started

    placed = requests.post(
        f"{api}/orders",
        json={"holdId": held.json()["holdId"], "card": CARD_OK},
        headers={"Authorization": customer},
        timeout=120,
    )
    assert placed.status_code in (201, 202), placed.text
    order_id = placed.json()["orderId"]

    def confirmed() -> dict[str, Any] | None:
        items = get(api, "/me/orders", customer).json()["items"]
        return next((o for o in items if o["orderId"] == order_id and o["status"] == "CONFIRMED"), None)

    order = wait_for(confirmed, timeout=90, interval=0.1)
    assert order["seatIds"] == ["B1", "B2"] and order["amount"] == {"amount": 1800, "currency": "EUR"}
    assert order["showtimeId"] == show.showtime_id and order["paymentId"]
    sold = wait_for(
        lambda: (item := listing(api, customer, show.showtime_id)) and item["availability"]["sold"] == 2 and item,
        timeout=TIMEOUT,
        interval=0.05,
    )
    assert sold["availability"] == {"capacity": 9, "free": 7, "held": 0, "sold": 2}

    today = datetime.now(UTC).date().isoformat()
    report = wait_for(
        lambda: get(api, "/reports/sales", staff, **{"from": today, "to": today}).json()["rows"], timeout=TIMEOUT,
        interval=0.1,
    )  # fmt: skip
    assert report == [
        {
            "day": today,
            "movieId": show.movie_id,
            "title": "Race Condition",
            "cinemaId": show.cinema_id,
            "cinemaName": report[0]["cinemaName"],
            "orders": 1,
            "seats": 2,
            "revenue": {"amount": 1800, "currency": "EUR"},
        }
    ]
    # another customer of the tenant sees none of it, and another tenant nothing at all
    assert get(api, "/me/orders", token(deployed, TENANT, "someone-else")).json()["items"] == []
    other_staff = token(deployed, f"cqrs-other-{RUN}", "staff1", "staff")
    assert get(api, "/reports/sales", other_staff, **{"from": today, "to": today}).json()["rows"] == []
    assert listing(api, token(deployed, f"cqrs-other-{RUN}", "buyer"), show.showtime_id) is None
    print(
        f"read-model lag seen by a client: listed {lag_listed * 1000:.0f} ms, held {lag_held * 1000:.0f} ms "
        "(polled every 50 ms over HTTP)"
    )


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/showtimes", {"cursor": "not-a-cursor"}, 400),
        ("/showtimes", {"limit": "0"}, 400),
        ("/showtimes", {"limit": "abc"}, 400),
        ("/me/orders", {"cursor": "e30"}, 400),
        ("/me/orders", {"cursor": "x" * 301}, 400),
        ("/reports/sales", {"from": "2026-12-05", "to": "2026-12-01"}, 400),
        ("/reports/sales", {"from": "2024-01-01", "to": "2026-12-01"}, 400),
        ("/reports/sales", {"from": "0", "to": "2026-12-01"}, 400),
        ("/reports/sales", {"from": "2026-12-01"}, 400),
        ("/reports/sales", {"from": "2026-13-01", "to": "2026-12-01"}, 400),
    ],
)
def test_bad_query_input_is_a_problem_never_a_server_error(
    api: str, deployed: dict[str, Any], path: str, params: dict[str, str], status: int
) -> None:
    response = get(api, path, token(deployed, TENANT, "staff1", "staff"), **params)
    assert response.status_code in (status, 422), response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")


def test_sales_reports_are_for_staff_only(api: str, deployed: dict[str, Any]) -> None:
    response = get(api, "/reports/sales", token(deployed, TENANT, "buyer"), **{"from": "2026-12-01", "to": "2026-12-02"})
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("application/problem+json")
