"""Tour scenarios of payments: exactly-once charges (challenge 2) and provider failover behind breakers (challenge 4)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import requests

from devkit.providers import provider_urls
from devkit.tour import Tour, expect, scenario
from localcloud.aws import local_client

CARD = "4242424242424242"
BREAKER = "payments-primary"
COOLDOWN_S = 5.5  # BREAKER_COOLDOWN_MS (infra/constants.py) + a margin


def _provider(tour: Tour, name: str, path: str) -> str:
    """A simulated provider's URL, as the running cloud reports it (the OS picks the port)."""
    return f"{provider_urls(tour.endpoint_url)[name]}{path}"


def _pay(tour: Tour, token: str, key: str, amount: int = 1250) -> requests.Response:
    payload = {"amount": {"amount": amount, "currency": "EUR"}, "card": CARD}
    return tour.call("POST", "/payments", token=token, headers={"Idempotency-Key": key}, json=payload)


def _charges(tour: Tour, name: str, payment_id: str) -> dict[str, int]:
    keys = requests.get(_provider(tour, name, "/_admin/stats"), timeout=10).json()["keys"]
    return dict(keys.get(payment_id, {"requests": 0, "charges": 0}))


def _transitions(tour: Tour) -> list[dict[str, Any]]:
    ddb = local_client("dynamodb", tour.endpoint_url)
    table = next(t for t in ddb.list_tables()["TableNames"] if "OpsTable" in t)
    items = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :t)",
        ExpressionAttributeValues={":pk": {"S": f"BREAKER#{BREAKER}"}, ":t": {"S": "TRANSITION#"}},
    )["Items"]
    return [
        {"from": i["from_state"]["S"], "to": i["to_state"]["S"], "at": int(i["at_ms"]["N"]), "reason": i["reason"]["S"]}
        for i in items
    ]


@scenario("payments: a replayed payment returns the first response (Idempotent-Replayed) and the provider charged once")
def _replay(tour: Tour) -> list[str]:
    token = tour.token("t1", "alice")
    key = str(uuid.uuid4())
    first = _pay(tour, token, key)
    expect(first.status_code == 201, f"first payment gave {first.status_code}: {first.text}")
    replays = [_pay(tour, token, key) for _ in range(3)]
    expect(all(r.status_code == 201 and r.json() == first.json() for r in replays), "a replay differs from the first")
    expect(all(r.headers.get("Idempotent-Replayed") == "true" for r in replays), "a replay lacks Idempotent-Replayed")
    reused = _pay(tour, token, key, amount=999)
    expect(reused.status_code == 422, f"same key, other amount gave {reused.status_code}")
    counts = _charges(tour, "primary", first.json()["paymentId"])
    expect(counts == {"requests": 1, "charges": 1}, f"the provider saw {counts}")
    return [
        f"POST /payments (Idempotency-Key {key[:8]}...) -> 201 {first.json()['paymentId']} via {first.json()['provider']}",
        "3 replays -> 201, identical bodies, Idempotent-Replayed: true",
        f"same key, amount 999 -> 422 {reused.json()['type']}",
        f"primary provider /_admin/stats for this payment: {counts}",
    ]


@scenario("payments: the primary provider is killed; payments keep succeeding through the secondary, the breaker opens")
def _failover(tour: Tour) -> list[str]:
    token = tour.token("t1", "alice")
    admin = f"{tour.endpoint_url}/_localcloud/providers/primary"
    seen_before = len(_transitions(tour))
    expect(requests.post(f"{admin}/stop", timeout=10).json()["running"] is False, "the primary did not stop")
    lines = ["POST /_localcloud/providers/primary/stop -> port closed"]
    try:
        providers = []
        for _ in range(7):
            response = _pay(tour, token, str(uuid.uuid4()))
            expect(
                response.status_code == 201, f"payment during the outage gave {response.status_code}: {response.text}"
            )
            providers.append(response.json()["provider"])
        expect(set(providers) == {"secondary"}, f"providers during the outage: {providers}")
        lines.append(f"7 payments during the outage -> 201 each, via {', '.join(providers)}")
    finally:
        expect(requests.post(f"{admin}/start", timeout=10).json()["running"] is True, "the primary did not restart")
    lines.append("POST /_localcloud/providers/primary/start -> port open again")
    time.sleep(COOLDOWN_S)
    recovered = [_pay(tour, token, str(uuid.uuid4())).json().get("provider") for _ in range(3)]
    expect(recovered[-1] == "primary", f"after the cool-down, payments went to {recovered}")
    lines.append(f"after the cool-down ({COOLDOWN_S:.1f} s): 3 payments via {', '.join(map(str, recovered))}")
    transitions = _transitions(tour)[seen_before:]
    path = [(t["from"], t["to"]) for t in transitions]
    expect(path[:3] == [("CLOSED", "OPEN"), ("OPEN", "HALF_OPEN"), ("HALF_OPEN", "CLOSED")], f"transitions {path}")
    lines.append(f"breaker {BREAKER} transitions (ops table, BREAKER#{BREAKER} / TRANSITION#...):")
    lines += [f"  {t['from']} -> {t['to']}: {t['reason']}" for t in transitions]
    return lines
