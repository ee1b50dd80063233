"""The webhook functions in-process on moto: endpoint API, fan-out, signed delivery to a real loopback receiver
(verified with ``standardwebhooks``), retries, DLQ, disable, rotation, and the inbound provider webhook."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest
from standardwebhooks import Webhook

from marquee.webhooks.signing import signed_headers

from ..conftest import LambdaContext, invoke, load_event, only_tenant_sessions
from .conftest import INBOUND_SECRET, World
from .receiver import Receiver

TENANT = "acme-cinemas"


def create(world: World, staff_event: Any, url: str, types: list[str] | None = None) -> dict[str, Any]:
    result = invoke(
        world.api,
        staff_event("create_endpoint.json", body={"url": url, "eventTypes": types or ["OrderConfirmed"]}),
    )
    assert result.status == 201, result.body
    return result.body


def publish(
    world: World, event_type: str = "OrderConfirmed", tenant: str = TENANT, event_id: str | None = None
) -> dict:
    event = load_event("webhooks_fanout/booking_event.json")
    body = json.loads(event["Records"][0]["body"])
    body["detail"]["type"] = event_type
    body["detail-type"] = event_type
    body["detail"]["tenantId"] = tenant
    if event_id:
        body["detail"]["id"] = event_id
    event["Records"][0]["body"] = json.dumps(body)
    return world.fanout.handler(event, LambdaContext())


def send_pending(world: World, receive_count: int | None = None) -> dict[str, Any]:
    """Run the sender on what the delivery queue holds now, as the event source mapping would."""
    messages = world.drain_delivery_queue()
    assert messages, "nothing to send"
    records = []
    for m in messages:
        count = str(receive_count) if receive_count else m["Attributes"]["ApproximateReceiveCount"]
        records.append(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {**m["Attributes"], "ApproximateReceiveCount": count},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:webhook-deliveries",
                "awsRegion": "us-east-1",
            }
        )
    result = world.sender.handler({"Records": records}, LambdaContext())
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    for m in messages:  # the event source mapping deletes what did not fail
        if m["MessageId"] not in failed:
            world.sqs.delete_message(QueueUrl=world.delivery_queue_url, ReceiptHandle=m["ReceiptHandle"])
    return result


def deliveries(world: World, staff_event: Any, endpoint_id: str) -> list[dict[str, Any]]:
    result = invoke(world.api, staff_event("list_deliveries.json", path_params={"endpoint_id": endpoint_id}))
    assert result.status == 200, result.body
    return result.body["deliveries"]


# ---- endpoint API ------------------------------------------------------------------------------------------------------
def test_registering_an_endpoint_shows_a_whsec_secret_once_and_keeps_it_in_secrets_manager(world: World, staff_event):
    created = create(world, staff_event, "https://hooks.example.com/marquee", ["OrderConfirmed", "PaymentRefunded"])
    assert created["secret"].startswith("whsec_")
    assert created["status"] == "ACTIVE" and created["eventTypes"] == ["OrderConfirmed", "PaymentRefunded"]
    stored = json.loads(
        world.secrets.get_secret_value(SecretId=f"marquee/webhook-endpoints/{TENANT}/{created['endpointId']}")[
            "SecretString"
        ]
    )
    assert stored["current"] == created["secret"] and stored["version"] == 1
    listed = invoke(world.api, staff_event("list_endpoints.json"))
    assert [e["endpointId"] for e in listed.body["endpoints"]] == [created["endpointId"]]
    assert "secret" not in listed.body["endpoints"][0]
    items = world.items(f"TENANT#{TENANT}#WEBHOOKS")
    assert len(items) == 1 and created["secret"] not in json.dumps(items)


def test_the_staff_api_reaches_the_table_only_through_the_tenant_session(
    world: World, staff_event, monkeypatch: pytest.MonkeyPatch
):
    """Challenge 19: endpoints and deliveries are read and written with the tenant-access role's session for the
    caller's tenant, never with the function's own role (which has no table access on AWS)."""
    with only_tenant_sessions(monkeypatch, world.platform.table_name) as opened:
        created = create(world, staff_event, "https://hooks.example.com/tenant-session", ["OrderConfirmed"])
        listed = invoke(world.api, staff_event("list_endpoints.json"))
        assert [e["endpointId"] for e in listed.body["endpoints"]] == [created["endpointId"]]
        assert deliveries(world, staff_event, created["endpointId"]) == []
    assert opened and set(opened) == {TENANT}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/x", "https"),
        ("https://metadata.example.com/latest", "link-local"),
        ("https://rebind.example.com/x", "private"),
        ("https://10.1.2.3/x", "private"),
        ("https://[::ffff:192.168.1.1]/x", "private"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("https://no-such-host.invalid/x", "does not resolve"),
        ("hooks.example.com/x", "https"),
        ("https://hooks.example.com:99999/x", "malformed"),
    ],
)
def test_a_bad_url_is_a_422_problem_and_nothing_is_written(world: World, staff_event, url: str, reason: str):
    result = invoke(world.api, staff_event("create_endpoint.json", body={"url": url, "eventTypes": ["OrderPlaced"]}))
    assert result.status == 422, result.body
    assert result.content_type == "application/problem+json"
    assert result.body["type"] == "urn:marquee:problem:webhook-url-rejected"
    assert reason in result.body["detail"]
    assert world.items(f"TENANT#{TENANT}#WEBHOOKS") == []
    assert world.secrets.list_secrets()["SecretList"] == [] or all(
        "webhook-endpoints" not in s["Name"] for s in world.secrets.list_secrets()["SecretList"]
    )


def test_the_sample_metadata_url_is_refused(world: World):
    result = invoke(world.api, load_event("webhooks_api/create_endpoint_metadata_url.json"))
    assert result.status == 422 and "169.254.169.254" not in result.body.get("errors", "")


def test_unknown_event_types_are_a_422_naming_the_position_not_echoing_the_value(world: World, staff_event):
    body = {"url": "https://hooks.example.com/x", "eventTypes": ["OrderConfirmed", "SeatsTeleported"]}
    result = invoke(world.api, staff_event("create_endpoint.json", body=body))
    assert result.status == 422
    assert [error["loc"] for error in result.body["errors"]] == [["body", "eventTypes", 1]]
    assert "SeatsTeleported" not in json.dumps(result.body)
    assert world.items(f"TENANT#{TENANT}#WEBHOOKS") == []


def test_a_body_over_256_kb_is_a_413_problem_before_parsing(world: World, staff_event):
    body = json.dumps(
        {"url": "https://hooks.example.com/x", "eventTypes": ["OrderPlaced"], "description": "x" * 300_000}
    )
    result = invoke(world.api, staff_event("create_endpoint.json", body=body))
    assert result.status == 413 and result.body["type"] == "urn:marquee:problem:payload-too-large"
    assert world.items(f"TENANT#{TENANT}#WEBHOOKS") == []


def test_customers_cannot_manage_endpoints(world: World, staff_event):
    event = staff_event("list_endpoints.json")
    event["requestContext"]["authorizer"]["claims"]["cognito:groups"] = "[customer]"
    assert invoke(world.api, event).status == 403


def test_another_tenants_endpoint_is_a_404(world: World, staff_event):
    created = create(world, staff_event, "https://hooks.example.com/x")
    event = staff_event("list_deliveries.json", path_params={"endpoint_id": created["endpointId"]})
    event["requestContext"]["authorizer"]["claims"]["custom:tenant_id"] = "other-chain"
    result = invoke(world.api, event)
    assert result.status == 404 and result.body["type"] == "urn:marquee:problem:webhook-endpoint-not-found"


# ---- fan-out and delivery ----------------------------------------------------------------------------------------------
def test_a_subscribed_endpoint_receives_a_delivery_that_standardwebhooks_verifies(
    world: World, staff_event, receiver: Receiver
):
    created = create(world, staff_event, receiver.url)
    receiver.secrets["current"] = created["secret"]
    other = create(world, staff_event, receiver.url, ["HoldCreated"])  # not subscribed to OrderConfirmed
    assert publish(world) == {"batchItemFailures": []}
    assert send_pending(world) == {"batchItemFailures": []}

    (got,) = receiver.received
    assert got.verified_with == ["current"]
    assert got.headers["webhook-id"].startswith("msg_")
    assert got.headers["webhook-signature"].startswith("v1,")
    assert json.loads(got.body)["type"] == "OrderConfirmed"
    (delivery,) = deliveries(world, staff_event, created["endpointId"])
    assert delivery["deliveryId"] == got.headers["webhook-id"]
    assert delivery["status"] == "SUCCEEDED"
    assert delivery["attempts"][0]["statusCode"] == 200 and delivery["attempts"][0]["signatures"] == 1
    assert deliveries(world, staff_event, other["endpointId"]) == []


def test_a_tampered_body_or_a_wrong_secret_fails_verification(world: World, staff_event, receiver: Receiver):
    created = create(world, staff_event, receiver.url)
    publish(world)
    send_pending(world)
    (got,) = receiver.received
    Webhook(created["secret"]).verify(got.body, got.headers)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(created["secret"]).verify(got.body.replace("OrderConfirmed", "OrderFailed"), got.headers)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook("whsec_" + "A" * 44).verify(got.body, got.headers)


def test_the_same_event_fanned_out_twice_keeps_one_delivery_id_and_is_sent_once(
    world: World, staff_event, receiver: Receiver
):
    created = create(world, staff_event, receiver.url)
    publish(world, event_id="11111111-2222-4333-8444-555555555555")
    send_pending(world)
    publish(world, event_id="11111111-2222-4333-8444-555555555555")  # an SQS redelivery of the bus event
    assert world.drain_delivery_queue() == []
    assert len(receiver.received) == 1
    assert len(deliveries(world, staff_event, created["endpointId"])) == 1


def test_failed_attempts_back_off_then_exhaust_into_the_dlq_keeping_the_webhook_id(
    world: World, staff_event, receiver: Receiver
):
    receiver.status = 500
    created = create(world, staff_event, receiver.url)
    publish(world)
    first = send_pending(world)
    assert len(first["batchItemFailures"]) == 1  # reported failed, visibility set to the (0 s) backoff
    send_pending(world)
    send_pending(world)  # attempt 3 of 3: EXHAUSTED
    (delivery,) = deliveries(world, staff_event, created["endpointId"])
    assert delivery["status"] == "EXHAUSTED"
    assert [a["statusCode"] for a in delivery["attempts"]] == [500, 500, 500]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1  # stable across retries
    assert world.drain_delivery_queue() == []  # the 4th receive moved it to the DLQ
    dlq = world.sqs.receive_message(QueueUrl=world.delivery_dlq_url).get("Messages", [])
    assert json.loads(dlq[0]["Body"])["deliveryId"] == delivery["deliveryId"]

    receiver.status = 204
    redeliver = staff_event(
        "redeliver.json", path_params={"endpoint_id": created["endpointId"], "delivery_id": delivery["deliveryId"]}
    )
    accepted = invoke(world.api, redeliver)
    assert accepted.status == 202 and accepted.body["generation"] == 1
    send_pending(world)
    (delivery,) = deliveries(world, staff_event, created["endpointId"])
    assert delivery["status"] == "SUCCEEDED" and len(delivery["attempts"]) == 4
    assert receiver.received[-1].headers["webhook-id"] == delivery["deliveryId"]


def test_consecutive_failures_disable_the_endpoint_and_notify_through_the_outbox(
    world: World, staff_event, receiver: Receiver
):
    receiver.status = 503
    created = create(world, staff_event, receiver.url)
    publish(world, event_id="aaaaaaaa-0000-4000-8000-000000000001")
    for _ in range(3):
        send_pending(world)  # 3 failures: exhausted
    publish(world, event_id="aaaaaaaa-0000-4000-8000-000000000002")
    send_pending(world)
    last = send_pending(world)  # failure 5 = WEBHOOK_DISABLE_AFTER_FAILURES: disabled, delivery SKIPPED
    assert last == {"batchItemFailures": []}
    endpoint = invoke(world.api, staff_event("list_endpoints.json")).body["endpoints"][0]
    assert endpoint["status"] == "DISABLED" and endpoint["consecutiveFailures"] == 5
    (disabled,) = world.outbox("EndpointDisabled")
    assert disabled["tenantId"] == TENANT and disabled["data"]["endpointId"] == created["endpointId"]
    assert disabled["data"]["consecutiveFailures"] == 5

    publish(world, event_id="aaaaaaaa-0000-4000-8000-000000000003")  # disabled endpoints get nothing new
    assert world.drain_delivery_queue() == []
    redeliver = staff_event(
        "redeliver.json",
        path_params={"endpoint_id": created["endpointId"], "delivery_id": disabled["data"]["lastDeliveryId"]},
    )
    assert invoke(world.api, redeliver).status == 409


def test_rotation_signs_with_both_secrets_during_the_overlap(world: World, staff_event, receiver: Receiver):
    created = create(world, staff_event, receiver.url)
    rotate = staff_event("rotate_secret.json", path_params={"endpoint_id": created["endpointId"]})
    rotated = invoke(world.api, rotate)
    assert rotated.status == 200 and rotated.body["secretVersion"] == 2
    assert rotated.headers.get("Cache-Control") == ["no-store"]
    assert rotated.body["secret"] != created["secret"] and rotated.body["secret"].startswith("whsec_")
    receiver.secrets.update({"old": created["secret"], "new": rotated.body["secret"]})
    publish(world)
    send_pending(world)
    (got,) = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert sorted(got.verified_with) == ["new", "old"]  # a receiver holding either secret accepts it
    (delivery,) = deliveries(world, staff_event, created["endpointId"])
    assert delivery["attempts"][0]["signatures"] == 2


# ---- inbound provider webhooks -----------------------------------------------------------------------------------------
def _payment(world: World, tenant: str = TENANT, payment_id: str = "pay_0123456789abcdef") -> None:
    world.ddb.put_item(
        TableName=world.platform.table_name,
        Item={"pk": {"S": f"TENANT#{tenant}#PAYMENT#{payment_id}"}, "sk": {"S": "META"}, "status": {"S": "CAPTURED"}},
    )


def _inbound(
    body: str | None = None, *, timestamp: int | None = None, secret: str = INBOUND_SECRET, msg_id: str = "msg_1"
):
    event = load_event("webhooks_inbound/refund_succeeded.json")
    body = body if body is not None else event["body"]
    headers = signed_headers([secret], msg_id=msg_id, timestamp=timestamp or int(time.time()), body=body)
    event["body"] = body
    for key in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        event["headers"][key] = headers[key]
    return event


def test_a_signed_refund_is_recorded_once_with_its_event_and_a_replay_is_dropped(world: World):
    _payment(world)
    event = _inbound()
    first = invoke(world.inbound, event)
    assert first.status == 200 and first.body["status"] == "recorded"
    replay = invoke(world.inbound, event)
    assert replay.status == 200 and replay.body["status"] == "duplicate"
    records = [i for i in world.items(f"TENANT#{TENANT}#PAYMENT#pay_0123456789abcdef") if i["sk"]["S"] != "META"]
    assert [r["sk"]["S"] for r in records] == ["REFUND#re_3Nf9Qx2eZvKYlo2C"]
    (reported,) = world.outbox("RefundReported")
    assert (
        reported["data"]["amount"] == {"amount": 1250, "currency": "EUR"} and reported["data"]["webhookId"] == "msg_1"
    )


@pytest.mark.parametrize("skew", [-305, 305])
def test_timestamps_more_than_300_seconds_old_or_ahead_are_401(world: World, skew: int):
    _payment(world)
    # 5 s past the 300 s tolerance: a loaded machine may take a second or more between here and the verification
    now = math.ceil(time.time()) if skew > 0 else math.floor(time.time())
    result = invoke(world.inbound, _inbound(timestamp=now + skew))
    assert result.status == 401 and result.body["type"] == "urn:marquee:problem:invalid-webhook-signature"
    assert world.outbox("RefundReported") == []


def test_a_tampered_body_a_wrong_secret_or_a_malformed_signature_is_401(world: World):
    _payment(world)
    tampered = _inbound()
    tampered["body"] = tampered["body"].replace("1250", "125000")
    wrong = _inbound(secret="whsec_" + "B" * 44)
    malformed = _inbound()
    malformed["headers"]["webhook-signature"] = "garbage-without-a-comma"
    unsigned = _inbound()
    del unsigned["headers"]["webhook-signature"]
    for event in (tampered, wrong, malformed, unsigned):
        result = invoke(world.inbound, event)
        assert result.status == 401, result.body
    assert world.outbox("RefundReported") == []


def test_a_payment_of_another_tenant_is_404_and_nothing_is_written(world: World):
    _payment(world, tenant="other-chain")
    result = invoke(world.inbound, _inbound())
    assert result.status == 404 and result.body["type"] == "urn:marquee:problem:payment-not-found"
    assert world.outbox("RefundReported") == []
    inbox = world.ddb.scan(TableName="marquee-inbox")["Items"]
    assert inbox == []  # the provider's retry, once the payment exists, is not taken for a replay


def test_a_signed_but_invalid_event_is_422(world: World):
    _payment(world)
    body = json.dumps({"type": "refund.succeeded", "data": {"tenantId": TENANT, "paymentId": "pay_0123456789abcdef"}})
    result = invoke(world.inbound, _inbound(body))
    assert result.status == 422 and "data.amount" in result.body["detail"]
