"""Tour scenario of the sensitive-data audit (design question 7): a staff read lands in the access trail, which a
compliance officer reads; reading more customers than the tenant allows alerts its security contact by e-mail."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import requests

from devkit.notification_providers import provider_urls
from devkit.seed import BookingApi
from devkit.tour import Tour, expect, scenario

TENANT = "tour-dq7"
CONTACT = "security@tour-dq7.example"


def _wait(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.25)
    return None


@scenario(
    "sensitive-data audit: a staff read lands in the trail; reading too many customers alerts the security contact"
)
def _sensitive_data_audit(tour: Tour) -> list[str]:
    api = BookingApi(tour.endpoint_url, tour.outputs, session=tour.session)

    def call(method: str, path: str, user: str, group: str, **kwargs: Any) -> Any:
        headers = {"Authorization": api.token(TENANT, user, group)}
        return api.session.request(method, f"{api.base}{path}", headers=headers, timeout=60, **kwargs)

    settings = {"securityContact": CONTACT, "timeZone": "America/Sao_Paulo", "workingHoursStart": "00:00",
                "workingHoursEnd": "23:59", "workingDays": [1, 2, 3, 4, 5, 6, 7], "maxCustomersPerWindow": 2}  # fmt: skip
    put = call("PUT", "/settings/security", "olga", "compliance", json=settings)
    expect(put.status_code == 200, f"PUT /settings/security: {put.status_code} {put.text}")
    customers = []
    for name in ("ana", "bruno", "caio"):
        call("PUT", "/me/profile", name, "customer", json={"displayName": name.title(), "email": f"{name}@x.example"})
        customers.append(call("GET", "/me", name, "customer").json()["userId"])

    read = call("GET", f"/customers/{customers[0]}/profile", "sofia", "staff")
    expect(read.status_code == 200, f"staff read: {read.status_code}")
    trail = _wait(lambda: call("GET", "/audit/access", "olga", "compliance", params={"customer": customers[0]})
                  .json()["items"])  # fmt: skip
    expect(bool(trail), "the read never reached the trail")
    entry = trail[0]
    for customer in customers[1:]:
        call("GET", f"/customers/{customer}/profile", "sofia", "staff")
    provider = provider_urls(urlparse(tour.endpoint_url).port or 4566)["email-primary"]

    def alerts() -> list[dict[str, Any]]:
        messages = requests.get(f"{provider}/_admin/messages", timeout=5).json()["messages"]
        return [m for m in messages if m["to"] == CONTACT]

    sent = _wait(alerts)
    expect(bool(sent), "no alert reached the security contact")
    as_staff = call("GET", "/audit/access", "sofia", "staff", params={"customer": customers[0]}).status_code
    return [
        f"staff {entry['staffUsername']} read customer {customers[0][:8]}…: trail entry at {entry['at']} from "
        f"{entry['ip']} ({entry['userAgent'][:24]}), request {entry['requestId'][:8]}, fields {entry['fields']}",
        f"the same trail read by staff -> {as_staff} (compliance officers only)",
        f"3 customers read within 5 minutes (limit 2) -> e-mail to {CONTACT}: '{sent[0]['subject']}'",
    ]
