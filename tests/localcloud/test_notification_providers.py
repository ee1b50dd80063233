"""The simulated notification providers (devkit/notification_providers.py): what the workers rely on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from devkit.notification_providers import PROVIDER_NAMES, NotificationProvider, NotificationProviders, provider_urls

KEY = "k-123"


@pytest.fixture
def provider() -> Iterator[NotificationProvider]:
    p = NotificationProvider("email-primary", host="127.0.0.1", port=0, api_keys=lambda: frozenset({KEY})).start()
    yield p
    p.close()


def _send(p: NotificationProvider, key: str, to: str = "cust-1", api_key: str = KEY) -> requests.Response:
    return requests.post(
        f"{p.url}/v1/messages",
        json={"channel": "email", "to": to, "subject": "s", "body": "b"},
        headers={"Authorization": f"Bearer {api_key}", "Idempotency-Key": key},
        timeout=5,
    )


def test_same_idempotency_key_sends_once_and_replays_the_answer(provider: NotificationProvider) -> None:
    first, second = _send(provider, "evt-1:email"), _send(provider, "evt-1:email")
    assert first.status_code == 201 and second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true" and second.json() == first.json()
    assert provider.stats()["sent"] == 1 and provider.stats()["replays"] == 1


def test_wrong_key_is_401_and_invalid_recipient_is_400(provider: NotificationProvider) -> None:
    assert _send(provider, "k1", api_key="nope").status_code == 401
    assert _send(provider, "k2", to="invalid-number").status_code == 400
    assert provider.stats()["sent"] == 0


def test_injected_failures_answer_503_and_stop_closes_the_port(provider: NotificationProvider) -> None:
    assert requests.post(f"{provider.url}/_admin/config", json={"errorRate": 1.0}, timeout=5).status_code == 200
    assert _send(provider, "k3").status_code == 503
    url = provider.url
    provider.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/_admin/stats", timeout=2)


def test_the_cloud_reports_six_providers_on_ports_of_their_own(endpoint: str) -> None:
    urls = provider_urls(endpoint)
    assert list(urls) == list(PROVIDER_NAMES)
    ports = {url.rsplit(":", 1)[1] for url in urls.values()}
    assert len(ports) == 6 and endpoint.rsplit(":", 1)[1] not in ports
    providers = NotificationProviders(host="127.0.0.1", first_port=0, endpoint_url="http://localhost:1")
    status, body = providers.admin("fax-primary", "stop")
    assert status == 404 and "fax-primary" in body["message"]


def test_the_key_api_registers_the_next_key_for_a_rotation(provider: NotificationProvider) -> None:
    """What the rotation function's setSecret and testSecret call: the same key API as the payment providers."""
    new_key = "n" * 32
    assert (
        requests.get(f"{provider.url}/v1/ping", headers={"Authorization": f"Bearer {new_key}"}, timeout=5).status_code
        == 401
    )
    refused = requests.post(
        f"{provider.url}/v1/api_keys",
        json={"apiKey": new_key, "name": "v2"},
        headers={"Authorization": f"Bearer {new_key}"},  # a key it does not accept yet cannot register itself
        timeout=5,
    )
    assert refused.status_code == 401
    register = requests.post(
        f"{provider.url}/v1/api_keys",
        json={"apiKey": new_key, "name": "v2"},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=5,
    )
    assert register.status_code == 201
    assert (
        requests.get(f"{provider.url}/v1/ping", headers={"Authorization": f"Bearer {new_key}"}, timeout=5).status_code
        == 200
    )
    assert _send(provider, "evt-9:email", api_key=new_key).status_code == 201
    assert _send(provider, "evt-10:email").status_code == 201  # the current key still works
    assert provider.stats()["keyVersions"] == {"v2": 1, "unlabelled": 1}
