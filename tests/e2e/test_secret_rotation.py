"""Secrets (challenge 16) on the deployed stack: rotate a provider's key in the middle of traffic.

Payments:
Eight threads POST /payments with fresh Idempotency-Keys while ``RotateSecret`` runs the four steps on the Lambda
runner (``devkit.secrets_cli.rotate``, what ``marquee secrets rotate primary`` calls). No call may fail. After the
local target's cache age (PAYMENTS_SECRET_MAX_AGE_S = 5 s, infra/constants.py) every payment uses the new key version,
as the provider's per-version counters show.

Notifications: the same for the email channel's primary provider (``marquee secrets rotate email-primary``), with
booking events published to the bus while the key rotates: every message is sent by the primary (none fails over to
the backup), and after the cache age (NOTIFY_SECRET_MAX_AGE_S = 5 s locally) the new key version is the one used.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from devkit.identity import token_for
from devkit.secrets_cli import Rotation, rotate
from infra import constants
from tests.e2e.notify_helpers import Notify, wait_for

CARD = "4242424242424242"
THREADS = 8
CACHE_AGE_S = int(constants.PAYMENTS_SECRET_MAX_AGE_S_BY_TARGET[constants.TARGET_LOCAL])


@pytest.fixture(scope="module")
def customer(deployed: dict[str, Any]) -> str:
    return token_for(deployed["endpoint"], tenant="rotco", user="payer", outputs=deployed["outputs"])


def pay(api: str, token: str) -> int:
    response = requests.post(
        f"{api}/payments",
        data=json.dumps({"amount": {"amount": 700, "currency": "EUR"}, "card": CARD}),
        headers={"Authorization": token, "Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())},
        timeout=60,
    )
    return response.status_code


def key_versions(deployed: dict[str, Any]) -> Counter[str]:
    primary = deployed["cloud"].simulators()["payment"]["primary"]
    stats = requests.get(f"{primary}/_admin/stats", timeout=10).json()
    return Counter(stats["keyVersions"])


@pytest.fixture(scope="module")
def rotation_under_traffic(deployed: dict[str, Any], api: str, customer: str) -> dict[str, Any]:
    statuses: list[int] = []
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            started = time.monotonic()
            status = pay(api, customer)
            with lock:
                statuses.append(status)
                spans.append((started, time.monotonic()))

    primary_before = key_versions(deployed)
    for _ in range(4):  # warm the payments workers, so that the rotation happens mid-traffic, not mid-cold-start
        assert pay(api, customer) == 201
    with ThreadPoolExecutor(THREADS) as pool:
        workers = [pool.submit(traffic) for _ in range(THREADS)]
        while len(statuses) < 2 * THREADS:
            time.sleep(0.05)
        rotation_started = time.monotonic()
        result: Rotation = rotate(deployed["endpoint"], "primary")
        rotation_ended = time.monotonic()
        time.sleep(CACHE_AGE_S + 1)  # traffic goes on while the functions' cached key ages out
        stop.set()
        for worker in workers:
            worker.result()
    # Payments in flight at some point of the rotation (started before it ended, ended after it started).
    during = sum(1 for start, end in spans if start < rotation_ended and end > rotation_started)
    served = sum((key_versions(deployed) - primary_before).values()) - 4
    return {"rotation": result, "statuses": statuses, "during": during, "primary_served": served}


def test_a_rotation_in_the_middle_of_traffic_loses_no_call(rotation_under_traffic: dict[str, Any]) -> None:
    rotation, statuses = rotation_under_traffic["rotation"], rotation_under_traffic["statuses"]
    assert rotation.current_version != rotation.previous_version
    assert rotation_under_traffic["during"] > 0, "no payment overlapped the rotation"
    assert Counter(statuses) == {201: len(statuses)}
    # ...and not thanks to failover: the primary, whose key rotated, authorized every one of them.
    assert rotation_under_traffic["primary_served"] == len(statuses)
    print(f"\nrotation {rotation.seconds:.2f} s; {len(statuses)} payments around it, all 201")  # noqa: T201


def test_after_rotation_plus_the_cache_age_the_new_key_version_is_used(
    rotation_under_traffic: dict[str, Any], deployed: dict[str, Any], api: str, customer: str, sdk: Any
) -> None:
    rotation = rotation_under_traffic["rotation"]
    stages = sdk("secretsmanager").describe_secret(SecretId=rotation.secret)["VersionIdsToStages"]
    assert "AWSCURRENT" in stages[rotation.current_version]
    assert "AWSPREVIOUS" in stages[rotation.previous_version]
    before = key_versions(deployed)
    assert before[rotation.current_version] > 0, (rotation, dict(before))  # already in use during the traffic
    for _ in range(10):
        assert pay(api, customer) == 201
    used = key_versions(deployed) - before
    assert used == Counter({rotation.current_version: 10}), used


NOTIFY_CACHE_AGE_S = int(constants.NOTIFICATIONS_BY_TARGET[constants.TARGET_LOCAL]["NOTIFY_SECRET_MAX_AGE_S"])
EVENTS_PER_PHASE = 6


@pytest.fixture(scope="module")
def email_rotation(deployed: dict[str, Any], api: str, sdk: Any) -> dict[str, Any]:
    notify = Notify(deployed, api, sdk)
    customer = f"rot-{uuid.uuid4().hex[:8]}"
    notify.publish("OrderConfirmed", "rotco", customer, orderId="ord_warm")  # a cold start, before the clock runs
    wait_for(lambda: notify.delivered("email-primary", customer), timeout=180)
    before = notify.key_versions("email-primary")
    published = 1
    for index in range(EVENTS_PER_PHASE):  # queued while the rotation runs
        notify.publish("OrderConfirmed", "rotco", customer, orderId=f"ord_before_{index}")
    result = rotate(deployed["endpoint"], "email-primary")
    for index in range(EVENTS_PER_PHASE):  # the workers' cached key is the previous one for up to the cache age
        notify.publish("OrderConfirmed", "rotco", customer, orderId=f"ord_after_{index}")
    published += 2 * EVENTS_PER_PHASE
    wait_for(lambda: len(notify.delivered("email-primary", customer)) >= published, timeout=90)
    time.sleep(NOTIFY_CACHE_AGE_S + 1)
    return {"notify": notify, "customer": customer, "rotation": result, "published": published, "before": before}


def test_a_notification_provider_key_rotates_without_losing_a_message(email_rotation: dict[str, Any]) -> None:
    notify, customer, rotation = email_rotation["notify"], email_rotation["customer"], email_rotation["rotation"]
    assert rotation.secret == f"{constants.NOTIFICATION_SECRET_PREFIX}email-primary"
    assert rotation.current_version != rotation.previous_version
    assert len(notify.delivered("email-primary", customer)) == email_rotation["published"]
    assert notify.delivered("email-backup", customer) == []  # no failover: the primary took both keys


def test_after_rotation_plus_the_cache_age_notifications_use_the_new_key(email_rotation: dict[str, Any]) -> None:
    notify, customer, rotation = email_rotation["notify"], email_rotation["customer"], email_rotation["rotation"]
    before = notify.key_versions("email-primary")
    for index in range(EVENTS_PER_PHASE):
        notify.publish("OrderConfirmed", "rotco", customer, orderId=f"ord_later_{index}")
    total = email_rotation["published"] + EVENTS_PER_PHASE
    wait_for(lambda: len(notify.delivered("email-primary", customer)) >= total, timeout=90)
    used = notify.key_versions("email-primary") - before
    assert used == Counter({rotation.current_version: EVENTS_PER_PHASE}), used
