"""Tour scenarios of seat holds (challenge 3) and tenant isolation (challenge 19), through the front door."""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from devkit.layer import use_layer
from devkit.seed import BookingApi
from devkit.tour import Tour, expect, scenario
from localcloud.aws import local_client


def _api(tour: Tour) -> BookingApi:
    return BookingApi(tour.endpoint_url, tour.outputs, session=tour.session)


def _hold(api: BookingApi, token: str, showtime_id: str, seats: list[str]) -> requests.Response:
    return requests.post(
        f"{api.base}/showtimes/{showtime_id}/holds",
        json={"seats": seats},
        headers={"Authorization": token},
        timeout=120,
    )


def _states(api: BookingApi, tenant: str, showtime_id: str) -> dict[str, str]:
    response = requests.get(
        f"{api.base}/showtimes/{showtime_id}", headers={"Authorization": api.token(tenant, "viewer")}, timeout=60
    )
    return {s["seatId"]: s["state"] for s in response.json()["seats"]}


@scenario("seat holds: 200 concurrent requests for the same seat -> exactly 1 hold (201) and 199 conflicts (409)")
def _race(tour: Tour) -> list[str]:
    api = _api(tour)
    showtime = api.showtime("tour-race", rows=3, per_row=10)
    tokens = [api.token("tour-race", f"fan{i}") for i in range(10)]
    started = time.perf_counter()
    with ThreadPoolExecutor(48) as pool:
        responses = list(pool.map(lambda i: _hold(api, tokens[i % 10], showtime["showtimeId"], ["B7"]), range(200)))
    took = time.perf_counter() - started
    statuses = [r.status_code for r in responses]
    expect(statuses.count(201) == 1 and statuses.count(409) == 199, f"statuses: {sorted(set(statuses))}")
    winner = next(r.json() for r in responses if r.status_code == 201)
    loser = next(r for r in responses if r.status_code == 409)
    return [
        f"200 racers in {took:.1f} s: {statuses.count(201)} x 201, {statuses.count(409)} x 409",
        f"winner {winner['holdId']} holds B7 with fencing token {winner['seats'][0]['fence']}",
        f"a loser got {loser.headers['Content-Type']}: {json.dumps(loser.json())[:160]}",
    ]


@scenario("seat holds: overlapping multi-seat requests never leave a partial hold (all or none)")
def _overlap(tour: Tour) -> list[str]:
    api = _api(tour)
    showtime = api.showtime("tour-overlap", rows=1, per_row=10)
    rng = random.Random(3)  # noqa: S311 - a reproducible demo workload
    wanted = [sorted(rng.sample([f"A{i}" for i in range(1, 11)], rng.randint(2, 4))) for _ in range(40)]
    token = api.token("tour-overlap", "crowd")
    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(lambda seats: _hold(api, token, showtime["showtimeId"], seats), wanted))
    winners = [r.json() for r in responses if r.status_code == 201]
    held = sorted(s for s, state in _states(api, "tour-overlap", showtime["showtimeId"]).items() if state == "held")
    won = sorted(s["seatId"] for w in winners for s in w["seats"])
    expect(held == won, f"held {held} but winners own {won}")
    return [
        f"40 requests of 2-4 overlapping seats: {len(winners)} won whole, {len(responses) - len(winners)} refused whole",
        f"held seats == union of the winners' seats: {', '.join(held)}",
    ]


@scenario("seat holds: an expired hold is taken over, and the stale holder's conversion is refused (fencing)")
def _takeover(tour: Tour) -> list[str]:
    use_layer()  # the saga's own call, made here with the layer's code (as a Lambda would)
    from marquee.booking import seats
    from marquee.booking.errors import HoldExpired
    from marquee.tenancy.tenant import TenantContext

    api = _api(tour)
    showtime = api.showtime("tour-expiry", rows=2, per_row=5, lease=1)
    stale = _hold(api, api.token("tour-expiry", "slow"), showtime["showtimeId"], ["A3"]).json()
    time.sleep(1.2)
    fresh = _hold(api, api.token("tour-expiry", "fast"), showtime["showtimeId"], ["A3"]).json()
    expect(fresh["seats"][0]["fence"] == stale["seats"][0]["fence"] + 1, "the fence did not move on")
    ddb = local_client("dynamodb", tour.endpoint_url)
    tenant = TenantContext(tenant_id="tour-expiry", user_id=stale["customerId"])
    try:
        seats.convert_hold(tenant, stale["holdId"], "ord_stale", table_name=tour.outputs["TableName"], client=ddb)
    except HoldExpired as exc:
        refused = f"refused: HoldExpired({exc.detail})"
    else:
        refused = ""
    expect(bool(refused), "the stale holder's conversion was accepted")
    return [
        f"slow holder: A3 with fence {stale['seats'][0]['fence']}, lease 1 s, then silence",
        f"fast holder after the lease: A3 with fence {fresh['seats'][0]['fence']}",
        f"slow holder's convert with fence {stale['seats'][0]['fence']} -> {refused}",
    ]


@scenario("tenant isolation: another tenant's showtime and hold ids are a 404, never a 403 or data")
def _isolation(tour: Tour) -> list[str]:
    api = _api(tour)
    showtime = api.showtime("tour-b", rows=1, per_row=5)
    hold = _hold(api, api.token("tour-b", "bob"), showtime["showtimeId"], ["A1"]).json()
    intruder = {"Authorization": api.token("tour-a", "eve")}
    lines = []
    for method, path, body in (
        ("GET", f"/showtimes/{showtime['showtimeId']}", None),
        ("POST", f"/showtimes/{showtime['showtimeId']}/holds", {"seats": ["A2"]}),
        ("GET", f"/holds/{hold['holdId']}", None),
        ("DELETE", f"/holds/{hold['holdId']}", None),
    ):
        response = requests.request(method, f"{api.base}{path}", headers=intruder, json=body, timeout=60)
        expect(response.status_code == 404, f"{method} {path} -> {response.status_code}")
        lines.append(f"tenant A: {method} {path} -> 404 {response.json()['type']}")
    return lines
