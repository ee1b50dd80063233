"""Tour scenario of the transactional outbox (challenge 12): hold changes reach the audit log, once each."""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from devkit.seed import BookingApi
from devkit.tour import Tour, expect, scenario
from localcloud.aws import local_client


@scenario("outbox: a hold and its release reach the audit log through stream -> relay -> bus -> queue, once each")
def _outbox(tour: Tour) -> list[str]:
    api = BookingApi(tour.endpoint_url, tour.outputs, session=tour.session)
    showtime = api.showtime("tour-outbox", rows=1, per_row=4)
    token = api.token("tour-outbox", "olga")
    created = requests.post(
        f"{api.base}/showtimes/{showtime['showtimeId']}/holds",
        json={"seats": ["A1", "A2"]},
        headers={"Authorization": token},
        timeout=60,
    ).json()
    requests.delete(f"{api.base}/holds/{created['holdId']}", headers={"Authorization": token}, timeout=60)
    ddb = local_client("dynamodb", tour.endpoint_url)
    started = time.perf_counter()
    found: list[dict[str, Any]] = []
    while time.perf_counter() - started < 90:
        items = ddb.query(
            TableName=tour.outputs["TableName"],
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "TENANT#tour-outbox#AUDIT"}},
        )["Items"]
        found = [json.loads(i["envelope"]["S"]) for i in items]
        found = [e for e in found if e["data"].get("holdId") == created["holdId"]]
        if len(found) >= 2:
            break
        time.sleep(0.5)
    expect(sorted(str(e["type"]) for e in found) == ["HoldCreated", "HoldReleased"], f"audit has {found}")
    return [
        f"hold {created['holdId']} created and released -> audit log in {time.perf_counter() - started:.1f} s:",
        *[f"  {e['occurredAt']} {e['type']} id={e['id']}" for e in found],
    ]
