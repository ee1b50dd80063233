"""Tour scenarios of design questions 3, 4 and 8: an event published three times has one effect, and the integrity
reconciler finds injected drift with its ids (then the tour takes its drift back, so later runs report 0 again)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import requests

from devkit.functions import deployed_function
from devkit.layer import use_layer
from devkit.providers import provider_urls
from devkit.seed import BookingApi
from devkit.tour import Tour, expect, scenario
from localcloud.aws import local_client

use_layer()  # the layer's `marquee` is not installed in the CLI's environment

from marquee.booking.events import HoldReleased  # noqa: E402
from marquee.messaging.events import envelope  # noqa: E402


def _function(tour: Tour, service: str) -> str:
    return deployed_function(tour.endpoint_url, service)


def _audit(tour: Tour, tenant: str) -> list[dict[str, Any]]:
    items = local_client("dynamodb", tour.endpoint_url).query(
        TableName=tour.outputs["TableName"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"TENANT#{tenant}#AUDIT"}},
    )["Items"]
    return [json.loads(i["envelope"]["S"]) for i in items]


@scenario("exactly-once: one event published three times (a relay re-publishing) has one audit entry")
def _three_times(tour: Tour) -> list[str]:
    tenant = "tour-exactly-once"
    event = envelope(
        HoldReleased(hold_id=f"hld_{uuid.uuid4().hex[:20]}", showtime_id="sht_tour", seats=["A1"], reason="tour"),
        tenant_id=tenant,
        correlation_id="tour",
    )
    events = local_client("events", tour.endpoint_url)
    bus = next(b["Name"] for b in events.list_event_buses()["EventBuses"] if b["Name"] != "default")
    entry = {"EventBusName": bus, "Source": "marquee.booking", "DetailType": event.type, "Detail": event.to_json()}
    for _ in range(3):
        events.put_events(Entries=[entry])
    started = time.perf_counter()
    found: list[dict[str, Any]] = []
    while time.perf_counter() - started < 60:
        found = [e for e in _audit(tour, tenant) if e["id"] == event.id]
        if found:
            break
        time.sleep(0.5)
    time.sleep(2)  # the other two copies arrive meanwhile
    found = [e for e in _audit(tour, tenant) if e["id"] == event.id]
    expect(len(found) == 1, f"{len(found)} audit entries for one event published 3 times")
    return [f"event {event.id} published 3 times -> 1 audit entry (the inbox absorbed 2 duplicates)"]


def _reconcile(tour: Tour) -> dict[str, Any]:
    answer = local_client("lambda", tour.endpoint_url).invoke(
        FunctionName=_function(tour, "integrity"), Payload=json.dumps({"graceSeconds": 0}).encode()
    )
    report: dict[str, Any] = json.loads(answer["Payload"].read())
    expect("FunctionError" not in answer, f"the reconciler failed: {report}")
    return report


@scenario("integrity: the reconciler finds a charge without an order and a seat sold without a payment, by id")
def _integrity(tour: Tour) -> list[str]:
    tenant = "tour-integrity"
    api = BookingApi(tour.endpoint_url, tour.outputs, session=tour.session)
    showtime = api.showtime(tenant, rows=1, per_row=2)
    ddb = local_client("dynamodb", tour.endpoint_url)
    seat_key = {"pk": {"S": f"TENANT#{tenant}#SHOWTIME#{showtime['showtimeId']}"}, "sk": {"S": "SEAT#A1"}}
    ghost = f"ord_{uuid.uuid4().hex[:20]}"
    ddb.update_item(
        TableName=tour.outputs["TableName"],
        Key=seat_key,
        UpdateExpression="SET sold_to = :o",
        ExpressionAttributeValues={":o": {"S": ghost}},
    )
    secret = local_client("secretsmanager", tour.endpoint_url).get_secret_value(SecretId="marquee/payments/primary")
    auth = {"Authorization": f"Bearer {json.loads(secret['SecretString'])['apiKey']}"}
    primary = provider_urls(tour.endpoint_url)["primary"]
    stray = requests.post(
        f"{primary}/v1/charges",
        json={"amount": 700, "currency": "EUR", "card": "4242424242424242"},
        headers={**auth, "Idempotency-Key": f"tour-stray-{uuid.uuid4().hex}"},
        timeout=10,
    ).json()
    try:
        report = _reconcile(tour)
    finally:  # take the drift back: the seat is free again, the stray charge refunded
        ddb.update_item(TableName=tour.outputs["TableName"], Key=seat_key, UpdateExpression="REMOVE sold_to")
        requests.post(
            f"{primary}/v1/refunds",
            json={"charge": stray["id"]},
            headers={**auth, "Idempotency-Key": f"tour-refund-{stray['id']}"},
            timeout=10,
        )
    found = [d for d in report["drift"] if d.get("chargeId") == stray["id"] or d.get("orderId") == ghost]
    expect(
        {d["kind"] for d in found} == {"CHARGE_WITHOUT_PAYMENT", "SEAT_SOLD_WITHOUT_PAYMENT"},
        f"the reconciler reported {found}",
    )
    after = _reconcile(tour)
    left = [d for d in after["drift"] if d.get("chargeId") == stray["id"] or d.get("orderId") == ghost]
    expect(left == [], f"still reported after the repair: {left}")
    return [
        f"run {report['runId']}: {report['durationMs']} ms over {report['scanned']}",
        *[f"  {d['kind']}: {d['detail']}" for d in found],
        f"after taking the drift back: run {after['runId']} reports none of it",
    ]
