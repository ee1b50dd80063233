"""Simulated notification providers: a primary and a backup per channel, each its own HTTP service on loopback.

Six services, started with the local cloud by Marquee's extension (devkit/simulators.py), each on a free port the OS
picks (``Simulators(notification_providers_port=N)`` fixes them instead), in the order of ``PROVIDER_NAMES``:
email-primary, email-backup, sms-primary, sms-backup, push-primary, push-backup. ``provider_urls`` asks a running cloud
where they are (``GET /_localcloud/simulators``).
- ``POST /v1/messages`` {channel, to, subject, body, occurredAt} with ``Authorization: Bearer <api key>`` and
  ``Idempotency-Key``. The same key returns the first answer (``Idempotent-Replayed: true``) and sends nothing again.
  A recipient starting with ``invalid`` is refused (400): a permanent error.
- Accepted keys: the ``apiKey`` of the secret ``marquee/notifications/{name}`` (AWSCURRENT and AWSPREVIOUS), read from
  the cloud's Secrets Manager and cached briefly (``devkit.providers.SecretsManagerKeys``).
- Key rotation: the same key API as the payment providers (``devkit.providers.KeyApi``: ``POST /v1/api_keys``,
  ``GET /v1/ping``), so the rotation function rotates these keys too. ``/_admin/stats`` counts authorized requests per
  key version (``keyVersions``), never per key value.
- Operations: ``POST /_admin/config`` {latencyMs, errorRate}, ``GET /_admin/stats``, ``GET /_admin/messages`` (every
  message sent, with the time it arrived), ``POST /_admin/reset``; the cloud's
  ``POST /_localcloud/notification-providers/{name}/stop|start`` really closes or reopens the port.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer
from werkzeug.wrappers import Request, Response

from devkit.providers import KeyApi, SecretsManagerKeys
from devkit.simulators import ProviderFleet
from localcloud.http import hold_port, serve

log = logging.getLogger("devkit.notification_providers")

CHANNELS = ("email", "sms", "push")
PROVIDER_NAMES = tuple(f"{channel}-{role}" for channel in CHANNELS for role in ("primary", "backup"))
SECRET_NAME_PREFIX = "marquee/notifications/"  # noqa: S105 - a secret's name, not a value
KIND = "notification"  # their key in ``GET /_localcloud/simulators``


def _json(status: int, body: Any, *, replayed: bool = False) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)


class NotificationProvider:
    def __init__(self, name: str, *, host: str, port: int, api_keys: Callable[[], frozenset[str]]) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.keys = KeyApi(api_keys)
        self.latency_ms = 0
        self.error_rate = 0.0
        self.requests = 0
        self.replays = 0
        self.rejected = 0
        self.unauthorized = 0
        self.injected_errors = 0
        self.key_versions: Counter[str] = Counter()  # messages authorized per key version (never per key value)
        self.messages: list[dict[str, Any]] = []
        self._answers: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._server: BaseWSGIServer | None = None
        self._held: socket.socket | None = None  # the port, kept while stopped (``hold_port``)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> NotificationProvider:
        if self._server is None:
            self._release_port()
            server = serve(self.host, self.port, self._wsgi, name=f"notify-{self.name}", poll_interval_s=0.05)
            self.port = server.server_port  # port 0: the OS picks one; a restart reuses it
            self._server = server
        return self

    def stop(self) -> None:
        """Close the port for real (connection refused); it stays reserved for ``start`` (``hold_port``)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            self._held = hold_port(self.host, self.port)

    def close(self) -> None:
        """Stop and give the port back (the cloud's shutdown)."""
        self.stop()
        self._release_port()

    def _release_port(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.close()

    def reset(self) -> None:
        with self._lock:
            self.requests = self.replays = self.rejected = self.unauthorized = self.injected_errors = 0
            self.key_versions.clear()
            self.messages.clear()
            self._answers.clear()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "provider": self.name,
                "sent": len(self.messages),
                "requests": self.requests,
                "replays": self.replays,
                "rejected": self.rejected,
                "unauthorized": self.unauthorized,
                "injectedErrors": self.injected_errors,
                "latencyMs": self.latency_ms,
                "errorRate": self.error_rate,
                "keyVersions": dict(self.key_versions),
            }

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self._route(Request(environ))(environ, start_response)

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path == "/_admin/stats" and method == "GET":
            return _json(200, self.stats())
        if path == "/_admin/messages" and method == "GET":
            with self._lock:
                return _json(200, {"provider": self.name, "messages": list(self.messages)})
        if path == "/_admin/reset" and method == "POST":
            self.reset()
            return _json(200, {"reset": True})
        if path == "/_admin/config" and method == "POST":
            return self._configure(request)
        if path == "/v1/messages" and method == "POST":
            return self._send(request)
        answer = self.keys.route(request, self.name)
        if answer is not None:
            return answer
        return _json(404, {"error": {"type": "not_found", "message": f"{method} {path}"}})

    def _configure(self, request: Request) -> Response:
        try:
            config = json.loads(request.get_data() or b"{}")
            latency = int(config.get("latencyMs", self.latency_ms))
            rate = float(config.get("errorRate", self.error_rate))
        except (ValueError, TypeError, AttributeError):
            return _json(400, {"error": {"type": "invalid_request", "message": "latencyMs, errorRate"}})
        if latency < 0 or not 0.0 <= rate <= 1.0:
            return _json(400, {"error": {"type": "invalid_request", "message": "out of range"}})
        self.latency_ms, self.error_rate = latency, rate
        return _json(200, {"latencyMs": latency, "errorRate": rate})

    def _send(self, request: Request) -> Response:
        received_ms = time.time() * 1000
        with self._lock:
            self.requests += 1
        authorization = request.headers.get("Authorization", "")
        if not self.keys.authorized(authorization):
            with self._lock:
                self.unauthorized += 1
            return _json(401, {"error": {"type": "authentication_error", "message": "invalid API key"}})
        version = self.keys.version(authorization)
        with self._lock:
            self.key_versions[version] += 1
        key = request.headers.get("Idempotency-Key", "")
        if not key or len(key) > 255:
            return _json(400, {"error": {"type": "invalid_request", "message": "Idempotency-Key is required"}})
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000.0)
        if self.error_rate and random.random() < self.error_rate:  # noqa: S311 - fault injection
            with self._lock:
                self.injected_errors += 1
            return _json(503, {"error": {"type": "unavailable", "message": "injected failure (nothing was sent)"}})
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return _json(400, {"error": {"type": "invalid_request", "message": "malformed JSON"}})
        if not isinstance(body, dict) or not isinstance(body.get("to"), str):
            return _json(400, {"error": {"type": "invalid_request", "message": "a JSON object with 'to' is required"}})
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                answer = self._answers.get(key)
                if answer is not None:
                    self.replays += 1
                    return _json(200, answer, replayed=True)
            if body["to"].startswith("invalid"):
                with self._lock:
                    self.rejected += 1
                return _json(
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
        return _json(201, answer)


class NotificationProviders(ProviderFleet):
    """The six notification providers of a local cloud (``POST /_localcloud/notification-providers/{name}/...``)."""

    def __init__(self, *, host: str, endpoint_url: str, first_port: int = 0) -> None:
        """``first_port`` 0: each provider gets a free port from the OS; N: N .. N + 5 in ``PROVIDER_NAMES`` order."""
        super().__init__(
            "notification provider",
            {
                name: NotificationProvider(
                    name,
                    host=host,
                    port=first_port + index if first_port else 0,
                    api_keys=SecretsManagerKeys(endpoint_url, f"{SECRET_NAME_PREFIX}{name}"),
                )
                for index, name in enumerate(PROVIDER_NAMES)
            },
        )


def provider_urls(cloud: int | str) -> dict[str, str]:
    """Where the running cloud ``cloud`` (its port, or its endpoint URL) runs each provider: asked over HTTP."""
    from devkit.state import fetch_simulators

    return dict(fetch_simulators(cloud).get(KIND, {}))
