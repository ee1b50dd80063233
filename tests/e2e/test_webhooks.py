"""Webhooks end to end on the deployed stack: a receiver on 127.0.0.1 verifies deliveries with the official
``standardwebhooks`` library; events are published to the bus as the outbox relay publishes them."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
import requests
from standardwebhooks import Webhook

from devkit.events import publish_order_event
from devkit.identity import token_for
from tests import waiting
from tests.integration.webhooks.receiver import Receiver

TENANT = "webhooks-e2e"


wait_for = partial(waiting.wait_for, timeout=60, interval=0.3)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def staff(deployed: dict[str, Any]) -> dict[str, str]:
    token = token_for(deployed["endpoint"], tenant=TENANT, user="wanda", group="staff", outputs=deployed["outputs"])
    return {"Authorization": token}


def publish(sdk: Any, deployed: dict[str, Any], event_type: str = "OrderConfirmed") -> str:
    return publish_order_event(
        sdk("events"), deployed["outputs"]["EventBusName"], event_type, tenant_id=TENANT, correlation_prefix="e2e"
    )


def register(api: str, staff: dict[str, str], url: str, types: list[str] | None = None) -> dict[str, Any]:
    response = requests.post(
        f"{api}/webhooks/endpoints",
        json={"url": url, "eventTypes": types or ["OrderConfirmed"]},
        headers=staff,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def deliveries(api: str, staff: dict[str, str], endpoint_id: str) -> list[dict[str, Any]]:
    response = requests.get(f"{api}/webhooks/endpoints/{endpoint_id}/deliveries", headers=staff, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["deliveries"]


def test_deliveries_verify_with_standardwebhooks_and_a_rotation_carries_both_signatures(
    api: str, staff: dict[str, str], sdk: Any, deployed: dict[str, Any], receiver: Receiver
) -> None:
    created = register(api, staff, receiver.url)
    receiver.secrets["first"] = created["secret"]
    event_id = publish(sdk, deployed)
    got = wait_for(lambda: receiver.received)[0]
    assert got.verified_with == ["first"]
    assert json.loads(got.body)["id"] == event_id
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(created["secret"]).verify(got.body.replace("OrderConfirmed", "OrderFailed"), got.headers)
    (delivery,) = wait_for(
        lambda: [d for d in deliveries(api, staff, created["endpointId"]) if d["status"] == "SUCCEEDED"]
    )
    assert delivery["deliveryId"] == got.headers["webhook-id"]

    rotated = requests.post(
        f"{api}/webhooks/endpoints/{created['endpointId']}/rotate-secret", headers=staff, timeout=30
    )
    assert rotated.status_code == 200, rotated.text
    receiver.secrets = {"old": created["secret"], "new": rotated.json()["secret"]}
    publish(sdk, deployed)
    second = wait_for(lambda: receiver.received[1:])[0]
    assert len(second.headers["webhook-signature"].split(" ")) == 2
    assert sorted(second.verified_with) == ["new", "old"]


def test_a_failing_endpoint_exhausts_into_the_dlq_then_is_disabled_and_a_redelivery_succeeds(
    api: str, staff: dict[str, str], sdk: Any, deployed: dict[str, Any], receiver: Receiver
) -> None:
    receiver.status = 500
    created = register(api, staff, receiver.url)
    endpoint_id = created["endpointId"]
    publish(sdk, deployed)
    (exhausted,) = wait_for(
        lambda: [d for d in deliveries(api, staff, endpoint_id) if d["status"] == "EXHAUSTED"], timeout=90
    )
    assert len(exhausted["attempts"]) == 8 and {a["statusCode"] for a in exhausted["attempts"]} == {500}
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1  # one id across all retries
    sqs = sdk("sqs")

    def in_dlq() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=deployed["outputs"]["WebhookDlqUrl"], MaxNumberOfMessages=10)
        return [m for m in messages.get("Messages", []) if exhausted["deliveryId"] in m["Body"]]

    assert wait_for(in_dlq, timeout=30)

    publish(sdk, deployed)  # 2 more failures reach the local threshold (10): disabled, EndpointDisabled emitted
    endpoint = wait_for(
        lambda: (
            (e := requests.get(f"{api}/webhooks/endpoints/{endpoint_id}", headers=staff, timeout=30).json())["status"]
            == "DISABLED"
            and e
        ),
        timeout=60,
    )
    assert endpoint["consecutiveFailures"] == 10
    table = deployed["outputs"]["TableName"]
    pages = (
        sdk("dynamodb")
        .get_paginator("scan")
        .paginate(  # the table passes 1 MB in a full run: read every page
            TableName=table,
            FilterExpression="event_type = :t",
            ExpressionAttributeValues={":t": {"S": "EndpointDisabled"}},
        )
    )
    outbox = [item for page in pages for item in page["Items"]]
    assert any(json.loads(i["envelope"]["S"])["data"]["endpointId"] == endpoint_id for i in outbox)

    redeliver = f"{api}/webhooks/endpoints/{endpoint_id}/deliveries/{exhausted['deliveryId']}/redeliver"
    refused = requests.post(redeliver, headers=staff, timeout=30)
    assert refused.status_code == 409 and refused.headers["Content-Type"].startswith("application/problem+json")
    receiver.status = 200
    assert requests.post(f"{api}/webhooks/endpoints/{endpoint_id}/enable", headers=staff, timeout=30).status_code == 200
    assert requests.post(redeliver, headers=staff, timeout=30).status_code == 202
    wait_for(
        lambda: [
            d
            for d in deliveries(api, staff, endpoint_id)
            if d["deliveryId"] == exhausted["deliveryId"] and d["status"] == "SUCCEEDED"
        ]
    )


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ({"url": "http://hooks.example.com/x", "eventTypes": ["OrderConfirmed"]}, 422, "webhook-url-rejected"),
        ({"url": "https://169.254.169.254/latest", "eventTypes": ["OrderConfirmed"]}, 422, "webhook-url-rejected"),
        ({"url": "https://10.0.0.1/x", "eventTypes": ["OrderConfirmed"]}, 422, "webhook-url-rejected"),
        ({"url": "not a url", "eventTypes": ["OrderConfirmed"]}, 422, "webhook-url-rejected"),
        ({"url": "https://127.0.0.1/x", "eventTypes": ["NoSuchEvent"]}, 422, "validation-error"),
        ({"url": "https://127.0.0.1/x", "eventTypes": ["OrderConfirmed"], "description": "x" * 270_000}, 413, None),
    ],
)
def test_bad_endpoint_input_is_a_problem_and_registers_nothing(
    api: str, staff: dict[str, str], body: dict[str, Any], status: int, slug: str | None
) -> None:
    before = requests.get(f"{api}/webhooks/endpoints", headers=staff, timeout=30).json()["endpoints"]
    response = requests.post(f"{api}/webhooks/endpoints", json=body, headers=staff, timeout=30)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    if slug:
        assert response.json()["type"] == f"urn:marquee:problem:{slug}"
    assert requests.get(f"{api}/webhooks/endpoints", headers=staff, timeout=30).json()["endpoints"] == before


def test_inbound_refunds_need_no_token_but_a_valid_fresh_signature_and_replays_are_dropped(
    api: str, sdk: Any, deployed: dict[str, Any]
) -> None:
    outputs = deployed["outputs"]
    secret = sdk("secretsmanager").get_secret_value(SecretId=outputs["WebhookInboundSecretArn"])["SecretString"]
    payment_id = f"pay_{uuid.uuid4().hex[:16]}"
    sdk("dynamodb").put_item(
        TableName=outputs["TableName"],
        Item={"pk": {"S": f"TENANT#{TENANT}#PAYMENT#{payment_id}"}, "sk": {"S": "META"}, "status": {"S": "CAPTURED"}},
    )
    body = json.dumps(
        {
            "type": "chargeback.created",
            "data": {
                "tenantId": TENANT,
                "paymentId": payment_id,
                "providerReference": "dp_123",
                "amount": {"amount": 900, "currency": "EUR"},
            },
        }
    )

    def post(timestamp: datetime, msg_id: str, payload: str = body) -> requests.Response:
        signature = Webhook(secret).sign(msg_id, timestamp, payload)
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": signature,
            "Content-Type": "application/json",  # Standard Webhooks senders declare the JSON payload
        }
        return requests.post(f"{api}/webhooks/inbound/payments", data=payload, headers=headers, timeout=30)

    now = datetime.now(UTC)
    first = post(now, "msg_e2e_1")
    assert first.status_code == 200 and first.json()["status"] == "recorded", first.text
    assert post(now, "msg_e2e_1").json()["status"] == "duplicate"
    # Whole seconds away from the moment of the request, rounded away from now: the window is exactly 300 s.
    stale = post(datetime.fromtimestamp(math.floor(time.time()) - 301, UTC), "msg_e2e_2")
    assert stale.status_code == 401 and stale.headers["Content-Type"].startswith("application/problem+json")
    assert post(datetime.fromtimestamp(math.ceil(time.time()) + 301, UTC), "msg_e2e_3").status_code == 401
    headers = {
        "webhook-id": "msg_e2e_4",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": "v1,AAAA",
        "Content-Type": "application/json",
    }
    forged = requests.post(f"{api}/webhooks/inbound/payments", data=body, headers=headers, timeout=30)
    assert forged.status_code == 401
