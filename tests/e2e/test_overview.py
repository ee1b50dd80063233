"""The API aggregator (challenge 17) and real-time recommendations (design question 5) on the deployed stack.

One tenant, two showtimes in Porto (two movies). The overview of the first answers its four sections; an
OrderConfirmed for the second (on the bus, as the outbox relay publishes it) makes the second movie "popular now" in
the first's recommendations within seconds; a throttled backend (reserved concurrency 0) degrades its section only; a
backend made to hang by the chaos flag costs its timeout only; another tenant gets a 404.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests

from bench.aggregator import measure
from devkit import chaos
from devkit.events import publish_event
from devkit.functions import deployed_function
from infra import constants
from tests import waiting
from tests.e2e.booking_helpers import Show, create_showtime, token

TENANT = f"ov-{uuid.uuid4().hex[:6]}"
TIMEOUT = 30
RECOMMENDATIONS_TIMEOUT_S = constants.OVERVIEW_SECTION_TIMEOUTS_MS["recommendations"] / 1000


def get(api: str, tok: str, show: Show) -> requests.Response:
    return requests.get(f"{api}/showtimes/{show.showtime_id}/overview", headers={"Authorization": tok}, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def shows(api: str, deployed: dict[str, Any]) -> tuple[Show, Show]:
    return create_showtime(api, deployed, TENANT, rows=1, per_row=4), create_showtime(
        api, deployed, TENANT, rows=1, per_row=4
    )


@pytest.fixture(scope="module")
def customer(deployed: dict[str, Any]) -> str:
    return token(deployed, TENANT, "viewer")


def recommendations_function(deployed: dict[str, Any]) -> str:
    return deployed_function(deployed["endpoint"], "recommendations")


def test_the_overview_answers_four_sections_and_recommends_what_sells_within_seconds(
    api: str, deployed: dict[str, Any], sdk: Any, shows: tuple[Show, Show], customer: str
) -> None:
    first, second = shows

    def complete() -> dict[str, Any] | None:  # cold workers, the projection and the showtimes' events settle
        response = get(api, customer, first)
        assert response.status_code == 200, response.text
        body = response.json()
        showing = {i["movieId"] for i in (body["recommendations"] or {}).get("items", [])}
        return body if not body["degraded"] and body["availability"] and second.movie_id in showing else None

    body = waiting.wait_for(complete, timeout=60, interval=0.5)
    assert body["catalog"]["movie"]["title"] == "Race Condition" and body["catalog"]["showtimeId"] == first.showtime_id
    assert body["availability"]["city"] == "Porto" and body["availability"]["availability"]["capacity"] == 4
    assert body["myOrders"] == []
    (pick,) = [i for i in body["recommendations"]["items"] if i["movieId"] == second.movie_id]
    reason = {k: v for k, v in pick["reason"].items() if v is not None}
    assert reason == {"kind": "now-showing", "detail": "Now showing in Porto", "scope": "Porto"}

    published = time.monotonic()
    publish_event(
        sdk("events"),
        deployed["outputs"]["EventBusName"],
        "OrderConfirmed",
        tenant_id=TENANT,
        data={
            "orderId": f"ord_{uuid.uuid4().hex[:20]}",
            "customerId": "someone-else",
            "showtimeId": second.showtime_id,
            "seatIds": ["A1", "A2", "A3"],
            "amount": {"amount": 2700, "currency": "EUR"},
            "paymentId": f"pay_{uuid.uuid4().hex[:20]}",
        },
    )

    def popular() -> dict[str, Any] | None:
        items = get(api, customer, first).json()["recommendations"]["items"]
        return next(
            (i for i in items if i["movieId"] == second.movie_id and i["reason"]["kind"] == "popular-now"), None
        )

    item = waiting.wait_for(popular, timeout=20, interval=0.25)
    seconds = time.monotonic() - published
    print(f"\nOrderConfirmed -> popular now in the overview: {seconds:.2f} s")
    assert item["reason"]["scope"] == "Porto" and item["reason"]["score"] == pytest.approx(3.0, rel=0.05)
    assert seconds < 10
    # The figures of docs/benchmarks.md (bench/aggregator.py): printed, never asserted.
    figures = measure(f"{api}/showtimes/{first.showtime_id}/overview", customer, requests_count=40)
    print(f"bench.aggregator.measure, 40 overviews at 10/s: {figures}")


def test_a_throttled_backend_degrades_its_section_and_the_answer_is_still_a_200(
    api: str, deployed: dict[str, Any], sdk: Any, shows: tuple[Show, Show], customer: str
) -> None:
    name = recommendations_function(deployed)
    sdk("lambda").put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    try:
        response = get(api, customer, shows[0])
    finally:
        sdk("lambda").delete_function_concurrency(FunctionName=name)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["degraded"] == ["recommendations"] and body["recommendations"] is None
    # The throttle is a 429 on AWS ("failed"); on the local cloud it was seen to come back after the 0.8 s timeout.
    section = body["sections"]["recommendations"]
    print(f"\nthrottled backend: {section}")
    assert section["status"] in ("failed", "timeout") and section["ms"] < RECOMMENDATIONS_TIMEOUT_S * 1000 + 150
    assert body["catalog"] is not None and body["myOrders"] == []


def test_a_hung_backend_costs_its_timeout_and_nothing_more(
    api: str, deployed: dict[str, Any], shows: tuple[Show, Show], customer: str
) -> None:
    before = chaos.inject_latency(deployed["endpoint"], tenant=TENANT, service="recommendations", delay_ms=5_000)
    try:

        def hung() -> tuple[requests.Response, float] | None:
            started = time.monotonic()
            response = get(api, customer, shows[0])
            elapsed = time.monotonic() - started
            status = response.json()["sections"]["recommendations"]["status"]
            return (response, elapsed) if status == "timeout" else None

        response, elapsed = waiting.wait_for(hung, timeout=30, interval=0.5)  # the flag reaches the function in <= 5 s
    finally:
        chaos.restore(deployed["endpoint"], before)
    body = response.json()
    assert response.status_code == 200 and body["degraded"] == ["recommendations"]
    assert body["sections"]["recommendations"]["ms"] < RECOMMENDATIONS_TIMEOUT_S * 1000 + 150
    assert body["catalog"] is not None and body["availability"] is not None
    print(
        f"\nhung backend (5 s): the overview answered in {elapsed:.2f} s over HTTP; {response.headers['Server-Timing']}"
    )
    assert elapsed < RECOMMENDATIONS_TIMEOUT_S + 1.5  # its 0.8 s timeout, the front door and the function, not 5 s


def test_another_tenant_gets_a_404_that_says_nothing_of_the_showtime(
    api: str, deployed: dict[str, Any], shows: tuple[Show, Show]
) -> None:
    stranger = token(deployed, f"{TENANT}-other", "stranger")
    response = get(api, stranger, shows[0])
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("application/problem+json")
    assert "Race Condition" not in response.text and "Porto" not in response.text
