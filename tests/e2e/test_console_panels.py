"""The console with the stack deployed, in a real browser (Playwright driving the system's Chromium): the overview of
the deployed functions and queues, and Marquee's own pages (devkit/console_panels.py): a seat race started from the
CLI on the live seat map, an order's saga states and a declined card's compensation, a flag toggled from the page
reaching the running function, and a cross-origin flag change refused.

Skipped, with how to enable it, when Chromium is not installed. ``CONSOLE_SCREENSHOTS=1`` (``make screenshots``) saves
each page into docs/img/console-<page>.png.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devkit.flags import FlagsClient
from devkit.identity import token_for
from tests.cloud_process import PROJECT_ROOT, free_port
from tests.e2e.booking_helpers import create_showtime
from tests.e2e.saga_helpers import CARD_DECLINED, CARD_OK, SagaWorld

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip(
        "the console's browser tests need Chromium: install it with `apt-get install chromium` to run them",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the browser tests need playwright (pip install -e '.[dev]')"
)

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
SHOTS = PROJECT_ROOT / "docs" / "img"
TIMEOUT_MS = 20_000
FLAG = "payments_secondary_as_primary"
MAX_AGE_SECONDS = 5  # infra/constants.py FLAGS_MAX_AGE_SECONDS


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == []  # the page's or a panel's script threw


def console(deployed: dict[str, Any], route: str = "") -> str:
    return f"{deployed['endpoint']}/_localcloud/console/{route}"


def shoot(page: Any, name: str) -> None:
    if os.environ.get("CONSOLE_SCREENSHOTS") == "1":
        page.screenshot(path=str(SHOTS / f"console-{name}.png"), full_page=True)


def test_the_overview_lists_the_deployed_functions_and_queues_and_marquees_pages(
    deployed: dict[str, Any], page: Any
) -> None:
    page.goto(console(deployed, "#overview"))
    sync_api.expect(page.locator("tr[data-function]").first).to_be_visible()
    functions = page.locator("tr[data-function]").evaluate_all("rows => rows.map(r => r.dataset.function)")
    assert any("Holds" in name for name in functions) and any("Payments" in name for name in functions), functions
    work_queue = deployed["outputs"]["QueueUrl"].rsplit("/", 1)[-1]
    sync_api.expect(page.locator(f'tr[data-queue="{work_queue}"]')).to_be_visible()
    for title in ("Seat map", "Order journey", "Feature flags", "Breakers"):
        sync_api.expect(page.locator("#nav a", has_text=title)).to_be_visible()


def test_a_seat_race_started_from_the_cli_turns_exactly_one_seat_held_on_the_live_map(
    deployed: dict[str, Any], api: str, page: Any, tmp_path: Path
) -> None:
    show = create_showtime(api, deployed, "console-race", rows=3, per_row=10)
    page.goto(console(deployed, f"#panel/seat-map/{show.showtime_id}"))  # the tenant found from the showtime
    sync_api.expect(page.locator("#seat-map rect[data-seat]")).to_have_count(30)
    sync_api.expect(page.locator('[data-count="free"]')).to_have_text("free 30")
    page.evaluate("window.notReloaded = true")
    state = tmp_path / "state"  # the CLI finds this test's cloud and outputs where `marquee cloud up` leaves them
    state.mkdir()
    cloud = deployed["cloud"]
    (state / "state.json").write_text(json.dumps({"pid": cloud.proc.pid, "port": cloud.port, "started_at": 0}))
    (state / "outputs.json").write_text(json.dumps({"Marquee": deployed["outputs"]}))
    result = subprocess.run(
        [sys.executable, "-m", "devkit", "race", show.showtime_id, "B4", "--racers", "60", "--concurrency", "24"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "LOCALCLOUD_STATE_DIR": str(state), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 x 201, 59 x 409" in result.stdout, result.stdout
    assert f"#panel/seat-map/{show.showtime_id}/console-race" in result.stdout
    sync_api.expect(page.locator('#seat-map rect[data-seat="B4"]')).to_have_attribute("data-state", "held")
    sync_api.expect(page.locator('#seat-map rect[data-state="held"]')).to_have_count(1)
    sync_api.expect(page.locator('[data-count="held"]')).to_have_text("held 1")
    assert page.evaluate("window.notReloaded") is True  # the map followed live, without a reload
    shoot(page, "seat-map")


def test_an_orders_journey_shows_its_saga_and_a_declined_card_the_compensation_path(
    deployed: dict[str, Any], page: Any
) -> None:
    world = SagaWorld(deployed["endpoint"], deployed["outputs"])
    customer = world.customer("console-orders", "ada")
    showtime_id, _ = world.showtime("console-orders", rows=1, per_row=4)
    placed = {}
    for card, seat in ((CARD_OK, "A1"), (CARD_DECLINED, "A2")):
        response = world.place(customer, world.hold(customer, showtime_id, [seat]), card)
        assert response.status_code == 202, response.text
        placed[card] = response.json()["orderId"]
    assert world.wait_order(customer, placed[CARD_OK])["status"] == "CONFIRMED"
    assert world.wait_order(customer, placed[CARD_DECLINED])["status"] == "FAILED"

    page.goto(console(deployed, f"#panel/order-journey/{placed[CARD_OK]}"))
    sync_api.expect(page.locator("#order-status")).to_have_text("CONFIRMED")
    for state in ("ReserveSeats", "ChargePayment", "ConfirmOrder"):
        sync_api.expect(page.locator(f'#saga-states [data-state="{state}"]')).to_have_attribute(
            "data-status", "succeeded"
        )
    sync_api.expect(page.locator("#charge-attempts")).to_contain_text("HTTP 201 succeeded")
    sync_api.expect(page.locator('#order-events [data-event-type="OrderConfirmed"]')).to_be_visible()
    shoot(page, "order-journey")

    page.goto(console(deployed, f"#panel/order-journey/{placed[CARD_DECLINED]}/console-orders"))
    sync_api.expect(page.locator("#order-status")).to_have_text("FAILED")
    sync_api.expect(page.locator("#charge-attempts")).to_contain_text("HTTP 402 card_declined")
    sync_api.expect(page.locator('#order-events [data-event-type="OrderFailed"]')).to_be_visible()
    page.locator("#saga-graph").click()
    expected = {
        "ReserveSeats": "succeeded",
        "ChargePayment": "caught",
        "RefundPayment": "succeeded",
        "ReleaseSeats": "succeeded",
        "MarkFailed": "succeeded",
        "OrderFailed": "failed",
        "ConfirmOrder": "not-run",
    }
    for state, status in expected.items():
        sync_api.expect(page.locator(f'#graph g[data-state="{state}"]')).to_have_attribute("data-status", status)


def _enabled(api: str, token: str) -> list[str]:
    response = requests.get(f"{api}/me/features", headers={"Authorization": token}, timeout=30)
    assert response.status_code == 200, response.text
    return list(response.json()["enabled"])


def test_a_flag_toggled_on_the_page_reaches_the_running_function_within_its_cache_age(
    deployed: dict[str, Any], api: str, page: Any
) -> None:
    token = token_for(deployed["endpoint"], tenant="console-flags", user="fan", outputs=deployed["outputs"])
    assert FLAG not in _enabled(api, token)  # warm, and its flags cached
    client = FlagsClient(deployed["endpoint"])
    version, flags = client.current()
    page.goto(console(deployed, "#panel/flags"))
    button = page.locator(f'button[data-flag="{FLAG}"]')
    sync_api.expect(button).to_have_text("Turn on")
    try:
        button.click()
        sync_api.expect(page.locator("#flag-status")).to_contain_text(f"version {version + 1} deployed")
        changed_at = time.monotonic()
        seen_after = None
        while time.monotonic() - changed_at < MAX_AGE_SECONDS + 5:
            if FLAG in _enabled(api, token):
                seen_after = time.monotonic() - changed_at
                break
            time.sleep(0.2)
        sync_api.expect(page.locator(f'[data-flag-row="{FLAG}"] [data-default]')).to_have_text("true")
        shoot(page, "flags")
    finally:
        client.deploy(flags)  # later tests expect the initial flags
    assert seen_after is not None, "the change never reached the function"
    assert seen_after <= MAX_AGE_SECONDS + 2  # the cache age, plus a poll's slack


class _OtherOrigin(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = b"<!doctype html><title>another site</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


def test_a_flag_change_posted_from_another_origin_is_refused(deployed: dict[str, Any], page: Any) -> None:
    version, _ = FlagsClient(deployed["endpoint"]).current()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _OtherOrigin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        target = console(deployed, "api/x/marquee/flags")
        with page.expect_response(lambda r: r.url == target and r.request.method == "POST") as answer:
            page.evaluate(
                """([target, body]) => fetch(target, {method: "POST", mode: "no-cors", body,
                    headers: {"Content-Type": "text/plain"}}).then(() => "sent", () => "blocked")""",
                [target, json.dumps({"name": FLAG, "default": True})],
            )
        assert answer.value.status == 403
    finally:
        server.shutdown()
        server.server_close()
    assert FlagsClient(deployed["endpoint"]).current()[0] == version  # nothing was deployed


def _me_status(api: str, token: str) -> int:
    return int(requests.get(f"{api}/me", headers={"Authorization": token}, timeout=30).status_code)


def _until(condition: Any, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


def test_maintenance_switched_on_the_page_refuses_one_tenant_and_ends_from_the_page(
    deployed: dict[str, Any], api: str, page: Any
) -> None:
    """The console's maintenance form (devkit/console/flags.js): `me` for one tenant only, then ended from its row."""
    down = token_for(deployed["endpoint"], tenant="console-maint", user="fan", outputs=deployed["outputs"])
    other = token_for(deployed["endpoint"], tenant="console-calm", user="fan", outputs=deployed["outputs"])
    assert _me_status(api, down) == 200
    client = FlagsClient(deployed["endpoint"])
    _, flags = client.current()
    page.goto(console(deployed, "#panel/flags"))
    try:
        page.locator("#maintenance-service").select_option("me")
        page.locator("#maintenance-tenant").fill("console-maint")
        page.locator("#maintenance-on").click()
        sync_api.expect(page.locator("#maintenance-status")).to_contain_text("me in maintenance")
        sync_api.expect(page.locator('[data-maintenance-row="me"]')).to_contain_text("console-maint")
        _until(lambda: _me_status(api, down) == 503, "the switch never reached the me function")
        assert _me_status(api, other) == 200
        page.locator('button[data-maintenance-off="me"]').click()
        sync_api.expect(page.locator("#maintenance-status")).to_contain_text("me out of maintenance")
        sync_api.expect(page.locator('[data-maintenance-row="me"]')).to_have_count(0)
        _until(lambda: _me_status(api, down) == 200, "the end of maintenance never reached the me function")
    finally:
        client.deploy(flags)  # later tests expect the initial flags
