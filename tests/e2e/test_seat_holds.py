"""Seat holds through the front door (challenge 3): one winner per seat under 200 concurrent requests, no partial
multi-seat holds, expiry takeover with the stale holder's conversion refused, and clean 4xx for bad input."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from localcloud.aws import local_client
from marquee.booking import seats
from marquee.booking.errors import HoldExpired
from marquee.tenancy.tenant import TenantContext
from tests.e2e.booking_helpers import create_showtime, hold, token


def seat_map(api: str, deployed: dict[str, Any], tenant: str, showtime_id: str) -> dict[str, str]:
    response = requests.get(
        f"{api}/showtimes/{showtime_id}", headers={"Authorization": token(deployed, tenant, "viewer")}, timeout=60
    )
    assert response.status_code == 200, response.text
    return {s["seatId"]: s["state"] for s in response.json()["seats"]}


def test_200_concurrent_holds_of_one_seat_give_exactly_one_201_and_199_409(api: str, deployed: dict[str, Any]) -> None:
    show = create_showtime(api, deployed, "race")
    tokens = [token(deployed, "race", f"fan{i}") for i in range(10)]
    with ThreadPoolExecutor(48) as pool:
        responses = list(pool.map(lambda i: hold(api, tokens[i % 10], show.showtime_id, ["C5"]), range(200)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1, sorted(set(statuses))
    assert statuses.count(409) == 199
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert refused.json()["seats"] == ["C5"]
    assert seat_map(api, deployed, "race", show.showtime_id)["C5"] == "held"


def test_overlapping_multi_seat_holds_never_leave_a_partial_hold(api: str, deployed: dict[str, Any]) -> None:
    show = create_showtime(api, deployed, "overlap", rows=2, per_row=10)
    rng = random.Random(7)  # noqa: S311 - a reproducible test workload, not cryptography
    row = [f"A{i}" for i in range(1, 11)]
    requests_ = [sorted(rng.sample(row, rng.randint(2, 4))) for _ in range(60)]
    tokens = [token(deployed, "overlap", f"fan{i}") for i in range(6)]
    with ThreadPoolExecutor(24) as pool:
        responses = list(pool.map(lambda i: hold(api, tokens[i % 6], show.showtime_id, requests_[i]), range(60)))
    winners = [r.json() for r in responses if r.status_code == 201]
    assert {r.status_code for r in responses} <= {201, 409}
    held_by_winners = [s["seatId"] for w in winners for s in w["seats"]]
    assert len(held_by_winners) == len(set(held_by_winners)), "a seat was held twice"
    states = seat_map(api, deployed, "overlap", show.showtime_id)
    held = sorted(s for s, state in states.items() if state == "held")
    assert held == sorted(held_by_winners), "every held seat belongs to a complete winning hold, and vice versa"


def test_an_expired_hold_is_taken_over_and_the_stale_holders_convert_is_refused(
    api: str, deployed: dict[str, Any]
) -> None:
    show = create_showtime(api, deployed, "expiry", lease=1)
    stale = hold(api, token(deployed, "expiry", "slow"), show.showtime_id, ["B2", "B3"])
    assert stale.status_code == 201, stale.text
    time.sleep(1.2)
    fresh = hold(api, token(deployed, "expiry", "fast"), show.showtime_id, ["B3"])
    assert fresh.status_code == 201, fresh.text
    assert fresh.json()["seats"] == [{"seatId": "B3", "fence": 2}]
    ddb = local_client("dynamodb", deployed["endpoint"])
    table = deployed["outputs"]["TableName"]
    slow = TenantContext(tenant_id="expiry", user_id=stale.json()["customerId"])
    with pytest.raises(HoldExpired):
        seats.convert_hold(slow, stale.json()["holdId"], "ord_stale", table_name=table, client=ddb)
    # The fresh hold's 1 s lease may be over by now on a loaded machine: read the seat items, not the lease-based map.
    tenant = TenantContext(tenant_id="expiry", user_id="reader")
    items = seats.read_seats(tenant, show.showtime_id, ["B2", "B3"], table_name=table, client=ddb)
    assert items["B3"].holder == fresh.json()["holdId"] and items["B3"].fence == 2
    assert not items["B2"].sold_to and not items["B3"].sold_to, "nothing was sold to the stale holder"
    fast = TenantContext(tenant_id="expiry", user_id=fresh.json()["customerId"])
    seats.convert_hold(fast, fresh.json()["holdId"], "ord_fresh", table_name=table, client=ddb)
    assert seat_map(api, deployed, "expiry", show.showtime_id)["B3"] == "sold"


@pytest.fixture(scope="module")
def bad_input_show(api: str, deployed: dict[str, Any]) -> Any:
    return create_showtime(api, deployed, "badinput", rows=3, per_row=5, unavailable=["A1"])


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ("{not json", 400, "malformed-json"),
        ({"seats": []}, 422, "validation-error"),
        ({"seats": ["B1", "B1"]}, 422, "validation-error"),
        ({"seats": ["B1", "Z9"]}, 422, "unknown-seats"),
        ({"seats": [f"B{i}" for i in range(1, 6)] + [f"C{i}" for i in range(1, 7)]}, 422, "too-many-seats"),
        ({"seats": "B1"}, 422, "validation-error"),
        ({"seats": ["A1"]}, 409, "seats-taken"),
        ("x" * (256 * 1024 + 10), 413, "payload-too-large"),
    ],
)
def test_bad_hold_requests_get_a_problem_and_hold_nothing(
    api: str, deployed: dict[str, Any], bad_input_show: Any, body: Any, status: int, slug: str
) -> None:
    tok = token(deployed, "badinput", "mallory")
    kwargs: dict[str, Any] = {"data": body} if isinstance(body, str) else {"json": body}
    response = requests.post(
        f"{api}/showtimes/{bad_input_show.showtime_id}/holds",
        headers={"Authorization": tok, "Content-Type": "application/json"},
        timeout=60,
        **kwargs,
    )
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == f"urn:marquee:problem:{slug}"
    assert set(problem) >= {"type", "title", "status", "detail", "instance"}
    states = seat_map(api, deployed, "badinput", bad_input_show.showtime_id)
    assert "held" not in states.values()


def test_a_seat_of_another_showtime_is_unknown_here(api: str, deployed: dict[str, Any], bad_input_show: Any) -> None:
    other = create_showtime(api, deployed, "badinput", rows=6, per_row=5)
    response = hold(api, token(deployed, "badinput", "mallory"), bad_input_show.showtime_id, ["F1"])
    assert response.status_code == 422 and response.json()["seats"] == ["F1"]
    assert seat_map(api, deployed, "badinput", other.showtime_id)["F1"] == "free"


def test_holds_are_owned_and_release_is_idempotent(api: str, deployed: dict[str, Any], bad_input_show: Any) -> None:
    owner = token(deployed, "badinput", "owner")
    created = hold(api, owner, bad_input_show.showtime_id, ["C1", "C2"])
    assert created.status_code == 201, created.text
    url = f"{api}/holds/{created.json()['holdId']}"
    intruder = {"Authorization": token(deployed, "badinput", "intruder")}
    assert requests.get(url, headers=intruder, timeout=30).status_code == 404
    assert requests.delete(url, headers=intruder, timeout=30).status_code == 404
    assert requests.get(url, headers={"Authorization": owner}, timeout=30).json()["status"] == "ACTIVE"
    for _ in range(2):
        released = requests.delete(url, headers={"Authorization": owner}, timeout=30)
        assert released.status_code == 200 and released.json()["status"] == "RELEASED"
    states = seat_map(api, deployed, "badinput", bad_input_show.showtime_id)
    assert states["C1"] == states["C2"] == "free"
