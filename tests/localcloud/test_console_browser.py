"""The console in a real browser (Playwright driving the system's Chromium), against the session's local cloud.

Skipped, with how to enable it, when Chromium is not installed (``apt-get install chromium``). One browser for the
module. ``CONSOLE_SCREENSHOTS=1`` (``make screenshots``) saves each page into docs/img/console-<page>.png.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.server import LocalCloud
from tests.localcloud.conftest import ROLE, free_port, invoke
from tests.localcloud.test_console import ECHO, FAILS, dead_letter, make_queue_with_dlq, token, wait_until

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
if CHROMIUM is None:
    pytest.skip(
        "the console's browser tests need Chromium: install it with `apt-get install chromium` to run them",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright (pip install -e '.[dev]')")

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == []  # the page's script threw


def shoot(page: Any, name: str) -> None:
    if os.environ.get("CONSOLE_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"console-{name}.png"), full_page=True)


def url(endpoint: str, route: str = "") -> str:
    return f"{endpoint}/_localcloud/console/{route}"


def test_the_overview_lists_deployed_functions_and_queues(
    aws: Callable[[str], Any], make_function: Any, endpoint: str, page: Any
) -> None:
    name = make_function(ECHO)
    invoke(aws, name, {"word": "hello"})
    queue_url, _arn, _dlq_url, _dlq_arn = make_queue_with_dlq(aws)
    page.goto(url(endpoint, "#overview"))
    row = page.locator(f'tr[data-function="{name}"]')
    sync_api.expect(row).to_be_visible()
    sync_api.expect(row.locator("td").nth(4)).to_have_text("1")  # invocations
    sync_api.expect(page.locator(f'tr[data-queue="{queue_url.rsplit("/", 1)[-1]}"]')).to_be_visible()


def test_an_invocation_appears_live_and_opens_with_its_event_response_and_logs(
    aws: Callable[[str], Any], make_function: Any, endpoint: str, page: Any
) -> None:
    name = make_function(ECHO)
    page.goto(url(endpoint, "#invocations"))
    sync_api.expect(page.locator("#live")).to_have_text("live")
    page.evaluate("window.notReloaded = true")
    response, _ = invoke(aws, name, {"word": "matinee"})
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    row = page.locator(f'tr[data-request-id="{request_id}"]')
    sync_api.expect(row).to_be_visible()
    assert page.evaluate("window.notReloaded") is True  # it came over the stream, not by a reload
    shoot(page, "invocations")
    row.click()
    sync_api.expect(page.locator("#event")).to_contain_text('"word": "matinee"')
    sync_api.expect(page.locator("#response")).to_contain_text('"echoed"')
    sync_api.expect(page.locator("#logs")).to_contain_text("echo says matinee")
    shoot(page, "invocation")


def test_a_dlq_is_redriven_by_clicking_and_empties(aws: Callable[[str], Any], endpoint: str, page: Any) -> None:
    queue_url, _arn, dlq_url, dlq_arn = make_queue_with_dlq(aws)
    dead_letter(aws, queue_url, json.dumps({"orderId": "o-1", "poison": True}))
    page.goto(url(endpoint, f"#queue/{dlq_arn}"))
    sync_api.expect(page.locator("#messages tbody tr")).to_have_count(1)
    shoot(page, "queue")
    page.locator("#redrive").click()
    sync_api.expect(page.locator(".notice")).to_contain_text("Moved 1 message(s)")
    sync_api.expect(page.locator("#messages")).to_contain_text("The queue is empty.")
    depth = aws("sqs").get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0"
    back = aws("sqs").receive_message(QueueUrl=queue_url)["Messages"]
    assert json.loads(back[0]["Body"]) == {"orderId": "o-1", "poison": True}


def test_an_execution_graph_shows_each_state_outcome(
    aws: Callable[[str], Any], make_function: Any, endpoint: str, page: Any
) -> None:
    ok = aws("lambda").get_function(FunctionName=make_function(ECHO))["Configuration"]["FunctionArn"]
    failing = aws("lambda").get_function(FunctionName=make_function(FAILS))["Configuration"]["FunctionArn"]
    definition = {
        "StartAt": "HoldSeats",
        "States": {
            "HoldSeats": {"Type": "Task", "Resource": ok, "ResultPath": "$.held", "Next": "Charge"},
            "Charge": {
                "Type": "Task",
                "Resource": failing,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "ReleaseSeats", "ResultPath": "$.error"}],
                "Next": "Confirmed",
            },
            "Confirmed": {"Type": "Succeed"},
            "ReleaseSeats": {"Type": "Pass", "Next": "Cancelled"},
            "Cancelled": {"Type": "Fail", "Error": "PaymentFailed", "Cause": "the charge failed"},
        },
    }
    sfn = aws("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"order-{uuid.uuid4().hex[:6]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"orderId": "o-42"}))["executionArn"]
    wait_until(lambda: sfn.describe_execution(executionArn=execution)["status"] != "RUNNING", timeout=30)
    page.goto(url(endpoint, f"#execution/{execution}"))
    expected = {
        "HoldSeats": "succeeded",
        "Charge": "caught",
        "ReleaseSeats": "succeeded",
        "Cancelled": "failed",
        "Confirmed": "not-run",
    }
    for state, status in expected.items():
        sync_api.expect(page.locator(f'#graph g[data-state="{state}"]')).to_have_attribute("data-status", status)
    page.locator('#graph g[data-state="HoldSeats"]').click()
    sync_api.expect(page.locator("#state-details .state-input")).to_contain_text('"orderId": "o-42"')
    shoot(page, "stepfunctions")


def test_the_events_page_shows_each_event_and_the_targets_it_reached(
    aws: Callable[[str], Any], make_function: Any, endpoint: str, page: Any
) -> None:
    arn = aws("lambda").get_function(FunctionName=make_function(ECHO))["Configuration"]["FunctionArn"]
    source = f"marquee.console.{uuid.uuid4().hex[:6]}"
    rule = f"console-{uuid.uuid4().hex[:6]}"
    aws("events").put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    aws("events").put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": arn}])
    page.goto(url(endpoint, "#events"))
    sync_api.expect(page.locator("#live")).to_have_text("live")
    entry = aws("events").put_events(
        Entries=[{"Source": source, "DetailType": "OrderConfirmed", "Detail": json.dumps({"orderId": "o-7"})}]
    )["Entries"][0]
    row = page.locator(f'tr[data-event-id="{entry["EventId"]}"]')
    sync_api.expect(row).to_contain_text(rule)
    sync_api.expect(row).to_contain_text("delivered")
    shoot(page, "events")
    if os.environ.get("CONSOLE_SCREENSHOTS") == "1":  # the overview once the module's resources are all there
        page.goto(url(endpoint, "#overview"))
        sync_api.expect(page.locator("tr[data-function]").first).to_be_visible()
        shoot(page, "overview")


class _OtherOrigin(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = b"<!doctype html><title>another site</title><p>another site</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


def test_a_cross_origin_post_from_another_page_is_refused(
    aws: Callable[[str], Any], cloud: LocalCloud, endpoint: str, page: Any
) -> None:
    queue_url, _arn, dlq_url, dlq_arn = make_queue_with_dlq(aws)
    dead_letter(aws, queue_url, "keep me")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _OtherOrigin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        target = url(endpoint, "api/redrive")
        with page.expect_response(lambda r: r.url == target and r.request.method == "POST") as answer:
            # A "simple" request (no preflight), as a hostile page's form post would be, even carrying the token.
            page.evaluate(
                """([target, body]) => fetch(target, {method: "POST", mode: "no-cors", body,
                    headers: {"Content-Type": "text/plain"}}).then(() => "sent", () => "blocked")""",
                [target, json.dumps({"queue": dlq_arn})],
            )
        assert answer.value.status == 403
        blocked = page.evaluate(
            """([target, body, token]) => fetch(target, {method: "POST", body,
                headers: {"Content-Type": "application/json", "X-Console-Token": token}}).then(() => "sent", () => "blocked")""",
            [target, json.dumps({"queue": dlq_arn}), token(endpoint)],
        )
        assert blocked == "blocked"  # the preflight is refused, so the browser never sends it
    finally:
        server.shutdown()
        server.server_close()
    depth = aws("sqs").get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "1"
