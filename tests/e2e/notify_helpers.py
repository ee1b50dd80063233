"""The notifications pipeline as the e2e tests drive it: publish booking events to the deployed bus, read what the
simulated providers (on ports the OS picks; the cloud reports them) received, and take providers down."""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import Any
from urllib.parse import urlparse

import requests

from devkit.events import publish_event
from devkit.identity import token_for
from devkit.notification_providers import provider_urls
from tests import waiting

WAIT_S = 30
MAX_RECEIVE_COUNT = 4  # infra/constants.py NOTIFICATIONS_BY_TARGET[local]


wait_for = partial(waiting.wait_for, timeout=WAIT_S, interval=0.25)


class Notify:
    def __init__(self, deployed: dict[str, Any], api: str, sdk: Any) -> None:
        self.deployed = deployed
        self.api = api
        self.endpoint = deployed["endpoint"]
        self.events = sdk("events")
        self.sqs = sdk("sqs")
        self.bus = deployed["outputs"]["EventBusName"]
        self.providers = provider_urls(urlparse(self.endpoint).port or 4566)

    def token(self, tenant: str, user: str, group: str = "customer") -> str:
        return token_for(self.endpoint, tenant=tenant, user=user, group=group, outputs=self.deployed["outputs"])

    def call(self, method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.api}{path}", headers={"Authorization": token}, timeout=30, **kwargs)

    def user_id(self, token: str) -> str:
        return str(self.call("GET", "/me", token).json()["userId"])

    def publish(self, event_type: str, tenant: str, customer: str, event_id: str | None = None, **data: Any) -> str:
        return publish_event(
            self.events,
            self.bus,
            event_type,
            tenant_id=tenant,
            data={"customerId": customer, **data},
            event_id=event_id,
        )

    def delivered(self, provider: str, customer: str) -> list[dict[str, Any]]:
        messages = requests.get(f"{self.providers[provider]}/_admin/messages", timeout=5).json()["messages"]
        return [m for m in messages if m["to"] == customer]

    def key_versions(self, provider: str) -> Counter[str]:
        """Requests the provider authorized, per key version (the secret's VersionId), never per key value."""
        stats = requests.get(f"{self.providers[provider]}/_admin/stats", timeout=5).json()
        return Counter(stats["keyVersions"])

    def provider(self, name: str, action: str) -> None:
        response = requests.post(f"{self.endpoint}/_localcloud/notification-providers/{name}/{action}", timeout=5)
        assert response.status_code == 200, response.text

    def queue_url(self, name: str) -> str:
        return str(self.sqs.get_queue_url(QueueName=f"marquee-notify-{name}.fifo")["QueueUrl"])

    def log(self, token: str) -> list[dict[str, Any]]:
        response = self.call("GET", "/me/notifications", token, params={"limit": 200})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items
