"""Simulated notification providers: a primary and a backup per channel, each its own HTTP service on loopback (a
specialisation of ``devkit.simulated_provider.BaseProvider``, as the payment providers are).

Six services, started with the local cloud by Marquee's extension (devkit/simulators.py), each on a free port the OS
picks (``Simulators(notification_providers_port=N)`` fixes them instead), in the order of ``PROVIDER_NAMES``:
email-primary, email-backup, sms-primary, sms-backup, push-primary, push-backup. ``provider_urls`` asks a running cloud
where they are (``GET /_localcloud/simulators``).
- ``POST /v1/messages`` {channel, to, subject, body, occurredAt} with ``Authorization: Bearer <api key>`` and
  ``Idempotency-Key``. The same key returns the first answer (``Idempotent-Replayed: true``) and sends nothing again.
  A recipient starting with ``invalid`` is refused (400): a permanent error.
- Accepted keys: the ``apiKey`` of the secret ``marquee/notifications/{name}`` (AWSCURRENT and AWSPREVIOUS), read from
  the cloud's Secrets Manager and cached briefly (``devkit.simulated_provider.SecretsManagerKeys``).
- Key rotation: the same key API as the payment providers (``devkit.simulated_provider.KeyApi``: ``POST /v1/api_keys``,
  ``GET /v1/ping``), so the rotation function rotates these keys too. ``/_admin/stats`` counts authorized requests per
  key version (``keyVersions``), never per key value.
- Operations: ``POST /_admin/config`` {latencyMs, errorRate}, ``GET /_admin/stats``, ``GET /_admin/messages`` (every
  message sent, with the time it arrived), ``POST /_admin/reset``; the cloud's
  ``POST /_localcloud/notification-providers/{name}/stop|start`` really closes or reopens the port.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from werkzeug.wrappers import Request, Response

from devkit.simulated_provider import (
    BaseProvider,
    Fleet,
    RequestStats,
    invalid_request,
    json_response,
    running_urls,
)

log = logging.getLogger("devkit.notification_providers")

CHANNELS = ("email", "sms", "push")
PROVIDER_NAMES = tuple(f"{channel}-{role}" for channel in CHANNELS for role in ("primary", "backup"))
SECRET_NAME_PREFIX = "marquee/notifications/"  # noqa: S105 - a secret's name, not a value
KIND = "notification"  # their key in ``GET /_localcloud/simulators``


@dataclass
class NotificationStats(RequestStats):
    rejected: int = 0


class NotificationProvider(BaseProvider):
    """One simulated notification provider: messages, deduplicated by idempotency key; ``invalid*`` recipients refused."""

    THREAD_PREFIX = "notify"
    INJECTED_FAILURE: ClassVar[dict[str, str]] = {
        "type": "unavailable",
        "message": "injected failure (nothing was sent)",
    }
    OBJECT_REQUIRED = "a JSON object with 'to' is required"

    counts: NotificationStats

    def __init__(self, name: str, *, host: str, port: int, api_keys: Callable[[], frozenset[str]]) -> None:
        super().__init__(name, host=host, port=port, api_keys=api_keys)
        self.counts = NotificationStats()
        self.messages: list[dict[str, Any]] = []
        self._answers: dict[str, dict[str, Any]] = {}

    @property
    def replays(self) -> int:
        return self.counts.replays

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return self.stats_json()

    def stats_json(self) -> dict[str, Any]:
        return {
            "provider": self.name,
            "sent": len(self.messages),
            "requests": self.counts.requests,
            "replays": self.counts.replays,
            "rejected": self.counts.rejected,
            "unauthorized": self.counts.unauthorized,
            "injectedErrors": self.counts.injected_errors,
            "latencyMs": self.latency_ms,
            "errorRate": self.error_rate,
            "keyVersions": dict(self.counts.key_versions),
        }

    def clear(self) -> None:
        self.counts = NotificationStats()
        self.messages.clear()
        self._answers.clear()

    def api_route(self, request: Request) -> Response | None:
        if request.path == "/_admin/messages" and request.method == "GET":
            with self._lock:
                return json_response(200, {"provider": self.name, "messages": list(self.messages)})
        if request.path == "/v1/messages" and request.method == "POST":
            return self._send(request)
        return None

    def _send(self, request: Request) -> Response:
        received_ms = time.time() * 1000
        admitted = self.admit(request)
        if isinstance(admitted, Response):
            return admitted
        key, body = admitted
        if not isinstance(body.get("to"), str):
            return invalid_request(self.OBJECT_REQUIRED)
        with self.key_lock(key):
            with self._lock:
                answer = self._answers.get(key)
                if answer is not None:
                    self.counts.replays += 1
                    return json_response(200, answer, replayed=True)
            if body["to"].startswith("invalid"):
                with self._lock:
                    self.counts.rejected += 1
                return json_response(
                    400, {"error": {"type": "invalid_recipient", "message": f"cannot deliver to {body['to']}"}}
                )
            answer = {"id": f"msg_{uuid.uuid4().hex[:20]}", "status": "sent", "provider": self.name}
            with self._lock:
                self._answers[key] = answer
                self.messages.append(
                    {
                        "id": answer["id"],
                        "key": key,
                        "channel": body.get("channel"),
                        "to": body["to"],
                        "subject": body.get("subject"),
                        "occurredAt": body.get("occurredAt"),
                        "receivedAtMs": received_ms,
                    }
                )
        return json_response(201, answer)


class NotificationProviders(Fleet):
    """The six notification providers of a local cloud (``POST /_localcloud/notification-providers/{name}/...``)."""

    LABEL = "notification provider"
    PROVIDER = NotificationProvider
    NAMES = PROVIDER_NAMES  # ``first_port`` N: N .. N + 5 in ``PROVIDER_NAMES`` order
    SECRET_NAME_PREFIX = SECRET_NAME_PREFIX


def provider_urls(cloud: int | str) -> dict[str, str]:
    """Where the running cloud ``cloud`` (its port, or its endpoint URL) runs each provider: asked over HTTP."""
    return running_urls(KIND, cloud)
