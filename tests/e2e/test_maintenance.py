"""Maintenance mode on the deployed stack (design question 9): the holds service switched into maintenance at run time
through the ``maintenance_mode`` flag (what `marquee maintenance on holds` deploys) answers 503 problem+json with
Retry-After before any backend is touched (no hold is made, the rate limiter is not asked); the catalog is unaffected;
switched off, holds work again. No deploy in between. And the deploy-time fallback for a function that cannot run
(a MOCK integration per route, `marquee deploy --mock payments`), a long drill (`make drills`)."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from devkit import maintenance
from devkit.deploy import deploy
from devkit.flags import FlagsClient
from tests.e2e.booking_helpers import create_showtime, hold, token
from tests.e2e.drills import long_drill

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


@long_drill("two stack deploys, about two minutes")
def test_a_service_deployed_as_mock_is_answered_by_api_gateway_and_comes_back_on_the_next_deploy(
    api: str, deployed: dict[str, Any], tmp_path: Path
) -> None:
    """The fallback for a function that cannot run at all (`marquee deploy --mock payments`): API Gateway answers the
    payments routes with the same maintenance problem, after the authorizer, without invoking the function."""
    fan = token(deployed, "maint-mock", "fan")
    unknown_payment = f"{api}/payments/{uuid.uuid4()}"
    assert requests.get(unknown_payment, headers={"Authorization": fan}, timeout=60).status_code == 404

    def redeploy(*mocked: str) -> None:
        deploy(
            deployed["endpoint"],
            quiet=True,
            outputs_file=tmp_path / "outputs.json",
            assembly=tmp_path / "cdk.out",
            mock_services=mocked,
        )

    redeploy("payments")
    try:
        mocked = requests.post(f"{api}/payments", json={}, headers={"Authorization": fan}, timeout=60)
        assert mocked.status_code == 503, mocked.text
        assert mocked.headers["Content-Type"] == "application/problem+json"
        assert mocked.headers["Retry-After"] == "300"
        problem = mocked.json()
        assert problem["type"] == "urn:marquee:problem:maintenance"
        assert problem["detail"] == "The payments service is under maintenance; retry after 300 s."
        assert problem["requestId"] == mocked.headers["X-Request-Id"]
        # The function would have answered 404 for an unknown payment: the 503 is API Gateway's own.
        assert requests.get(unknown_payment, headers={"Authorization": fan}, timeout=60).status_code == 503
        assert requests.post(f"{api}/payments", json={}, timeout=60).status_code == 401  # the authorizer still runs
        assert requests.get(f"{api}/showtimes", headers={"Authorization": fan}, timeout=60).status_code == 200
    finally:
        redeploy()
    assert requests.get(unknown_payment, headers={"Authorization": fan}, timeout=60).status_code == 404


def test_the_consoles_maintenance_api_switches_one_tenant_of_a_service(deployed: dict[str, Any], api: str) -> None:
    """What the console's flags page posts (devkit/console_panels.py, `POST x/marquee/maintenance`), with the console's
    token as the page has it: `me` for one tenant only, then ended. (tests/e2e/test_console_panels.py drives the page
    itself in a browser where Chromium is installed.)"""
    console = f"{deployed['endpoint']}/_localcloud/console"
    page = requests.get(f"{console}/", timeout=30).text
    match = re.search(r'<meta name="console-token" content="([^"]+)"', page)
    assert match is not None
    headers = {"X-Console-Token": match.group(1), "Content-Type": "application/json"}
    target = f"{console}/api/x/marquee/maintenance"
    down, other = token(deployed, "console-maint", "fan"), token(deployed, "console-calm", "fan")

    def me(tok: str) -> int:
        return int(requests.get(f"{api}/me", headers={"Authorization": tok}, timeout=60).status_code)

    assert me(down) == 200
    answer = requests.get(target, timeout=30)
    assert answer.status_code == 200, answer.text[:1000]
    state = answer.json()
    assert {"me", "holds", "payments"} <= set(state["services"])
    flags_client = FlagsClient(deployed["endpoint"])
    _, flags = flags_client.current()
    try:
        refused = requests.post(target, json={"service": "mee", "on": True}, headers=headers, timeout=60)
        assert refused.status_code == 400 and "no API service 'mee'" in refused.json()["detail"]
        assert requests.post(target, json={"service": "me", "on": True}, timeout=60).status_code == 403  # no token
        on = requests.post(
            target, json={"service": "me", "on": True, "tenant": "console-maint"}, headers=headers, timeout=60
        )
        assert on.status_code == 200, on.text
        assert on.json()["scopes"] == [
            {"service": "me", "tenant": "console-maint", "writes_only": False, "retry_after_s": 300, "detail": None}
        ]
        switched = time.monotonic()
        _wait_for(lambda: me(down) == 503, switched)
        assert me(other) == 200
        off = requests.post(
            target, json={"service": "me", "on": False, "tenant": "console-maint"}, headers=headers, timeout=60
        )
        assert off.status_code == 200 and off.json()["scopes"] == []
        _wait_for(lambda: me(down) == 200, time.monotonic())
    finally:
        flags_client.deploy(flags)


def _wait_for(condition: Any, since: float) -> None:
    while not condition():
        assert time.monotonic() - since < SWITCH_DEADLINE_S, "the switch never reached the function"
        time.sleep(0.5)
