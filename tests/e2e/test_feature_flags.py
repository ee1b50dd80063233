"""Feature flags end to end: AppConfig deployed by the stack, read by a running function through Powertools' AppConfig
store, changed at run time with `marquee flags set` (FlagsClient), no deploy."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from devkit.flags import FlagError, FlagsClient, set_flag
from devkit.identity import token_for

MAX_AGE_SECONDS = 5  # infra/constants.py FLAGS_MAX_AGE_SECONDS


def _features(api: str, token: str) -> dict[str, Any]:
    response = requests.get(f"{api}/me/features", headers={"Authorization": token}, timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_rules_use_the_verified_tenant(api: str, deployed: dict[str, Any]) -> None:
    """The initial flags turn SMS on for tenant t1's pilot only: the rule sees the tenant from the token."""
    t1 = token_for(deployed["endpoint"], tenant="t1", user="flag-a", outputs=deployed["outputs"])
    t2 = token_for(deployed["endpoint"], tenant="t2", user="flag-b", outputs=deployed["outputs"])
    assert "sms_notifications" in _features(api, t1)["enabled"]
    assert "sms_notifications" not in _features(api, t2)["enabled"]


def test_a_flag_change_reaches_the_running_function_within_its_cache_age(api: str, deployed: dict[str, Any]) -> None:
    token = token_for(deployed["endpoint"], tenant="t3", user="flag-c", outputs=deployed["outputs"])
    assert "payments_secondary_as_primary" not in _features(api, token)["enabled"]  # warm, cached
    client = FlagsClient(deployed["endpoint"])
    _, flags = client.current()
    changed_at = time.monotonic()
    client.deploy(set_flag(flags, "payments_secondary_as_primary", default=True, tenants=None, percent=None))
    seen_after = None
    try:
        while time.monotonic() - changed_at < MAX_AGE_SECONDS + 5:
            if "payments_secondary_as_primary" in _features(api, token)["enabled"]:
                seen_after = time.monotonic() - changed_at
                break
            time.sleep(0.2)
    finally:
        client.deploy(flags)  # restore, even when a request above failed: later tests expect the initial flags
    assert seen_after is not None, "the change never reached the function"
    assert seen_after <= MAX_AGE_SECONDS + 2  # the cache age, plus a poll's slack


def test_an_invalid_flag_document_is_refused_before_deploy(deployed: dict[str, Any]) -> None:
    client = FlagsClient(deployed["endpoint"])
    version, flags = client.current()
    with pytest.raises(FlagError):
        client.deploy({**flags, "broken": {"default": "yes"}})  # a boolean flag with a string default
    assert client.current()[0] == version


def test_the_secondary_as_primary_flag_moves_a_tenants_payments_without_a_deploy(
    api: str, deployed: dict[str, Any]
) -> None:
    """Flipping payments_secondary_as_primary for one tenant sends its new payments to the secondary provider within
    the cache age; another tenant's payments stay on the primary."""
    import uuid

    flagged = token_for(deployed["endpoint"], tenant="t-flagpay", user="payer", outputs=deployed["outputs"])
    other = token_for(deployed["endpoint"], tenant="t-plainpay", user="payer", outputs=deployed["outputs"])

    def pay(token: str) -> str:
        response = requests.post(
            f"{api}/payments",
            json={"amount": {"amount": 1200, "currency": "EUR"}, "card": "4242424242424242"},
            headers={"Authorization": token, "Idempotency-Key": str(uuid.uuid4())},
            timeout=60,
        )
        assert response.status_code == 201, response.text
        provider: str = response.json()["provider"]
        return provider

    assert pay(flagged) == "primary"
    client = FlagsClient(deployed["endpoint"])
    _, flags = client.current()
    client.deploy(set_flag(flags, "payments_secondary_as_primary", default=None, tenants=["t-flagpay"], percent=None))
    try:
        deadline = time.monotonic() + MAX_AGE_SECONDS + 10
        provider = pay(flagged)
        while provider != "secondary" and time.monotonic() < deadline:
            time.sleep(0.5)
            provider = pay(flagged)
        assert provider == "secondary"
        assert pay(other) == "primary"
    finally:
        client.deploy(flags)


def test_the_seat_suggestion_rollout_switches_algorithms_by_percentage(deployed: dict[str, Any]) -> None:
    """seat_suggestions_v2 is a MODULO_RANGE rollout on the user's bucket: at 0 % everyone gets v1 (front row), at
    100 % everyone gets v2 (centre), within the cache age, no deploy."""
    from devkit.seed import BookingApi

    booking = BookingApi(deployed["endpoint"], deployed["outputs"])
    showtime = booking.showtime("t-suggest", rows=5, per_row=10)
    token = booking.token("t-suggest", "sugg")
    url = f"{booking.base}/showtimes/{showtime['showtimeId']}/suggestions?party=2"

    def suggestion() -> dict[str, Any]:
        response = requests.get(url, headers={"Authorization": token}, timeout=30)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    client = FlagsClient(deployed["endpoint"])
    _, flags = client.current()
    try:
        for percent, algorithm, seats in ((0, "v1", ["A1", "A2"]), (100, "v2", ["C5", "C6"])):
            client.deploy(set_flag(flags, "seat_suggestions_v2", default=None, tenants=None, percent=percent))
            deadline = time.monotonic() + MAX_AGE_SECONDS + 10
            body = suggestion()
            while body["algorithm"] != algorithm and time.monotonic() < deadline:
                time.sleep(0.5)
                body = suggestion()
            assert body == {"algorithm": algorithm, "party": 2, "seats": seats}
    finally:
        client.deploy(flags)
