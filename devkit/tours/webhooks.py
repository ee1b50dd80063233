"""Tour scenarios of signed webhooks (challenge 10): a receiver on 127.0.0.1 verifies deliveries with the official
``standardwebhooks`` library, a rotation shows two signatures, and the SSRF guard refuses internal URLs."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

from devkit.events import publish_order_event
from devkit.tour import Tour, expect, scenario
from localcloud.aws import local_client

TENANT = "tour-webhooks"


class _Receiver:
    """Records every POST (headers and body) it gets; answers 204."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def wait(self, count: int, timeout: float = 60) -> tuple[dict[str, str], str]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the receiver got {len(self.received)} deliveries, expected {count}")
            time.sleep(0.2)
        return self.received[count - 1]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _publish(tour: Tour, event_type: str) -> str:
    events = local_client("events", tour.endpoint_url)
    return publish_order_event(
        events, tour.outputs["EventBusName"], event_type, tenant_id=TENANT, correlation_prefix="tour"
    )


def _verifies(secret: str, headers: dict[str, str], body: str) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


@scenario("webhooks: a delivery verifies with standardwebhooks; after a rotation it carries both signatures")
def _signed_delivery(tour: Tour) -> list[str]:
    staff = tour.token(TENANT, "wes", "staff")
    receiver = _Receiver()
    try:
        created = tour.call(
            "POST", "/webhooks/endpoints", token=staff, json={"url": receiver.url, "eventTypes": ["OrderConfirmed"]}
        )
        expect(created.status_code == 201, f"register gave {created.status_code}: {created.text}")
        endpoint = created.json()
        first_secret = endpoint["secret"]
        started = time.perf_counter()
        _publish(tour, "OrderConfirmed")
        headers, body = receiver.wait(1)
        latency = (time.perf_counter() - started) * 1000
        expect(_verifies(first_secret, headers, body), "the delivery does not verify with the endpoint's secret")
        expect(not _verifies(first_secret, headers, body.replace("Confirmed", "Failed")), "a tampered body verified")

        rotated = tour.call("POST", f"/webhooks/endpoints/{endpoint['endpointId']}/rotate-secret", token=staff)
        expect(rotated.status_code == 200, f"rotate gave {rotated.status_code}: {rotated.text}")
        new_secret = rotated.json()["secret"]
        _publish(tour, "OrderConfirmed")
        headers2, body2 = receiver.wait(2)
        signatures = headers2["webhook-signature"].split(" ")
        expect(len(signatures) == 2, f"expected two signatures, got {len(signatures)}")
        expect(_verifies(first_secret, headers2, body2) and _verifies(new_secret, headers2, body2), "not both verify")
        listed = tour.call("GET", f"/webhooks/endpoints/{endpoint['endpointId']}/deliveries", token=staff).json()
        statuses = sorted(d["status"] for d in listed["deliveries"])
        return [
            f"POST /webhooks/endpoints -> 201, secret {first_secret[:10]}... shown once",
            f"bus event -> receiver in {latency:.0f} ms, webhook-id {headers['webhook-id']}",
            f"webhook-signature {headers['webhook-signature'][:24]}... verifies; the tampered body does not",
            f"after rotate-secret: {len(signatures)} signatures; the old and the new secret both verify",
            f"GET .../deliveries -> {statuses}",
        ]
    finally:
        receiver.stop()


@scenario("webhooks: URLs that reach internal addresses are refused (SSRF guard), with a problem+json 422")
def _ssrf_guard(tour: Tour) -> list[str]:
    staff = tour.token(TENANT, "wes", "staff")
    lines = []
    for url in ("https://169.254.169.254/latest/meta-data/", "https://10.0.0.8/hooks", "http://hooks.example.com/"):
        response = tour.call(
            "POST", "/webhooks/endpoints", token=staff, json={"url": url, "eventTypes": ["OrderPlaced"]}
        )
        expect(response.status_code == 422, f"{url} gave {response.status_code}")
        lines.append(f"{url} -> 422 {response.json()['detail']}")
    return lines
