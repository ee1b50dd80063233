"""Sensitive-data audit (design question 7) on the deployed stack: a staff read of a customer's profile reaches the
encrypted trail and a compliance officer's GET /audit/access; a staff member reading more customers than the tenant
allows alerts the security contact by e-mail (the simulated provider receives it once); seeded personal values never
appear in any function's CloudWatch log. The read's added latency is printed (figures in docs/benchmarks.md)."""

from __future__ import annotations

import json
import statistics
import time
import uuid
from typing import Any

import requests

from tests.e2e.booking_helpers import token
from tests.e2e.notify_helpers import Notify, wait_for

TENANT = "dq7-audit"
CONTACT = "security-officer@dq7-audit.example"
SEEDED = {"displayName": "Ximena Seeded-Audit", "email": "ximena.seeded.4471@example.org", "phone": "+55 21 94471 0000"}


def _call(api: str, method: str, path: str, tok: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{api}{path}", headers={"Authorization": tok}, timeout=30, **kwargs)


def _customer(api: str, deployed: dict[str, Any], name: str, body: dict[str, str]) -> tuple[str, str]:
    tok = token(deployed, TENANT, name)
    assert _call(api, "PUT", "/me/profile", tok, json=body).status_code == 200
    return tok, str(_call(api, "GET", "/me", tok).json()["userId"])


def test_staff_reads_reach_the_trail_alert_the_contact_and_leave_no_personal_value_in_logs(
    api: str, deployed: dict[str, Any], sdk: Any
) -> None:
    officer = token(deployed, TENANT, "officer", "compliance")
    staff = token(deployed, TENANT, "reader", "staff")
    settings = {"securityContact": CONTACT, "timeZone": "UTC", "workingHoursStart": "00:00",
                "workingHoursEnd": "23:59", "workingDays": [1, 2, 3, 4, 5, 6, 7], "maxCustomersPerWindow": 2}  # fmt: skip
    assert _call(api, "PUT", "/settings/security", officer, json=settings).status_code == 200
    seeded_tok, seeded_id = _customer(api, deployed, "seeded", SEEDED)
    others = [_customer(api, deployed, f"c{i}", {"displayName": f"C {i}", "email": f"c{i}@x.example"})[1]
              for i in range(2)]  # fmt: skip

    read = _call(api, "GET", f"/customers/{seeded_id}/profile", staff)
    assert read.status_code == 200 and read.json()["email"] == SEEDED["email"]
    assert _call(api, "GET", f"/customers/{seeded_id}/profile", seeded_tok).status_code == 403  # customers cannot

    started = time.monotonic()
    wait_for(lambda: _call(api, "GET", "/audit/access", officer, params={"customer": seeded_id}).json()["items"])
    lag = time.monotonic() - started
    (entry,) = _call(api, "GET", "/audit/access", officer, params={"customer": seeded_id}).json()["items"]
    assert entry["staffUsername"] == f"{TENANT}.reader" and entry["fields"] == ["displayName", "email", "phone"]
    assert entry["requestId"] and entry["ip"] and entry["tenantId"] == TENANT
    assert _call(api, "GET", "/audit/access", staff, params={"customer": seeded_id}).status_code == 403

    for customer_id in others:  # 3 distinct customers in 5 minutes; the limit is 2
        assert _call(api, "GET", f"/customers/{customer_id}/profile", staff).status_code == 200
    notify = Notify(deployed, api, sdk)
    wait_for(lambda: notify.delivered("email-primary", CONTACT))
    time.sleep(2)  # a repeated alert for the window would have arrived by now
    (alert,) = notify.delivered("email-primary", CONTACT)
    assert "many-customers" in alert["subject"]
    print(f"\ntrail visible to compliance after {lag * 1000:.0f} ms")

    leaks: list[str] = []
    logs = sdk("logs")
    lines = 0
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix="/aws/lambda/"):
        for group in page["logGroups"]:
            for events in logs.get_paginator("filter_log_events").paginate(logGroupName=group["logGroupName"]):
                for event in events["events"]:
                    lines += 1
                    leaks += [f"{k} in {group['logGroupName']}" for k, v in SEEDED.items() if v in event["message"]]
    assert lines > 0 and not leaks


def test_the_added_latency_of_an_audited_read(api: str, deployed: dict[str, Any]) -> None:
    """Same function, same item: a customer's own read (not audited) against a staff read (one SendMessage more)."""
    tok, customer_id = _customer(
        api, deployed, f"lat{uuid.uuid4().hex[:6]}", {"displayName": "L", "email": "l@x.example"}
    )
    staff = token(deployed, TENANT, "latency-staff", "staff")
    own, audited = [], []
    for _ in range(5):  # warm both paths
        _call(api, "GET", "/me/profile", tok)
        _call(api, "GET", f"/customers/{customer_id}/profile", staff)
    for _ in range(40):
        for samples, path, who in ((own, "/me/profile", tok), (audited, f"/customers/{customer_id}/profile", staff)):
            started = time.perf_counter()
            assert _call(api, "GET", path, who).status_code == 200
            samples.append((time.perf_counter() - started) * 1000)
    figures = {name: {"p50": statistics.median(s), "p95": statistics.quantiles(s, n=20)[18]}
               for name, s in (("own", own), ("audited", audited))}  # fmt: skip
    print("\naudited-read latency (ms): " + json.dumps({k: {q: round(v, 1) for q, v in f.items()}
                                                         for k, f in figures.items()}))  # fmt: skip

    def recorded() -> int:
        page = _call(api, "GET", "/audit/access", token(deployed, TENANT, "officer", "compliance"),
                     params={"customer": customer_id, "limit": 100})  # fmt: skip
        return len(page.json()["items"])

    wait_for(lambda: recorded() == 45)  # every audited read left exactly one record; the customer's own, none
