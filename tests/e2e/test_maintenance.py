"""Maintenance mode on the deployed stack (design question 9): the holds service switched into maintenance at run time
through the ``maintenance_mode`` flag (what `marquee maintenance on holds` deploys) answers 503 problem+json with
Retry-After before any backend is touched (no hold is made, the rate limiter is not asked); the catalog is unaffected;
switched off, holds work again. No deploy in between."""

from __future__ import annotations

import time
import uuid
from typing import Any

import requests

from devkit import maintenance
from devkit.flags import FlagsClient
from tests.e2e.booking_helpers import create_showtime, hold, token

FLAGS_MAX_AGE_S = 5.0  # FLAGS_MAX_AGE_SECONDS: every warm worker has fetched the flags again after this long
SWITCH_DEADLINE_S = 30.0  # generous for a loaded machine


def _wait_for_status(url: str, tok: str, status: int, deployed_at: float) -> None:
    """Poll a read of the holds service until it answers ``status`` (the switch reached its functions), and until
    every worker's flags cache has been refreshed since the switch (another worker may answer the next request)."""
    deadline = time.monotonic() + SWITCH_DEADLINE_S
    while True:
        response = requests.get(url, headers={"Authorization": tok}, timeout=60)
        if response.status_code == status:
            break
        assert time.monotonic() < deadline, f"still {response.status_code} after {SWITCH_DEADLINE_S} s: {response.text}"
        time.sleep(0.5)
    time.sleep(max(0.0, deployed_at + FLAGS_MAX_AGE_S + 1.0 - time.monotonic()))


def _seat(api: str, tok: str, showtime_id: str, seat: str) -> str:
    response = requests.get(f"{api}/showtimes/{showtime_id}", headers={"Authorization": tok}, timeout=60)
    assert response.status_code == 200, response.text  # the catalog service is not in maintenance
    return next(s["state"] for s in response.json()["seats"] if s["seatId"] == seat)


def test_a_service_switched_into_maintenance_answers_503_without_touching_its_backends(
    api: str, deployed: dict[str, Any]
) -> None:
    show = create_showtime(api, deployed, "maint", rows=1, per_row=3)
    fan = token(deployed, "maint", "fan")
    missing_hold = f"{api}/holds/{uuid.uuid4()}"
    assert requests.get(missing_hold, headers={"Authorization": fan}, timeout=60).status_code == 404

    known = maintenance.api_services(deployed["endpoint"], deployed["outputs"]["ApiId"])
    assert {"holds", "catalog", "payments", "orders", "health"} <= known

    flags_client = FlagsClient(deployed["endpoint"])
    _, flags = flags_client.current()
    flags_client.deploy(
        maintenance.switch_on(
            flags, service="holds", retry_after_s=42, detail="Seat holds are paused.", known_services=known
        )
    )
    switched_on = time.monotonic()
    try:
        _wait_for_status(missing_hold, fan, 503, switched_on)

        refused = hold(api, fan, show.showtime_id, ["A1"])
        assert refused.status_code == 503, refused.text
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert refused.headers["Retry-After"] == "42"
        assert refused.headers["Cache-Control"] == "no-store"
        assert "RateLimit" not in refused.headers  # the holds function's limiter (Valkey) was not asked
        problem = refused.json()
        assert problem["type"] == "urn:marquee:problem:maintenance"
        assert problem["status"] == 503
        assert problem["detail"] == "Seat holds are paused."
        assert problem["requestId"] == refused.headers["X-Request-Id"]

        # Another service answers as usual, and shows that the refused hold did no work.
        assert _seat(api, fan, show.showtime_id, "A1") == "free"
    finally:
        _, now = flags_client.current()
        flags_client.deploy(maintenance.switch_off(now, service="holds"))
    switched_off = time.monotonic()

    _wait_for_status(missing_hold, fan, 404, switched_off)
    held = hold(api, fan, show.showtime_id, ["A1"])
    assert held.status_code == 201, held.text
