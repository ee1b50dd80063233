"""The simulated-provider base that the payment providers (devkit/providers.py) and the notification providers
(devkit/notification_providers.py) specialise.

What every simulated provider does the same way lives here:
- an HTTP service (werkzeug) on loopback; ``stop()`` really closes the port (connection refused) and keeps it reserved
  (``hold_port``) so that ``start()`` reopens it on the same port;
- API-key auth: the keys ``api_keys()`` returns (``SecretsManagerKeys``: the secret's AWSCURRENT and AWSPREVIOUS) and
  the key API of a rotation (``KeyApi``: ``POST /v1/api_keys``, ``GET /v1/ping``);
- the admin routes ``GET /_admin/stats``, ``POST /_admin/config`` and ``POST /_admin/reset``;
- failure injection: ``latencyMs`` delays every answer, ``errorRate`` answers 503 before doing anything;
- the checks every API call passes first (``admit``): counted, authorized, an ``Idempotency-Key``, a JSON object body.
A specialisation adds its API routes (``api_route``), its statistics and its extra settings.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from werkzeug.serving import BaseWSGIServer
from werkzeug.wrappers import Request, Response

from devkit.simulators import ProviderFleet
from localcloud.http import hold_port, serve

KEY_CACHE_SECONDS = 2.0


def json_response(status: int, body: Any, *, replayed: bool = False) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)


def invalid_request(message: str) -> Response:
    return json_response(400, {"error": {"type": "invalid_request", "message": message}})


def unauthorized() -> Response:
    return json_response(401, {"error": {"type": "authentication_error", "message": "invalid API key"}})


class KeyApi:
    """The keys a simulated provider accepts, and its key API, as a real provider's would work during a rotation.

    Accepted: the keys ``api_keys()`` returns (the secret's AWSCURRENT and AWSPREVIOUS) and the one registered last
    through ``POST /v1/api_keys`` {apiKey, name}, authorized by an accepted key (the rotation function's setSecret; a new
    registration replaces the last, the same key again is a 200). ``GET /v1/ping`` is a harmless authenticated call
    (testSecret). Both the payment and the notification providers serve this API.
    """

    def __init__(self, api_keys: Callable[[], frozenset[str]]) -> None:
        self.api_keys = api_keys
        self._next_key: tuple[str, str] | None = None  # (key, name)
        self._lock = threading.Lock()

    def authorized(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token:
            return False
        next_key = self._next_key
        return token in self.api_keys() or (next_key is not None and token == next_key[0])

    def version(self, header: str) -> str:
        """The version label of an accepted key: the secret's VersionId when known, else its registered name."""
        token = header.partition(" ")[2]
        versions = getattr(self.api_keys, "versions", None)
        known = versions() if callable(versions) else {}
        if token in known:
            return str(known[token])
        next_key = self._next_key
        return next_key[1] if next_key is not None and next_key[0] == token else "unlabelled"

    def route(self, request: Request, provider: str) -> Response | None:
        """The answer to a key-API request; None if ``request`` is not one."""
        if request.method == "GET" and request.path == "/v1/ping":
            if not self.authorized(request.headers.get("Authorization", "")):
                return unauthorized()
            return json_response(200, {"object": "ping", "provider": provider})
        if request.method == "POST" and request.path == "/v1/api_keys":
            return self._register(request)
        return None

    def _register(self, request: Request) -> Response:
        if not self.authorized(request.headers.get("Authorization", "")):
            return unauthorized()
        try:
            body = json.loads(request.get_data() or b"{}")
            key, name = body["apiKey"], body.get("name") or "registered"
        except (ValueError, TypeError, KeyError):
            return invalid_request("apiKey is required")
        if not isinstance(key, str) or len(key) < 20 or not isinstance(name, str):
            return invalid_request("apiKey must be 20+ characters")
        with self._lock:
            again = self._next_key is not None and self._next_key[0] == key
            self._next_key = (key, name)
        return json_response(200 if again else 201, {"object": "api_key", "name": name, "active": True})


class SecretsManagerKeys:
    """The API keys a provider accepts: its secret's ``apiKey`` at AWSCURRENT and AWSPREVIOUS, cached briefly."""

    def __init__(self, endpoint_url: str, secret_name: str) -> None:
        self.endpoint_url = endpoint_url
        self.secret_name = secret_name
        self._cached: frozenset[str] = frozenset()
        self._versions: dict[str, str] = {}  # key -> the secret's VersionId (stats only; never logged)
        self._fetched_at = 0.0
        self._lock = threading.Lock()
        self._client: Any = None

    def __call__(self) -> frozenset[str]:
        with self._lock:
            if time.monotonic() - self._fetched_at < KEY_CACHE_SECONDS:
                return self._cached
            self._cached = self._fetch()
            self._fetched_at = time.monotonic()
            return self._cached

    def versions(self) -> dict[str, str]:
        """Each accepted key's VersionId, as of the last fetch."""
        self()
        with self._lock:
            return dict(self._versions)

    def _fetch(self) -> frozenset[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        from localcloud.aws import local_client

        if self._client is None:
            self._client = local_client("secretsmanager", self.endpoint_url)
        keys = set()
        versions: dict[str, str] = {}
        for stage in ("AWSCURRENT", "AWSPREVIOUS"):
            try:
                found = self._client.get_secret_value(SecretId=self.secret_name, VersionStage=stage)
                key = json.loads(found["SecretString"]).get("apiKey")
            except (ClientError, BotoCoreError, ValueError, KeyError, AttributeError):
                continue  # no such secret (not deployed yet) or no previous version: no key from this stage
            if isinstance(key, str) and key:
                keys.add(key)
                versions[key] = str(found.get("VersionId", stage))
        self._versions = versions
        return frozenset(keys)


@dataclass(frozen=True)
class Setting:
    """One field of ``POST /_admin/config``: its JSON name, the provider attribute it sets, its parser and its range."""

    key: str
    attribute: str
    parse: Callable[[Any], Any]
    valid: Callable[[Any], bool]


LATENCY_MS = Setting("latencyMs", "latency_ms", int, lambda value: value >= 0)
ERROR_RATE = Setting("errorRate", "error_rate", float, lambda value: 0.0 <= value <= 1.0)


@dataclass
class RequestStats:
    """What every provider counts of the API calls it is sent (a specialisation adds its own counts)."""

    requests: int = 0
    replays: int = 0
    unauthorized: int = 0
    injected_errors: int = 0
    key_versions: Counter[str] = field(default_factory=Counter)  # authorized calls per key version, never per value


class BaseProvider:
    """One simulated provider. ``api_keys`` returns the keys it accepts now (tests pass a constant)."""

    THREAD_PREFIX: ClassVar[str]  # its server thread is f"{THREAD_PREFIX}-{name}"
    INJECTED_FAILURE: ClassVar[dict[str, str]]  # the error of a 503 from ``errorRate``
    OBJECT_REQUIRED: ClassVar[str] = "a JSON object is required"
    SETTINGS: ClassVar[tuple[Setting, ...]] = (LATENCY_MS, ERROR_RATE)

    counts: RequestStats

    def __init__(self, name: str, *, host: str, port: int, api_keys: Callable[[], frozenset[str]]) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.keys = KeyApi(api_keys)
        self.latency_ms = 0
        self.error_rate = 0.0
        self._lock = threading.Lock()
        self._key_locks: dict[Any, threading.Lock] = {}
        self._server: BaseWSGIServer | None = None
        self._held: socket.socket | None = None  # the port, kept while stopped (``hold_port``)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    # ---- lifecycle --------------------------------------------------------------------------------------------------
    def start(self) -> BaseProvider:
        if self._server is None:
            self._release_port()
            server = serve(
                self.host, self.port, self._wsgi, name=f"{self.THREAD_PREFIX}-{self.name}", poll_interval_s=0.05
            )
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

    # ---- what a specialisation defines ------------------------------------------------------------------------------
    def stats_json(self) -> dict[str, Any]:
        """``GET /_admin/stats`` (called under the lock)."""
        raise NotImplementedError

    def clear(self) -> None:
        """Forget every call and count (``POST /_admin/reset``; called under the lock)."""
        raise NotImplementedError

    def api_route(self, request: Request) -> Response | None:
        """The answer to one of the provider's own routes; None if ``request`` is not one."""
        raise NotImplementedError

    def count_request(self, idempotency_key: str) -> None:
        """Count a call as it arrives (called under the lock)."""
        self.counts.requests += 1

    # ---- HTTP -------------------------------------------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self.clear()

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self._route(Request(environ))(environ, start_response)

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path == "/_admin/stats" and method == "GET":
            with self._lock:
                return json_response(200, self.stats_json())
        if path == "/_admin/config" and method == "POST":
            return self._configure(request)
        if path == "/_admin/reset" and method == "POST":
            self.reset()
            return json_response(200, {"reset": True})
        answer = self.api_route(request) or self.keys.route(request, self.name)
        if answer is not None:
            return answer
        return json_response(404, {"error": {"type": "not_found", "message": f"{method} {path}"}})

    def _configure(self, request: Request) -> Response:
        try:
            config = json.loads(request.get_data() or b"{}")
            values = {s.key: s.parse(config.get(s.key, getattr(self, s.attribute))) for s in self.SETTINGS}
        except (ValueError, TypeError, AttributeError):
            return invalid_request(", ".join(s.key for s in self.SETTINGS))
        if not all(s.valid(values[s.key]) for s in self.SETTINGS):
            return invalid_request("out of range")
        for setting in self.SETTINGS:
            setattr(self, setting.attribute, values[setting.key])
        return json_response(200, values)

    def admit(self, request: Request) -> tuple[str, dict[str, Any]] | Response:
        """The checks every API call passes first, in order: counted, authorized (and its key version counted), an
        ``Idempotency-Key``, the injected latency and failure, a JSON object body. The key and the body, or the answer."""
        key = request.headers.get("Idempotency-Key", "")
        with self._lock:
            self.count_request(key)
        authorization = request.headers.get("Authorization", "")
        if not self.keys.authorized(authorization):
            with self._lock:
                self.counts.unauthorized += 1
            return unauthorized()
        version = self.keys.version(authorization)
        with self._lock:
            self.counts.key_versions[version] += 1
        if not key or len(key) > 255:
            return invalid_request("Idempotency-Key is required")
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000.0)
        if self.error_rate and random.random() < self.error_rate:  # noqa: S311 - fault injection, not cryptography
            with self._lock:
                self.counts.injected_errors += 1
            return json_response(503, {"error": self.INJECTED_FAILURE})
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return invalid_request("malformed JSON")
        if not isinstance(body, dict):
            return invalid_request(self.OBJECT_REQUIRED)
        return key, body

    def key_lock(self, key: Any) -> threading.Lock:
        """One request per idempotency key at a time: a replay waits for the first answer, then gets it."""
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())


class Fleet(ProviderFleet):
    """The providers ``NAMES`` of one kind (``PROVIDER``), each accepting the keys of the secret
    ``{SECRET_NAME_PREFIX}{name}``. ``first_port`` 0: each gets a free port from the OS; N: N, N + 1, ... in the order
    of ``NAMES``."""

    LABEL: ClassVar[str]  # in log lines: "payment provider", "notification provider"
    PROVIDER: ClassVar[type[BaseProvider]]
    NAMES: ClassVar[tuple[str, ...]]
    SECRET_NAME_PREFIX: ClassVar[str]

    def __init__(self, *, host: str, endpoint_url: str, first_port: int = 0) -> None:
        super().__init__(
            self.LABEL,
            {
                name: self.PROVIDER(
                    name,
                    host=host,
                    port=first_port + index if first_port else 0,
                    api_keys=SecretsManagerKeys(endpoint_url, f"{self.SECRET_NAME_PREFIX}{name}"),
                )
                for index, name in enumerate(self.NAMES)
            },
        )


def running_urls(kind: str, cloud: int | str) -> dict[str, str]:
    """Where the running cloud ``cloud`` (its port, or its endpoint URL) runs each provider of ``kind``: asked over
    HTTP."""
    from devkit.state import fetch_simulators

    return dict(fetch_simulators(cloud).get(kind, {}))
