"""Tenant isolation (challenge 19), generated from the deployed REST API's route table.

For every route with a path parameter, tenant A (a customer, then a staff member) asks for tenant B's REAL ids and must
get a 404 problem that carries none of B's data, and B's state must be unchanged afterwards. Routes added later are
covered automatically: a path parameter is mapped to B's id of that kind, and a parameter with no known id gets a
random one (still a 404). Bodies default to ``{}``; a route whose validation would answer before its lookup gets a
plausible body in BODIES (the failure message says so). Routes without parameters must not list B's ids.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import requests

from localcloud.aws import local_client
from tests.e2e.booking_helpers import Show, create_showtime, hold, partner_key, token

TENANT_A = "iso-a"
TENANT_B = "iso-b"
PARAM = re.compile(r"\{(\w+)\}")
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/showtimes/{showtimeId}/holds"): {"seats": ["A2"]},
    ("PUT", "/movies/{movieId}"): {"title": "Not Yours", "runtimeMinutes": 90},
    ("POST", "/imports/{importId}/parts"): {"partNumbers": [1]},
    ("POST", "/imports/{importId}/complete"): {"parts": [{"partNumber": 1, "etag": "0" * 32}]},
}
# Query parameters for routes without path parameters that would answer 422 without them: the search for tenant B's
# movie title ("Race Condition", from create_showtime) must list none of B's ids.
QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/search"): {"q": "race condition"},
    ("GET", "/reports/sales"): {"from": "2026-01-01", "to": "2026-12-31"},
}
PUBLIC = {("GET", "/health"), ("GET", "/health/ready")}
HINT = "(a route whose validation answers first may need a plausible body in BODIES)"


def route_table(deployed: dict[str, Any]) -> list[tuple[str, str]]:
    apigw = local_client("apigateway", deployed["endpoint"])
    resources = apigw.get_resources(restApiId=deployed["outputs"]["ApiId"], embed=["methods"], limit=500)["items"]
    routes = []
    for resource in resources:
        for method in resource.get("resourceMethods") or {}:
            if method not in ("OPTIONS", "ANY"):
                routes.append((method, resource["path"]))
    return sorted(routes)


@pytest.fixture(scope="module")
def tenant_b(api: str, deployed: dict[str, Any]) -> dict[str, Any]:
    """Tenant B's real entities: a showtime, a hold, and an order and a payment when those routes exist."""
    show: Show = create_showtime(api, deployed, TENANT_B, rows=2, per_row=5)
    b_customer = token(deployed, TENANT_B, "bella")
    held = hold(api, b_customer, show.showtime_id, ["A1", "A2"])
    assert held.status_code == 201, held.text
    ids: dict[str, Any] = {
        "showtimeId": show.showtime_id,
        "holdId": held.json()["holdId"],
        "movieId": show.movie_id,
        "auditoriumId": show.auditorium_id,
        "cinemaId": show.cinema_id,
        "customerId": held.json()["customerId"],
    }
    routes = route_table(deployed)
    headers = {"Authorization": b_customer}
    if ("POST", "/orders") in routes:
        extra = hold(api, b_customer, show.showtime_id, ["B1"])
        assert extra.status_code == 201, f"tenant B's hold for its order: {extra.status_code} {extra.text}"
        order = requests.post(
            f"{api}/orders",
            json={"holdId": extra.json()["holdId"], "card": "4242424242424242"},
            headers=headers,
            timeout=60,
        )
        assert order.status_code == 202, f"tenant B's order: {order.status_code} {order.text}"
        ids["orderId"] = order.json()["orderId"]
    if ("POST", "/payments") in routes:
        payment = requests.post(
            f"{api}/payments",
            json={"amount": {"amount": 900, "currency": "EUR"}, "card": "4242424242424242"},
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            timeout=60,
        )
        assert payment.status_code == 201, f"tenant B's payment: {payment.status_code} {payment.text}"
        ids["paymentId"] = payment.json()["paymentId"]
    if ("POST", "/imports") in routes:
        b_staff = {"Authorization": token(deployed, TENANT_B, "bob", "staff")}
        body = {"kind": "cinemas", "format": "csv", "sizeBytes": 100}
        created = requests.post(f"{api}/imports", json=body, headers=b_staff, timeout=60)
        assert created.status_code == 201, f"tenant B's import: {created.status_code} {created.text}"
        ids["importId"] = created.json()["importId"]
    ids["_b_hold_before"] = requests.get(f"{api}/holds/{ids['holdId']}", headers=headers, timeout=30).json()
    return ids


def _url(api: str, path: str, ids: dict[str, Any]) -> tuple[str, list[str]]:
    used = []

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        value = ids.get(name) or f"x_{uuid.uuid4().hex[:16]}"
        used.append(str(value))
        return str(value)

    return api + PARAM.sub(substitute, path), used


def test_the_route_table_has_the_booking_routes(deployed: dict[str, Any]) -> None:
    routes = route_table(deployed)
    assert ("POST", "/showtimes/{showtimeId}/holds") in routes and ("GET", "/holds/{holdId}") in routes


def test_tenant_a_gets_404_for_every_id_of_tenant_b_on_every_route(
    api: str, deployed: dict[str, Any], tenant_b: dict[str, Any]
) -> None:
    """Each route is tried by a customer and by a staff member of A. Both must answer exactly as for an id that
    exists nowhere; at least one of them must reach the lookup (404). A 403 is accepted only for a group-gated route,
    where a random id gets the same 403 (existence is not leaked)."""
    key = partner_key(deployed)  # sent on every route: partner routes need it, the others ignore it
    callers = {
        g: {"Authorization": token(deployed, TENANT_A, f"eve-{g}", g), "x-api-key": key} for g in ("customer", "staff")
    }
    secrets = {str(v) for k, v in tenant_b.items() if not k.startswith("_") and v} | {TENANT_B}
    checked = []
    for method, path in route_table(deployed):
        if (method, path) in PUBLIC:
            continue
        if not PARAM.search(path):
            if method == "GET":
                for caller in callers.values():
                    listing = requests.get(api + path, headers=caller, params=QUERIES.get((method, path)), timeout=60)
                    assert listing.status_code < 500, f"{method} {path}: {listing.status_code} {listing.text}"
                    leaked = [s for s in secrets if s in listing.text]
                    assert not leaked, f"{method} {path} lists tenant B's {leaked}"
            continue
        statuses = []
        for group, caller in callers.items():
            url, used = _url(api, path, tenant_b)
            response = requests.request(method, url, headers=caller, json=BODIES.get((method, path), {}), timeout=60)
            where = f"{method} {path} as {group} of A -> {response.status_code} {response.text} {HINT}"
            b_ids_used = [u for u in used if u in secrets]
            if response.status_code == 422 and not b_ids_used:
                # No id of B was asked (a parameter that is not an id, e.g. an enum): a path validation error is fine.
                assert all(e["loc"][0] == "path" for e in response.json().get("errors", [])), where
                statuses.append(404)
                continue
            assert response.status_code in (403, 404), where
            assert response.headers["Content-Type"].startswith("application/problem+json"), where
            if response.status_code == 403:
                random_url, _ = _url(api, path, {})
                control = requests.request(
                    method, random_url, headers=caller, json=BODIES.get((method, path), {}), timeout=60
                )
                assert (control.status_code, control.json()["type"]) == (403, response.json()["type"]), where
            text = response.text
            for used_id in used:  # the id A sent may be echoed in `instance`; nothing else of B may appear
                text = text.replace(used_id, "")
            leaked = [s for s in secrets if s in text]
            assert not leaked, f"{where}: leaked {leaked}"
            statuses.append(response.status_code)
        assert 404 in statuses, f"{method} {path}: no caller of A reached the lookup ({statuses})"
        checked.append((method, path))
    assert len(checked) >= 4, checked


def test_tenant_b_is_unchanged_after_tenant_as_attempts(
    api: str, deployed: dict[str, Any], tenant_b: dict[str, Any]
) -> None:
    headers = {"Authorization": token(deployed, TENANT_B, "bella")}
    now = requests.get(f"{api}/holds/{tenant_b['holdId']}", headers=headers, timeout=30).json()
    assert now == tenant_b["_b_hold_before"]
    seat_map = requests.get(f"{api}/showtimes/{tenant_b['showtimeId']}", headers=headers, timeout=30).json()
    states = {s["seatId"]: s["state"] for s in seat_map["seats"]}
    assert states["A1"] == states["A2"] == "held"
    if "importId" in tenant_b:  # A's staff tried DELETE /imports/{B's id}: B's upload must still be open
        b_staff = {"Authorization": token(deployed, TENANT_B, "bob", "staff")}
        view = requests.get(f"{api}/imports/{tenant_b['importId']}", headers=b_staff, timeout=30)
        assert (view.status_code, view.json()["status"]) == (200, "UPLOADING"), view.text
