"""The edge on the deployed stack (challenges 1 and 7): a seat map served from Valkey and invalidated when a hold is
placed, within a second (measured and printed; the holds function bumps the generation as it writes, the hold's event
bumps it again), and per-tenant rate limits changed at run time through the flags."""

from __future__ import annotations

import copy
import time
from typing import Any

import requests

from devkit.flags import FlagsClient
from marquee.ratelimit import FLAG
from tests.e2e.booking_helpers import create_showtime, hold, token


def _seat_state(api: str, tok: str, showtime_id: str, seat: str) -> str:
    response = requests.get(f"{api}/showtimes/{showtime_id}", headers={"Authorization": tok}, timeout=60)
    assert response.status_code == 200, response.text
    assert "RateLimit" in response.headers and "RateLimit-Policy" in response.headers
    return next(s["state"] for s in response.json()["seats"] if s["seatId"] == seat)


def test_a_hold_is_visible_in_the_cached_seat_map_within_a_second(api: str, deployed: dict[str, Any]) -> None:
    show = create_showtime(api, deployed, "edge", rows=2, per_row=5)
    viewer = token(deployed, "edge", "viewer")
    figures = []
    for seat in ("A1", "A2", "A3"):
        assert _seat_state(api, viewer, show.showtime_id, seat) == "free"  # cached now (2 s)
        assert _seat_state(api, viewer, show.showtime_id, seat) == "free"
        response = hold(api, token(deployed, "edge", f"fan-{seat}"), show.showtime_id, [seat])
        assert response.status_code == 201, response.text
        held_at = time.monotonic()
        while _seat_state(api, viewer, show.showtime_id, seat) != "held":
            assert time.monotonic() - held_at < 3.0, "the hold never showed"
            time.sleep(0.02)
        figures.append(time.monotonic() - held_at)
    print(f"\nhold -> visible in the cached seat map: {', '.join(f'{f * 1000:.0f} ms' for f in figures)}")
    assert max(figures) < 1.0  # the entry lives 2 s: under a second means the event invalidated it


def test_a_tenants_plan_changes_at_run_time_and_its_flood_never_throttles_another(
    api: str, deployed: dict[str, Any]
) -> None:
    show = create_showtime(api, deployed, "edge-rl", rows=1, per_row=2)
    flags_client = FlagsClient(deployed["endpoint"])
    _, flags = flags_client.current()
    changed = copy.deepcopy(flags)
    tiny = {
        "plan": "tiny",
        "read": {"count": 1, "periodS": 60, "burst": 2},
        "write": {"count": 1, "periodS": 60, "burst": 0},
    }
    changed[FLAG].setdefault("rules", {})["edge e2e tiny plan"] = {
        "when_match": tiny,
        "conditions": [{"action": "KEY_IN_VALUE", "key": "tenant", "value": ["edge-rl"]}],
    }
    flags_client.deploy(changed)
    try:
        time.sleep(6)  # FLAGS_MAX_AGE_SECONDS (5): every function has seen the new plan
        tok = token(deployed, "edge-rl", "flooder")
        url = f"{api}/showtimes/{show.showtime_id}"
        responses = [requests.get(url, headers={"Authorization": tok}, timeout=60) for _ in range(5)]
        assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
        refused = responses[3]
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["RateLimit-Policy"] == '"read";q=3;w=180'
        assert refused.headers["RateLimit"].startswith('"read";r=0;t=')
        assert refused.json()["type"] == "urn:marquee:problem:rate-limited"
        other = token(deployed, "edge", "calm")
        assert requests.get(f"{api}/showtimes", headers={"Authorization": other}, timeout=60).status_code == 200
    finally:
        flags_client.deploy(flags)


def test_the_partner_listing_needs_the_partner_key_and_its_usage_plan_throttles_it(
    api: str, deployed: dict[str, Any]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tests.e2e.booking_helpers import partner_key

    key = partner_key(deployed)
    show = create_showtime(api, deployed, "partner-edge", rows=1, per_row=2)
    partner = token(deployed, "partner-edge", "partner-app")
    url = f"{api}/partner/showtimes"

    def listing(path: str, **headers: str) -> requests.Response:
        return requests.get(f"{api}{path}", headers={"Authorization": partner, **headers}, timeout=60)

    deadline = time.monotonic() + 30  # the listing is a read model: wait for the projection
    while show.showtime_id not in {i["showtimeId"] for i in listing("/showtimes").json()["items"]}:
        assert time.monotonic() < deadline, "the showtime never reached the listing"
        time.sleep(0.2)
    keyed = listing("/partner/showtimes", **{"x-api-key": key})
    assert keyed.status_code == 200, keyed.text
    assert keyed.json()["items"] == listing("/showtimes").json()["items"]  # the same read model, the same answer
    for headers in ({}, {"x-api-key": "not-a-partner-key"}):
        refused = listing("/partner/showtimes", **headers)
        assert (refused.status_code, refused.json()) == (403, {"message": "Forbidden"}), refused.text
    no_token = requests.get(url, headers={"x-api-key": key}, timeout=60)
    assert no_token.status_code == 401  # the key is not an identity: the tenant still comes from a token

    # 200 requests at once against the key's 20 rps (burst 40): the usage plan answers the excess, never a 5xx
    users = [token(deployed, "partner-edge", f"partner-app-{n}") for n in range(10)]  # under each user's own plan
    with ThreadPoolExecutor(50) as pool:
        answers = list(
            pool.map(
                lambda n: requests.get(url, headers={"Authorization": users[n % 10], "x-api-key": key}, timeout=60),
                range(200),
            )
        )
    statuses = [a.status_code for a in answers]
    throttled = [a for a in answers if a.status_code == 429]
    assert set(statuses) <= {200, 429} and throttled, statuses
    assert all(a.headers.get("x-amzn-ErrorType", "").startswith("TooManyRequestsException") for a in throttled)
    print(f"\npartner key, 200 requests at once: {statuses.count(200)} answered, {len(throttled)} throttled (429)")
