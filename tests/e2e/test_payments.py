"""Idempotent payments (challenge 2) and provider failover (challenge 4) through the front door, after a real deploy.

The simulated providers are the local cloud's own (it reports their URLs at /_localcloud/simulators); their
``/_admin/stats`` count what really reached them. Every test uses its own tenant or key, so tests do not depend on
each other's counts.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from devkit.identity import token_for
from tests.waiting import wait_for

CARD = "4242424242424242"
PROBLEM_JSON = "application/problem+json"


def body(amount: Any = 1250, currency: Any = "EUR", card: str = CARD, **extra: Any) -> dict[str, Any]:
    return {"amount": {"amount": amount, "currency": currency}, "card": card, **extra}


@pytest.fixture(scope="module")
def customer(deployed: dict[str, Any]) -> str:
    return token_for(deployed["endpoint"], tenant="payco", user="payer", outputs=deployed["outputs"])


@pytest.fixture(scope="module")
def provider(deployed: dict[str, Any]) -> Any:
    urls = deployed["cloud"].simulators()["payment"]  # the cloud reports where the OS put each provider

    def url(name: str, path: str) -> str:
        return f"{urls[name]}{path}"

    return url


def pay(api: str, token: str, payload: Any, key: str | None, session: Any = requests, **headers: str) -> Any:
    if key is not None:
        headers["Idempotency-Key"] = key
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return session.post(
        f"{api}/payments",
        data=data,
        headers={"Authorization": token, "Content-Type": "application/json", **headers},
        timeout=60,
    )


def key_stats(provider: Any, name: str, payment_id: str) -> dict[str, int]:
    stats = requests.get(provider(name, "/_admin/stats"), timeout=10).json()
    return stats["keys"].get(payment_id, {"requests": 0, "charges": 0})


def test_a_payment_is_201_and_the_same_key_replays_it_with_idempotent_replayed(
    api: str, customer: str, provider: Any
) -> None:
    key = str(uuid.uuid4())
    first = pay(api, customer, body(), key)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    replay = pay(api, customer, body(), key)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert key_stats(provider, "primary", first.json()["paymentId"]) == {"requests": 1, "charges": 1}


def test_the_same_key_with_another_payload_is_422(api: str, customer: str) -> None:
    key = str(uuid.uuid4())
    assert pay(api, customer, body(amount=1000), key).status_code == 201
    reused = pay(api, customer, body(amount=2000), key)
    assert reused.status_code == 422
    assert reused.headers["Content-Type"].startswith(PROBLEM_JSON)
    assert reused.json()["type"] == "urn:marquee:problem:idempotency-key-reused"


def test_the_same_key_while_the_first_is_in_flight_is_409(api: str, customer: str, provider: Any) -> None:
    with ThreadPoolExecutor(3) as pool:  # warm a few workers, so the second request is not stuck in a cold start
        list(pool.map(lambda _: pay(api, customer, body(), str(uuid.uuid4())), range(3)))
    requests.post(provider("primary", "/_admin/config"), json={"latencyMs": 1500}, timeout=10)
    key = str(uuid.uuid4())
    first: dict[str, Any] = {}
    try:
        seen = requests.get(provider("primary", "/_admin/stats"), timeout=10).json()["requests"]
        thread = threading.Thread(target=lambda: first.update(response=pay(api, customer, body(), key)))
        thread.start()
        # The first request reaches the provider only after its INPROGRESS record is saved: wait for that, not a guess.
        wait_for(
            lambda: requests.get(provider("primary", "/_admin/stats"), timeout=10).json()["requests"] > seen,
            timeout=15,
            interval=0.02,
        )
        second = pay(api, customer, body(), key)
        thread.join()
    finally:
        requests.post(provider("primary", "/_admin/config"), json={"latencyMs": 0}, timeout=10)
    assert first["response"].status_code == 201, first["response"].text
    assert second.status_code == 409, second.text
    assert second.json()["type"] == "urn:marquee:problem:idempotency-key-in-flight"
    assert second.headers["Retry-After"] == "1"


def test_keys_are_scoped_by_tenant_and_client(api: str, deployed: dict[str, Any], customer: str) -> None:
    other_client = token_for(deployed["endpoint"], tenant="payco", user="payer2", outputs=deployed["outputs"])
    other_tenant = token_for(deployed["endpoint"], tenant="payco2", user="payer", outputs=deployed["outputs"])
    key = str(uuid.uuid4())
    ids = set()
    for token in (customer, other_client, other_tenant):
        response = pay(api, token, body(), key)
        assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
        ids.add(response.json()["paymentId"])
    assert len(ids) == 3


@pytest.mark.parametrize(
    ("key", "status"),
    [(None, 400), ("", 400), ("k" * 256, 400), ("k" * 255, 201)],
    ids=["missing", "empty", "too-long", "max-length"],
)
def test_idempotency_key_rules(api: str, customer: str, key: str | None, status: int) -> None:
    if key == "k" * 255:
        key = uuid.uuid4().hex + "k" * 223
    response = pay(api, customer, body(), key)
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["type"] == "urn:marquee:problem:invalid-idempotency-key"


@pytest.mark.parametrize(
    ("payload", "status", "slug"),
    [
        (body(amount=12.5), 422, "validation-error"),
        (body(amount="10.00"), 422, "validation-error"),
        (body(amount=0), 422, "validation-error"),
        (body(amount=-100), 422, "validation-error"),
        (body(currency="XYZ"), 422, "validation-error"),
        (body(currency="eur"), 422, "validation-error"),
        (
            '{"amount": {"amount": 1, "currency": "EUR"}, "amount": {"amount": 9, "currency": "EUR"}, "card": "4242"}',
            400,
            "duplicate-json-key",
        ),
        ('{"amount": {"amount": 1250, "currency": "EUR"}, "card": ', 400, "malformed-json"),
        (json.dumps({**body(), "orderId": "x" * (257 * 1024)}), 413, "payload-too-large"),
    ],
    ids=[
        "float",
        "decimal-string",
        "zero",
        "negative",
        "unknown-currency",
        "lowercase-currency",
        "duplicate-keys",
        "malformed",
        "over-256-kb",
    ],
)
def test_bad_input_is_a_clear_4xx_problem_and_charges_nothing(
    api: str, customer: str, provider: Any, payload: Any, status: int, slug: str
) -> None:
    before = requests.get(provider("primary", "/_admin/stats"), timeout=10).json()["requests"]
    response = pay(api, customer, payload, str(uuid.uuid4()))
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM_JSON)
    assert response.json()["type"] == f"urn:marquee:problem:{slug}"
    assert CARD not in response.text
    assert requests.get(provider("primary", "/_admin/stats"), timeout=10).json()["requests"] == before


def test_get_payment_is_the_owner_s_and_404_in_another_tenant(
    api: str, deployed: dict[str, Any], customer: str
) -> None:
    created = pay(api, customer, body(orderId="ord_get"), str(uuid.uuid4())).json()
    mine = requests.get(f"{api}/payments/{created['paymentId']}", headers={"Authorization": customer}, timeout=30)
    assert mine.status_code == 200 and mine.json() == created
    stranger = token_for(deployed["endpoint"], tenant="payco3", user="payer", outputs=deployed["outputs"])
    other = requests.get(f"{api}/payments/{created['paymentId']}", headers={"Authorization": stranger}, timeout=30)
    assert other.status_code == 404
    assert other.headers["Content-Type"].startswith(PROBLEM_JSON)


def test_1000_replays_half_concurrent_give_exactly_one_charge_at_the_provider(
    api: str, customer: str, provider: Any
) -> None:
    key = str(uuid.uuid4())
    first = pay(api, customer, body(), key)
    assert first.status_code == 201
    local = threading.local()

    def replay(_: int) -> tuple[int, str | None, dict[str, Any]]:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        response = pay(api, customer, body(), key, session=local.session)
        return response.status_code, response.headers.get("Idempotent-Replayed"), response.json()

    results = []
    with ThreadPoolExecutor(1) as sequential:  # 499 one after the other...
        results += list(sequential.map(replay, range(499)))
    with ThreadPoolExecutor(16) as pool:  # ...and 500 at once, 16 in flight at a time
        results += list(pool.map(replay, range(500)))
    # 1 + 999 = 1000 requests under one key: every one of the 999 replays is a 201 that says it is a replay and
    # carries the first response, and the provider saw one request and made one charge.
    assert Counter((status, flag) for status, flag, _ in results) == {(201, "true"): 999}
    assert [replayed for _, _, replayed in results] == [first.json()] * 999
    assert key_stats(provider, "primary", first.json()["paymentId"]) == {"requests": 1, "charges": 1}


def test_with_the_primary_stopped_payments_go_through_the_secondary(
    api: str, deployed: dict[str, Any], customer: str, provider: Any
) -> None:
    admin = f"{deployed['endpoint']}/_localcloud/providers/primary"
    assert requests.post(f"{admin}/stop", timeout=10).json()["running"] is False
    try:
        with pytest.raises(requests.ConnectionError):
            requests.get(provider("primary", "/_admin/stats"), timeout=2)
        response = pay(api, customer, body(), str(uuid.uuid4()))
        assert response.status_code == 201, response.text
        assert response.json()["provider"] == "secondary"
        assert key_stats(provider, "secondary", response.json()["paymentId"]) == {"requests": 1, "charges": 1}
    finally:
        assert requests.post(f"{admin}/start", timeout=10).json()["running"] is True
