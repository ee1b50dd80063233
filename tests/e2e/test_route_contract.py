"""The route contract, after a real deploy: every operation of docs/openapi.json has one happy-path example here, and
each example's response has a documented 2xx status, the documented Content-Type and a body valid against the
documented schema. A route added to the document without an example fails
``test_every_documented_operation_has_a_happy_path_example``.

Everything the examples need is built once, through the API, for one tenant (the ``world`` fixture). Examples that
consume state (release a hold, place an order, delete an endpoint) make their own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator
from standardwebhooks import Webhook

from devkit.events import publish_order_event
from tests import waiting
from tests.e2e.booking_helpers import Show, create_showtime, hold, partner_key, token
from tests.e2e.import_helpers import stall
from tests.e2e.saga_helpers import CARD_OK
from tests.integration.webhooks.receiver import Receiver

DOCUMENT = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
TENANT = f"contract-{uuid.uuid4().hex[:6]}"
TIMEOUT = 60

wait_for = partial(waiting.wait_for, timeout=60, interval=0.3)


def documented_operations() -> dict[str, dict[str, Any]]:
    """``"METHOD /path/{param}"`` -> the operation object, for every operation of the document."""
    return {
        f"{method.upper()} {path}": operation
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


OPERATIONS = documented_operations()


@dataclass
class World:
    """One tenant's staff and customer, and what the examples read or act on, all made through the API."""

    api: str
    deployed: dict[str, Any]
    sdk: Any
    staff: str
    customer: str
    customer_id: str
    show: Show
    hold_id: str
    order_id: str
    payment_id: str
    endpoint_id: str
    delivery_id: str
    receiver: Receiver
    http: requests.Session = field(default_factory=requests.Session)
    _seats: Iterator[str] = field(default_factory=lambda: iter(f"{row}{n}" for row in "CDE" for n in range(1, 11)))

    def call(self, method: str, path: str, tok: str | None, **kwargs: Any) -> requests.Response:
        headers = {**kwargs.pop("headers", {}), **({"Authorization": tok} if tok else {})}
        return self.http.request(method, f"{self.api}{path}", headers=headers, timeout=TIMEOUT, **kwargs)

    def fresh_seat(self) -> str:
        """A seat no other example has used (rows A and B are the fixture's)."""
        return next(self._seats)

    def fresh_hold(self) -> str:
        response = hold(self.api, self.customer, self.show.showtime_id, [self.fresh_seat()], session=self.http)
        assert response.status_code == 201, response.text
        return str(response.json()["holdId"])

    def register_endpoint(self) -> dict[str, Any]:
        response = self.call(
            "POST",
            "/webhooks/endpoints",
            self.staff,
            json={"url": self.receiver.url, "eventTypes": ["OrderConfirmed"]},
        )
        assert response.status_code == 201, response.text
        return dict(response.json())


def publish(sdk: Any, deployed: dict[str, Any], event_type: str = "OrderConfirmed") -> str:
    """An event on the bus, as the outbox relay publishes it (the shape of tests/e2e/test_webhooks.py)."""
    return publish_order_event(
        sdk("events"), deployed["outputs"]["EventBusName"], event_type, tenant_id=TENANT, correlation_prefix="contract"
    )


def pay(api: str, tok: str, session: requests.Session) -> requests.Response:
    return session.post(
        f"{api}/payments",
        json={"amount": {"amount": 1250, "currency": "EUR"}, "card": CARD_OK},
        headers={"Authorization": tok, "Idempotency-Key": str(uuid.uuid4())},
        timeout=TIMEOUT,
    )


@pytest.fixture(scope="module")
def world(deployed: dict[str, Any], api: str, sdk: Any) -> Iterator[World]:
    staff = token(deployed, TENANT, "staff1", "staff")
    customer = token(deployed, TENANT, "patron")
    http = requests.Session()
    me = http.get(f"{api}/me", headers={"Authorization": customer}, timeout=TIMEOUT)
    assert me.status_code == 200, me.text
    show = create_showtime(api, deployed, TENANT)

    held = hold(api, customer, show.showtime_id, ["A1", "A2"], session=http)
    assert held.status_code == 201, held.text
    to_order = hold(api, customer, show.showtime_id, ["B1"], session=http)
    assert to_order.status_code == 201, to_order.text
    order = http.post(
        f"{api}/orders",
        json={"holdId": to_order.json()["holdId"], "card": CARD_OK},
        headers={"Authorization": customer},
        timeout=TIMEOUT,
    )
    assert order.status_code == 202, order.text
    payment = pay(api, customer, http)
    assert payment.status_code == 201, payment.text

    receiver = Receiver().start()
    try:
        created = http.post(
            f"{api}/webhooks/endpoints",
            json={"url": receiver.url, "eventTypes": ["OrderConfirmed"]},
            headers={"Authorization": staff},
            timeout=TIMEOUT,
        )
        assert created.status_code == 201, created.text
        endpoint_id = created.json()["endpointId"]
        receiver.secrets["endpoint"] = created.json()["secret"]
        publish(sdk, deployed)

        def delivered() -> list[dict[str, Any]]:
            listed = http.get(
                f"{api}/webhooks/endpoints/{endpoint_id}/deliveries", headers={"Authorization": staff}, timeout=TIMEOUT
            )
            assert listed.status_code == 200, listed.text
            return [d for d in listed.json()["deliveries"] if d["status"] == "SUCCEEDED"]

        delivery = wait_for(delivered)[0]
        yield World(
            api=api,
            deployed=deployed,
            sdk=sdk,
            staff=staff,
            customer=customer,
            customer_id=me.json()["userId"],
            show=show,
            hold_id=held.json()["holdId"],
            order_id=order.json()["orderId"],
            payment_id=payment.json()["paymentId"],
            endpoint_id=endpoint_id,
            delivery_id=delivery["deliveryId"],
            receiver=receiver,
            http=http,
        )
    finally:
        # Unsubscribe the tenant's endpoints before the receiver goes: no retries to a closed port after the module.
        listed = http.get(f"{api}/webhooks/endpoints", headers={"Authorization": staff}, timeout=TIMEOUT)
        for endpoint in listed.json().get("endpoints", []) if listed.status_code == 200 else []:
            http.delete(
                f"{api}/webhooks/endpoints/{endpoint['endpointId']}", headers={"Authorization": staff}, timeout=TIMEOUT
            )
        receiver.stop()


# -- the examples: one per documented operation, keyed exactly as the document names it

Example = Callable[[World], requests.Response]
EXAMPLES: dict[str, Example] = {}


def example(key: str) -> Callable[[Example], Example]:
    def register(run: Example) -> Example:
        assert key not in EXAMPLES, f"two examples for {key}"
        EXAMPLES[key] = run
        return run

    return register


@example("GET /health")
def _health(w: World) -> requests.Response:
    return w.call("GET", "/health", None)


@example("GET /health/ready")
def _readiness(w: World) -> requests.Response:
    return w.call("GET", "/health/ready", None)


@example("GET /health/deep")
def _deep_health(w: World) -> requests.Response:
    return w.call("GET", "/health/deep", w.staff)


@example("GET /openapi.json")
def _openapi(w: World) -> requests.Response:
    return w.call("GET", "/openapi.json", None)


@example("GET /me")
def _me(w: World) -> requests.Response:
    return w.call("GET", "/me", w.customer)


@example("GET /me/features")
def _features(w: World) -> requests.Response:
    return w.call("GET", "/me/features", w.customer)


# read models (CQRS)


@example("GET /me/orders")
def _my_orders(w: World) -> requests.Response:
    return w.call("GET", "/me/orders", w.customer, params={"limit": 5})


@example("GET /reports/sales")
def _sales(w: World) -> requests.Response:
    return w.call("GET", "/reports/sales", w.staff, params={"from": "2026-12-01", "to": "2026-12-31"})


# imports (challenge 15): a 2-line cinemas file, uploaded through its presigned part URL


def _new_import(w: World) -> dict[str, Any]:
    response = w.call("POST", "/imports", w.staff, json={"kind": "cinemas", "format": "csv", "sizeBytes": 40})
    assert response.status_code == 201, response.text
    return dict(response.json())


@example("POST /imports")
def _create_import(w: World) -> requests.Response:
    return w.call(
        "POST", "/imports", w.staff, json={"kind": "cinemas", "format": "csv", "sizeBytes": 40, "dryRun": True}
    )


@example("POST /imports/{importId}/parts")
def _import_parts(w: World) -> requests.Response:
    return w.call("POST", f"/imports/{_new_import(w)['importId']}/parts", w.staff, json={"partNumbers": [1]})


@example("POST /imports/{importId}/complete")
def _complete_import(w: World) -> requests.Response:
    created = _new_import(w)
    put = w.http.put(created["parts"][0]["url"], data=b"name,city\nContract Hall,Lyon\n", timeout=TIMEOUT)
    assert put.status_code == 200, put.text
    parts = [{"partNumber": 1, "etag": put.headers["ETag"].strip('"')}]
    return w.call("POST", f"/imports/{created['importId']}/complete", w.staff, json={"parts": parts})


@example("GET /imports/{importId}")
def _get_import(w: World) -> requests.Response:
    return w.call("GET", f"/imports/{_new_import(w)['importId']}", w.staff)


@example("POST /imports/{importId}/resume")
def _resume_import(w: World) -> requests.Response:
    """A validated dry run made a stalled publish behind the API's back (``stall``), then resumed."""
    created = w.call(
        "POST", "/imports", w.staff, json={"kind": "cinemas", "format": "csv", "sizeBytes": 29, "dryRun": True}
    )
    assert created.status_code == 201, created.text
    put = w.http.put(created.json()["parts"][0]["url"], data=b"name,city\nResume Hall,Lyon\n", timeout=TIMEOUT)
    assert put.status_code == 200, put.text
    import_id = created.json()["importId"]
    parts = [{"partNumber": 1, "etag": put.headers["ETag"].strip('"')}]
    assert w.call("POST", f"/imports/{import_id}/complete", w.staff, json={"parts": parts}).status_code == 202
    waiting.wait_for(
        lambda: w.call("GET", f"/imports/{import_id}", w.staff).json()["status"] == "VALIDATED",
        timeout=120,
        interval=0.5,
    )
    stall(w.sdk, w.deployed, TENANT, import_id)
    return w.call("POST", f"/imports/{import_id}/resume", w.staff)


@example("DELETE /imports/{importId}")
def _delete_import(w: World) -> requests.Response:
    return w.call("DELETE", f"/imports/{_new_import(w)['importId']}", w.staff)


# search


@example("GET /search")
def _search(w: World) -> requests.Response:
    return w.call("GET", "/search", w.customer, params={"q": "race condition", "limit": 5})


@example("PUT /search/settings")
def _search_settings(w: World) -> requests.Response:
    return w.call("PUT", "/search/settings", w.staff, json={"language": "en"})


# catalog


@example("POST /cinemas")
def _post_cinema(w: World) -> requests.Response:
    return w.call("POST", "/cinemas", w.staff, json={"name": "Contract Cinema", "city": "Porto"})


@example("POST /auditoriums")
def _post_auditorium(w: World) -> requests.Response:
    body = {"cinemaId": w.show.cinema_id, "name": "Screen 2", "rows": 2, "seatsPerRow": 3, "unavailable": []}
    return w.call("POST", "/auditoriums", w.staff, json=body)


@example("POST /movies")
def _post_movie(w: World) -> requests.Response:
    return w.call("POST", "/movies", w.staff, json={"title": "Contract Test", "runtimeMinutes": 95})


@example("PUT /movies/{movieId}")
def _put_movie(w: World) -> requests.Response:
    body = {
        "title": "Race Condition",
        "runtimeMinutes": 101,
        "originalTitle": "Race Condition",
        "cast": ["Ada Lovelace"],
        "director": "Grace Hopper",
        "synopsis": "Two writers reach for the same seat.",
        "genres": ["thriller"],
    }
    return w.call("PUT", f"/movies/{w.show.movie_id}", w.staff, json=body)


@example("POST /showtimes")
def _post_showtime(w: World) -> requests.Response:
    body = {
        "movieId": w.show.movie_id,
        "auditoriumId": w.show.auditorium_id,
        "startsAt": "2031-01-01T20:00:00+00:00",
        "price": {"amount": 900, "currency": "EUR"},
        "holdLeaseSeconds": 600,
    }
    return w.call("POST", "/showtimes", w.staff, json=body)


@example("GET /showtimes")
def _list_showtimes(w: World) -> requests.Response:
    return w.call("GET", "/showtimes", w.customer, params={"limit": 10})


@example("GET /partner/showtimes")
def _partner_showtimes(w: World) -> requests.Response:
    key = partner_key(w.deployed)
    return w.call("GET", "/partner/showtimes", w.customer, params={"limit": 10}, headers={"x-api-key": key})


@example("GET /showtimes/{showtimeId}")
def _get_showtime(w: World) -> requests.Response:
    return w.call("GET", f"/showtimes/{w.show.showtime_id}", w.customer)


@example("GET /showtimes/{showtimeId}/overview")
def _overview(w: World) -> requests.Response:
    return w.call("GET", f"/showtimes/{w.show.showtime_id}/overview", w.customer)


@example("GET /showtimes/{showtimeId}/suggestions")
def _suggestions(w: World) -> requests.Response:
    return w.call("GET", f"/showtimes/{w.show.showtime_id}/suggestions", w.customer, params={"party": 2})


# holds and orders


@example("POST /showtimes/{showtimeId}/holds")
def _post_hold(w: World) -> requests.Response:
    return hold(w.api, w.customer, w.show.showtime_id, [w.fresh_seat()], session=w.http)


@example("GET /holds/{holdId}")
def _get_hold(w: World) -> requests.Response:
    return w.call("GET", f"/holds/{w.hold_id}", w.customer)


@example("DELETE /holds/{holdId}")
def _release_hold(w: World) -> requests.Response:
    return w.call("DELETE", f"/holds/{w.fresh_hold()}", w.customer)


@example("POST /orders")
def _post_order(w: World) -> requests.Response:
    return w.call("POST", "/orders", w.customer, json={"holdId": w.fresh_hold(), "card": CARD_OK})


@example("GET /orders/{orderId}")
def _get_order(w: World) -> requests.Response:
    return w.call("GET", f"/orders/{w.order_id}", w.customer)


# payments


@example("POST /payments")
def _post_payment(w: World) -> requests.Response:
    return pay(w.api, w.customer, w.http)


@example("GET /payments/{paymentId}")
def _get_payment(w: World) -> requests.Response:
    return w.call("GET", f"/payments/{w.payment_id}", w.customer)


# notifications


@example("GET /me/notification-preferences")
def _get_preferences(w: World) -> requests.Response:
    return w.call("GET", "/me/notification-preferences", w.customer)


@example("PUT /me/notification-preferences")
def _put_preferences(w: World) -> requests.Response:
    return w.call("PUT", "/me/notification-preferences", w.customer, json={"channels": {"push": False}})


@example("GET /me/notifications")
def _my_notifications(w: World) -> requests.Response:
    return w.call("GET", "/me/notifications", w.customer, params={"limit": 20})


@example("GET /notifications")
def _tenant_notifications(w: World) -> requests.Response:
    return w.call("GET", "/notifications", w.staff, params={"limit": 20})


@example("POST /notifications")
def _staff_message(w: World) -> requests.Response:
    body = {"customerId": w.customer_id, "subject": "Doors open early", "body": "See you at 19:30."}
    return w.call("POST", "/notifications", w.staff, json=body)


@example("GET /notifications/dlq")
def _dlq_depths(w: World) -> requests.Response:
    return w.call("GET", "/notifications/dlq", w.staff)


@example("POST /notifications/dlq/{channel}/redrive")
def _redrive(w: World) -> requests.Response:
    return w.call("POST", "/notifications/dlq/push/redrive", w.staff)


# webhooks


@example("POST /webhooks/endpoints")
def _post_endpoint(w: World) -> requests.Response:
    return w.call(
        "POST", "/webhooks/endpoints", w.staff, json={"url": w.receiver.url, "eventTypes": ["OrderConfirmed"]}
    )


@example("GET /webhooks/endpoints")
def _list_endpoints(w: World) -> requests.Response:
    return w.call("GET", "/webhooks/endpoints", w.staff)


@example("GET /webhooks/endpoints/{endpoint_id}")
def _get_endpoint(w: World) -> requests.Response:
    return w.call("GET", f"/webhooks/endpoints/{w.endpoint_id}", w.staff)


@example("DELETE /webhooks/endpoints/{endpoint_id}")
def _delete_endpoint(w: World) -> requests.Response:
    return w.call("DELETE", f"/webhooks/endpoints/{w.register_endpoint()['endpointId']}", w.staff)


@example("GET /webhooks/endpoints/{endpoint_id}/deliveries")
def _list_deliveries(w: World) -> requests.Response:
    return w.call("GET", f"/webhooks/endpoints/{w.endpoint_id}/deliveries", w.staff)


@example("POST /webhooks/endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver")
def _redeliver(w: World) -> requests.Response:
    return w.call("POST", f"/webhooks/endpoints/{w.endpoint_id}/deliveries/{w.delivery_id}/redeliver", w.staff)


@example("POST /webhooks/endpoints/{endpoint_id}/enable")
def _enable_endpoint(w: World) -> requests.Response:
    return w.call("POST", f"/webhooks/endpoints/{w.endpoint_id}/enable", w.staff)


@example("POST /webhooks/endpoints/{endpoint_id}/rotate-secret")
def _rotate_secret(w: World) -> requests.Response:
    return w.call("POST", f"/webhooks/endpoints/{w.endpoint_id}/rotate-secret", w.staff)


@example("POST /webhooks/inbound/payments")
def _inbound_payment_event(w: World) -> requests.Response:
    """The provider reports a refund of the fixture's payment, signed with the inbound secret; no token."""
    secret_arn = w.deployed["outputs"]["WebhookInboundSecretArn"]
    secret = w.sdk("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    body = json.dumps(
        {
            "type": "refund.succeeded",
            "data": {
                "tenantId": TENANT,
                "paymentId": w.payment_id,
                "providerReference": f"re_{uuid.uuid4().hex[:12]}",
                "amount": {"amount": 1250, "currency": "EUR"},
            },
        }
    )
    msg_id = f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
        "Content-Type": "application/json",
    }
    return w.call("POST", "/webhooks/inbound/payments", None, data=body, headers=headers)


# -- the contract

# Operations whose deployed response disagrees with the document: "key" -> the finding. Each is an xfail(strict=True),
# so fixing the code or the document turns it into a failure that says to remove the entry.
FINDINGS: dict[str, str] = {}


def test_every_documented_operation_has_a_happy_path_example() -> None:
    assert len(OPERATIONS) == 69
    assert set(EXAMPLES) == set(OPERATIONS), {
        "documented, without an example": sorted(set(OPERATIONS) - set(EXAMPLES)),
        "an example, not documented": sorted(set(EXAMPLES) - set(OPERATIONS)),
    }
    assert set(FINDINGS) <= set(OPERATIONS)


def validate(instance: Any, schema: dict[str, Any]) -> None:
    """Validates against a documented schema; its ``#/components/schemas/...`` refs resolve inside the document."""
    rooted = {**schema, "components": DOCUMENT["components"]}
    Draft202012Validator(rooted, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(instance)


def check_contract(key: str, response: requests.Response) -> None:
    documented = {code: spec for code, spec in OPERATIONS[key]["responses"].items() if code.startswith("2")}
    assert response.status_code < 500, f"{key}: {response.status_code} {response.text}"
    assert str(response.status_code) in documented, (
        f"{key}: status {response.status_code} is not one of the documented {sorted(documented)}: {response.text}"
    )
    spec = documented[str(response.status_code)]
    if response.status_code == 204:
        assert response.content == b"", f"{key}: a 204 with a body: {response.text!r}"
        assert "content" not in spec, (
            f"{key}: the document gives the 204 a body: {spec['content']}; the response has none "
            f"(Content-Type {response.headers.get('Content-Type')!r})"
        )
        return
    assert len(spec["content"]) == 1, f"{key}: more than one documented content type: {sorted(spec['content'])}"
    ((content_type, schema_of),) = spec["content"].items()
    assert response.headers.get("Content-Type") == content_type, (
        f"{key}: Content-Type {response.headers.get('Content-Type')!r}, documented {content_type!r}"
    )
    body = response.json()  # raises if the body is not JSON
    validate(body, schema_of["schema"])


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(key, marks=pytest.mark.xfail(strict=True, reason=FINDINGS[key])) if key in FINDINGS else key
        for key in OPERATIONS
    ],
    ids=str,
)
def test_route_happy_path(key: str, world: World) -> None:
    run = EXAMPLES.get(key)
    assert run is not None, f"{key}: no happy-path example"
    check_contract(key, run(world))


# -- soft delete and temporal audit (challenge 8): each example that deletes makes its own entity
def _fresh_movie(w: World) -> str:
    created = w.call("POST", "/movies", w.staff, json={"title": "Soft Delete", "runtimeMinutes": 90})
    assert created.status_code == 201, created.text
    return str(created.json()["movieId"])


def _fresh_cinema(w: World) -> str:
    created = w.call("POST", "/cinemas", w.staff, json={"name": "Roxy", "city": "Leeds"})
    assert created.status_code == 201, created.text
    return str(created.json()["cinemaId"])


@example("GET /movies/{movieId}")
def _get_movie_as_of(w: World) -> requests.Response:
    return w.call("GET", f"/movies/{w.show.movie_id}", w.staff, params={"asOf": "2999-01-01T00:00:00Z"})


@example("DELETE /movies/{movieId}")
def _delete_movie(w: World) -> requests.Response:
    return w.call("DELETE", f"/movies/{_fresh_movie(w)}", w.staff)


@example("POST /movies/{movieId}/restore")
def _restore_movie(w: World) -> requests.Response:
    movie_id = _fresh_movie(w)
    assert w.call("DELETE", f"/movies/{movie_id}", w.staff).status_code == 200
    return w.call("POST", f"/movies/{movie_id}/restore", w.staff)


@example("GET /movies/{movieId}/history")
def _movie_history(w: World) -> requests.Response:
    return w.call("GET", f"/movies/{w.show.movie_id}/history", w.staff, params={"limit": 5})


@example("DELETE /cinemas/{cinemaId}")
def _delete_cinema(w: World) -> requests.Response:
    return w.call("DELETE", f"/cinemas/{_fresh_cinema(w)}", w.staff)


@example("POST /cinemas/{cinemaId}/restore")
def _restore_cinema(w: World) -> requests.Response:
    cinema_id = _fresh_cinema(w)
    assert w.call("DELETE", f"/cinemas/{cinema_id}", w.staff).status_code == 200
    return w.call("POST", f"/cinemas/{cinema_id}/restore", w.staff)


@example("GET /cinemas/{cinemaId}")
def _get_cinema(w: World) -> requests.Response:
    return w.call("GET", f"/cinemas/{w.show.cinema_id}", w.customer)


@example("GET /cinemas/{cinemaId}/history")
def _cinema_history(w: World) -> requests.Response:
    return w.call("GET", f"/cinemas/{w.show.cinema_id}/history", w.staff)


@example("DELETE /showtimes/{showtimeId}")
def _delete_showtime(w: World) -> requests.Response:
    show = create_showtime(w.api, w.deployed, TENANT, rows=1, per_row=2)
    return w.call("DELETE", f"/showtimes/{show.showtime_id}", w.staff)


@example("POST /showtimes/{showtimeId}/restore")
def _restore_showtime(w: World) -> requests.Response:
    show = create_showtime(w.api, w.deployed, TENANT, rows=1, per_row=2)
    assert w.call("DELETE", f"/showtimes/{show.showtime_id}", w.staff).status_code == 200
    return w.call("POST", f"/showtimes/{show.showtime_id}/restore", w.staff)


@example("GET /showtimes/{showtimeId}/history")
def _showtime_history(w: World) -> requests.Response:
    return w.call("GET", f"/showtimes/{w.show.showtime_id}/history", w.staff)


@example("GET /settings/audit")
def _get_audit_settings(w: World) -> requests.Response:
    return w.call("GET", "/settings/audit", w.staff)


@example("PUT /settings/audit")
def _put_audit_settings(w: World) -> requests.Response:
    return w.call("PUT", "/settings/audit", w.staff, json={"retentionDays": 365, "legalHold": False})


@example("PUT /me/profile")
def _put_profile(w: World) -> requests.Response:
    return w.call("PUT", "/me/profile", w.customer, json={"displayName": "Pat", "email": "pat@example.com"})


@example("GET /me/profile")
def _get_profile(w: World) -> requests.Response:
    assert _put_profile(w).status_code == 200
    return w.call("GET", "/me/profile", w.customer)


@example("POST /customers/{customerId}/erasure")
def _erase_customer(w: World) -> requests.Response:
    assert _put_profile(w).status_code == 200
    return w.call("POST", f"/customers/{w.customer_id}/erasure", w.staff)


# ---- sensitive-data audit (design question 7) ---------------------------------------------------------------------------
SECURITY_SETTINGS = {"securityContact": "security@contract.example", "timeZone": "Europe/Lisbon",
                     "workingHoursStart": "00:00", "workingHoursEnd": "23:59", "workingDays": [1, 2, 3, 4, 5, 6, 7]}  # fmt: skip


def _officer(w: World) -> str:
    return token(w.deployed, TENANT, "officer1", "compliance")


@example("GET /customers/{customerId}/profile")
def _staff_reads_profile(w: World) -> requests.Response:
    assert _put_profile(w).status_code == 200
    return w.call("GET", f"/customers/{w.customer_id}/profile", w.staff)


@example("GET /audit/access")
def _access_trail(w: World) -> requests.Response:
    return w.call("GET", "/audit/access", _officer(w), params={"customer": w.customer_id, "limit": 10})


@example("PUT /settings/security")
def _put_security_settings(w: World) -> requests.Response:
    return w.call("PUT", "/settings/security", _officer(w), json=SECURITY_SETTINGS)


@example("GET /settings/security")
def _get_security_settings(w: World) -> requests.Response:
    assert _put_security_settings(w).status_code == 200
    return w.call("GET", "/settings/security", _officer(w))
