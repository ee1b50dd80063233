"""Tour scenario of secrets (challenge 16): rotate the primary provider's API key in the middle of payment traffic."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from devkit.providers import provider_urls
from devkit.secrets_cli import rotate
from devkit.tour import Tour, expect, scenario

CARD = "4242424242424242"
CACHE_AGE_S = 5  # PAYMENTS_SECRET_MAX_AGE_S on the local target (infra/constants.py)


def _key_versions(tour: Tour) -> Counter[str]:
    primary = provider_urls(tour.endpoint_url)["primary"]
    return Counter(requests.get(f"{primary}/_admin/stats", timeout=10).json()["keyVersions"])


def _pay(tour: Tour, token: str) -> int:
    payload = {"amount": {"amount": 900, "currency": "EUR"}, "card": CARD}
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    return tour.call("POST", "/payments", token=token, headers=headers, json=payload).status_code


@scenario("secrets: the primary provider key rotates mid-traffic with no failed payment; the new key is used after")
def _rotation(tour: Tour) -> list[str]:
    token = tour.token("t1", "alice")
    statuses: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            status = _pay(tour, token)
            with lock:
                statuses.append(status)

    with ThreadPoolExecutor(4) as pool:
        workers = [pool.submit(traffic) for _ in range(4)]
        time.sleep(0.5)
        rotation = rotate(tour.endpoint_url, "primary")
        time.sleep(CACHE_AGE_S + 1)
        stop.set()
        for worker in workers:
            worker.result()
    failed = sum(1 for s in statuses if s != 201)
    expect(failed == 0, f"{failed} of {len(statuses)} payments failed around the rotation")
    before = _key_versions(tour)
    after_statuses = [_pay(tour, token) for _ in range(5)]
    expect(all(s == 201 for s in after_statuses), f"payments after the rotation: {after_statuses}")
    used = _key_versions(tour) - before
    expect(set(used) == {rotation.current_version}, f"key versions used after the cache age: {dict(used)}")
    return [
        f"rotated marquee/payments/primary in {rotation.seconds:.2f} s (four steps on the Lambda runner): "
        f"version {rotation.previous_version[:8]}… → {rotation.current_version[:8]}…",
        f"{len(statuses)} payments during and around it, {failed} failed",
        f"after the {CACHE_AGE_S} s cache age: 5 payments, all with key version {rotation.current_version[:8]}…",
    ]
