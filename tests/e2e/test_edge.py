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
