"""POST /payments and GET /payments/{id}, in-process on moto, against two in-process simulated providers."""

from __future__ import annotations

import copy
import json
import threading
import time
from types import ModuleType
from typing import Any

import pytest

from ..conftest import invoke, load_event, only_tenant_sessions
from .conftest import SETTINGS, PaymentsWorld

PROBLEM_JSON = "application/problem+json"
CARD = "4242424242424242"


def payment_event(
    body: Any = None,
    *,
    key: str | None = "key-1",
    raw: str | None = None,
    sub: str | None = None,
    tenant: str | None = None,
) -> dict[str, Any]:
    event = copy.deepcopy(load_event("payments/create_payment.json"))
    for container in ("headers", "multiValueHeaders"):
        event[container].pop("Idempotency-Key", None)
    if key is not None:
        event["headers"]["Idempotency-Key"] = key
        event["multiValueHeaders"]["Idempotency-Key"] = [key]
    if raw is not None:
        event["body"] = raw
    elif body is not None:
        event["body"] = json.dumps(body)
    claims = event["requestContext"]["authorizer"]["claims"]
    if sub:
        claims["sub"] = sub
    if tenant:
        claims["custom:tenant_id"] = tenant
    return event


def body(amount: Any = 1250, currency: Any = "EUR", card: str = CARD, **extra: Any) -> dict[str, Any]:
    return {"amount": {"amount": amount, "currency": currency}, "card": card, **extra}


def get_event(payment_id: str, *, tenant: str | None = None) -> dict[str, Any]:
    event = copy.deepcopy(load_event("payments/get_payment.json"))
    event["path"] = f"/payments/{payment_id}"
    event["pathParameters"] = {"paymentId": payment_id}
    if tenant:
        event["requestContext"]["authorizer"]["claims"]["custom:tenant_id"] = tenant
    return event


def test_sample_event_charges_once_and_answers_201(
    payments_function: ModuleType, payments_world: PaymentsWorld
) -> None:
    result = invoke(payments_function, load_event("payments/create_payment.json"))
    assert result.status == 201, result.body
    assert result.body["status"] == "CAPTURED"
    assert result.body["cardLast4"] == "4242"
    assert "card" not in result.body
    assert result.body["provider"] == "primary"
    assert "Idempotent-Replayed" not in result.headers
    assert payments_world.stats("primary")["charges"] == 1


def test_payments_reach_the_main_table_only_through_the_tenant_session(
    payments_function: ModuleType, payments_world: PaymentsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Challenge 19: the payment and its outbox item are written and read with the tenant-access role's session for the
    caller's tenant; only the idempotency records and breakers (no tenant prefix) use the function's own role."""
    with only_tenant_sessions(monkeypatch, SETTINGS["TABLE_NAME"]) as opened:
        created = invoke(payments_function, payment_event(body(), key="tenant-session-1"))
        assert created.status == 201, created.body
        got = invoke(payments_function, get_event(created.body["paymentId"]))
        assert got.status == 200 and got.body["paymentId"] == created.body["paymentId"]
    tenant = load_event("payments/create_payment.json")["requestContext"]["authorizer"]["claims"]["custom:tenant_id"]
    assert opened and set(opened) == {tenant}


def test_same_key_same_payload_replays_first_response_with_header(
    payments_function: ModuleType, payments_world: PaymentsWorld
) -> None:
    first = invoke(payments_function, payment_event(body()))
    second = invoke(payments_function, payment_event(body()))
    assert second.status == first.status == 201
    assert second.body == first.body
    assert second.headers["Idempotent-Replayed"] == ["true"]
    assert payments_world.stats("primary")["charges"] == 1


def test_same_key_different_payload_is_422(payments_function: ModuleType, payments_world: PaymentsWorld) -> None:
    invoke(payments_function, payment_event(body(amount=1250)))
    result = invoke(payments_function, payment_event(body(amount=9999)))
    assert result.status == 422
    assert result.content_type == PROBLEM_JSON
    assert result.body["type"].endswith("idempotency-key-reused")
    assert payments_world.stats("primary")["charges"] == 1


def test_key_is_scoped_by_client_and_tenant(payments_function: ModuleType, payments_world: PaymentsWorld) -> None:
    a = invoke(payments_function, payment_event(body(), sub="client-a"))
    b = invoke(payments_function, payment_event(body(), sub="client-b"))
    c = invoke(payments_function, payment_event(body(), sub="client-a", tenant="other-chain"))
    assert {a.status, b.status, c.status} == {201}
    assert len({a.body["paymentId"], b.body["paymentId"], c.body["paymentId"]}) == 3
    assert "Idempotent-Replayed" not in b.headers and "Idempotent-Replayed" not in c.headers
    assert payments_world.stats("primary")["charges"] == 3


def test_same_key_while_first_in_flight_is_409(payments_function: ModuleType, payments_world: PaymentsWorld) -> None:
    payments_world.providers["primary"].latency_ms = 600  # under the 1500 ms read timeout: slow, not failing
    results: dict[str, Any] = {}

    def first() -> None:
        results["first"] = invoke(payments_function, payment_event(body()))

    thread = threading.Thread(target=first)
    thread.start()
    # The first request reaches the provider only after Powertools saved its INPROGRESS record; wait for that instead
    # of sleeping a guess (a guess raced on a loaded CI machine: the second request won the record).
    provider = payments_world.providers["primary"]
    deadline = time.monotonic() + 10
    while provider.stats.requests == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert provider.stats.requests == 1, "the first request never reached the provider"
    second = invoke(payments_function, payment_event(body()))
    thread.join()
    assert results["first"].status == 201
    assert second.status == 409
    assert second.body["type"].endswith("idempotency-key-in-flight")
    assert second.headers["Retry-After"] == ["1"]


@pytest.mark.parametrize(
    ("key", "slug"),
    [
        (None, "invalid-idempotency-key"),
        ("", "invalid-idempotency-key"),
        ("   ", "invalid-idempotency-key"),
        ("k" * 256, "invalid-idempotency-key"),
    ],
    ids=["missing", "empty", "blank", "too-long"],
)
def test_bad_idempotency_key_is_400(payments_function: ModuleType, key: str | None, slug: str) -> None:
    result = invoke(payments_function, payment_event(body(), key=key))
    assert result.status == 400
    assert result.content_type == PROBLEM_JSON
    assert result.body["type"].endswith(slug)


def test_key_of_255_characters_is_accepted(payments_function: ModuleType) -> None:
    assert invoke(payments_function, payment_event(body(), key="k" * 255)).status == 201


@pytest.mark.parametrize(
    "bad",
    [
        body(amount=12.5),
        body(amount="10.00"),
        body(amount=0),
        body(amount=-5),
        body(amount=True),
        body(currency="EURO"),
        body(currency="ABC"),
        body(currency="eur"),
        body(card="4242"),
        {"amount": 1250, "currency": "EUR", "card": CARD},
        body(extra="field"),
    ],
    ids=[
        "float",
        "string",
        "zero",
        "negative",
        "bool",
        "long-currency",
        "unknown-currency",
        "lowercase",
        "short-card",
        "flat-money",
        "unknown-field",
    ],
)
def test_invalid_money_or_fields_are_422_and_charge_nothing(
    payments_function: ModuleType, payments_world: PaymentsWorld, bad: dict[str, Any]
) -> None:
    result = invoke(payments_function, payment_event(bad))
    assert result.status == 422, result.body
    assert result.content_type == PROBLEM_JSON
    assert CARD not in json.dumps(result.body)
    assert payments_world.stats("primary")["requests"] == 0


@pytest.mark.parametrize(
    ("raw", "slug"),
    [
        (
            '{"amount": {"amount": 1, "currency": "EUR"}, "amount": {"amount": 2, "currency": "EUR"}, "card": "4242"}',
            "duplicate-json-key",
        ),
        ('{"amount": {"amount": 1, "amount": 2, "currency": "EUR"}, "card": "4242424242424242"}', "duplicate-json-key"),
        ('{"amount": ', "malformed-json"),
    ],
    ids=["duplicate-top-level", "duplicate-nested", "truncated"],
)
def test_malformed_or_duplicate_key_json_is_400(payments_function: ModuleType, raw: str, slug: str) -> None:
    result = invoke(payments_function, payment_event(raw=raw))
    assert result.status == 400
    assert result.body["type"].endswith(slug)


def test_an_empty_body_is_422_and_charges_nothing(payments_function: ModuleType, payments_world: Any) -> None:
    result = invoke(payments_function, payment_event(raw=""))
    assert result.status == 422
    assert result.body["errors"] == [{"loc": ["body"], "type": "missing", "msg": "Field required"}]
    assert payments_world.stats("primary")["requests"] == 0


def test_a_top_level_array_is_422_and_charges_nothing(payments_function: ModuleType, payments_world: Any) -> None:
    result = invoke(payments_function, payment_event(raw=json.dumps([body()])))
    assert result.status == 422
    assert result.body["type"].endswith("validation-error")
    assert payments_world.stats("primary")["requests"] == 0


def test_body_over_256_kb_is_413(payments_function: ModuleType) -> None:
    raw = json.dumps({**body(), "orderId": "x" * (256 * 1024)})
    result = invoke(payments_function, payment_event(raw=raw))
    assert result.status == 413
    assert result.body["type"].endswith("payload-too-large")


def test_declined_card_is_402_and_replays_402(payments_function: ModuleType, payments_world: PaymentsWorld) -> None:
    first = invoke(payments_function, payment_event(body(card="4000000000000002")))
    second = invoke(payments_function, payment_event(body(card="4000000000000002")))
    assert first.status == second.status == 402
    assert first.body["type"].endswith("payment-declined")
    assert payments_world.stats("primary")["declines"] == 1
    assert payments_world.stats("primary")["requests"] == 1


def test_get_payment_is_404_in_another_tenant(payments_function: ModuleType) -> None:
    created = invoke(payments_function, payment_event(body()))
    payment_id = created.body["paymentId"]
    mine = invoke(payments_function, get_event(payment_id))
    other = invoke(payments_function, get_event(payment_id, tenant="other-chain"))
    assert mine.status == 200 and mine.body == created.body
    assert other.status == 404
    assert other.content_type == PROBLEM_JSON


def test_payment_and_event_are_written_together(payments_function: ModuleType, payments_world: PaymentsWorld) -> None:
    created = invoke(payments_function, payment_event(body(orderId="ord_42")))
    items = payments_world.ddb.scan(TableName="marquee-table")["Items"]
    outbox = [i for i in items if i["sk"]["S"] == "OUTBOX"]
    payments = [i for i in items if i["sk"]["S"] == "META"]
    assert len(outbox) == 1 and len(payments) == 1
    assert not [i for i in items if i["sk"]["S"] == "ATTEMPT"]
    envelope = json.loads(outbox[0]["envelope"]["S"])
    assert envelope["type"] == "PaymentCaptured"
    assert envelope["data"]["paymentId"] == created.body["paymentId"]
    assert envelope["data"]["cardLast4"] == "4242"
    assert CARD not in json.dumps(items)


def test_provider_is_down_fails_over_to_secondary(payments_function: ModuleType, payments_world: PaymentsWorld) -> None:
    payments_world.providers["primary"].stop()
    result = invoke(payments_function, payment_event(body()))
    assert result.status == 201
    assert result.body["provider"] == "secondary"
    assert payments_world.stats("secondary")["charges"] == 1


def test_both_providers_down_is_503_with_retry_after_and_a_retry_succeeds(
    payments_function: ModuleType, payments_world: PaymentsWorld
) -> None:
    for provider in payments_world.providers.values():
        provider.stop()
    down = invoke(payments_function, payment_event(body()))
    assert down.status == 503
    assert down.body["type"].endswith("provider-unavailable")
    assert down.headers["Retry-After"] == ["5"]
    payments_world.providers["secondary"].start()
    retried = invoke(payments_function, payment_event(body()))
    assert retried.status == 201
    assert "Idempotent-Replayed" not in retried.headers  # a failure is not stored: the retry really ran
