"""Simulated payment providers: each its own HTTP service (werkzeug) on loopback, started with the local cloud by
Marquee's extension (devkit/simulators.py).

Each listens on a free port the OS picks (``Simulators(providers_port=N)`` fixes them instead); the cloud reports the URLs
at ``GET /_localcloud/simulators``, records them in its state file and shows them in ``marquee cloud status``. API:
- ``POST /v1/charges`` {amount, currency, card, description?} and ``POST /v1/refunds`` {charge}, with
  ``Authorization: Bearer <api key>`` and ``Idempotency-Key``. The provider dedupes by key: the same key returns the
  same charge (``Idempotent-Replayed: true``), a different body under a used key is a 422.
- Accepted keys: the ``apiKey`` of the secret ``marquee/payments/{name}`` in the local cloud's Secrets Manager, at
  stages AWSCURRENT and AWSPREVIOUS (so a rotation never locks callers out). Read through the cloud's own endpoint,
  cached for ``KEY_CACHE_SECONDS``. Without the secret (nothing deployed yet) every call is a 401.
- Key rotation (docs/patterns/16-secrets.md), as a real provider's key API would do it (``KeyApi``, shared with the
  notification providers): ``POST /v1/api_keys`` {apiKey, name} authorized by an accepted key registers the next key
  (one at a time: a new registration replaces the last; it stays accepted until the next one); ``GET /v1/ping`` is a
  harmless authenticated call (200 or 401).
  ``/_admin/stats`` counts authorized charges and refunds per key version (``keyVersions``: the secret's VersionId,
  or the registered name), never per key value.
- Test cards: 4242424242424242 succeeds; 4000000000000002 is declined (402); 4000000000000119 answers after
  ``slowCardDelayMs`` (longer than any client's timeout; the charge is made); 4000000000009995 charges, then answers
  500 (a replay with the same key returns the charge).
- Operations: ``POST /_admin/config`` {latencyMs, errorRate, slowCardDelayMs} (``errorRate`` answers 503 before doing
  anything, so callers may fail over; ``latencyMs`` delays every answer), ``GET /_admin/stats`` (charges,
  refunds, per-key counts), ``POST /_admin/reset``.
- ``stop()`` really closes the port (connection refused), ``start()`` reopens it on the same port (kept reserved
  meanwhile); charges survive a restart. Responses are HTTP/1.0 (no keep-alive), so that no open connection outlives a
  stop.
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
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer
from werkzeug.wrappers import Request, Response

from devkit.simulators import ProviderFleet
from localcloud.http import hold_port, serve

log = logging.getLogger("devkit.providers")

PROVIDER_NAMES = ("primary", "secondary")
KIND = "payment"  # their key in ``GET /_localcloud/simulators``
SECRET_NAME_PREFIX = "marquee/payments/"  # noqa: S105 - a secret's name, not a value
KEY_CACHE_SECONDS = 2.0
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_SLOW = "4000000000000119"
CARD_FAILS_AFTER_CHARGE = "4000000000009995"
DEFAULT_SLOW_CARD_DELAY_MS = 6000


@dataclass
class _Stored:
    fingerprint: str
    status: int
    body: dict[str, Any]


@dataclass
class ProviderStats:
    charges: int = 0
    refunds: int = 0
    declines: int = 0
    replays: int = 0
    requests: int = 0
    unauthorized: int = 0
    injected_errors: int = 0
    key_requests: Counter[str] = field(default_factory=Counter)
    key_charges: Counter[str] = field(default_factory=Counter)
    key_versions: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        return {
            "charges": self.charges,
            "refunds": self.refunds,
            "declines": self.declines,
            "replays": self.replays,
            "requests": self.requests,
            "unauthorized": self.unauthorized,
            "injectedErrors": self.injected_errors,
            "keys": {
                key: {"requests": count, "charges": self.key_charges.get(key, 0)}
                for key, count in self.key_requests.items()
            },
            "keyVersions": dict(self.key_versions),
        }


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
                return _unauthorized()
            return _json(200, {"object": "ping", "provider": provider})
        if request.method == "POST" and request.path == "/v1/api_keys":
            return self._register(request)
        return None

    def _register(self, request: Request) -> Response:
        if not self.authorized(request.headers.get("Authorization", "")):
            return _unauthorized()
        try:
            body = json.loads(request.get_data() or b"{}")
            key, name = body["apiKey"], body.get("name") or "registered"
        except (ValueError, TypeError, KeyError):
            return _json(400, {"error": {"type": "invalid_request", "message": "apiKey is required"}})
        if not isinstance(key, str) or len(key) < 20 or not isinstance(name, str):
            return _json(400, {"error": {"type": "invalid_request", "message": "apiKey must be 20+ characters"}})
        with self._lock:
            again = self._next_key is not None and self._next_key[0] == key
            self._next_key = (key, name)
        return _json(200 if again else 201, {"object": "api_key", "name": name, "active": True})


def _unauthorized() -> Response:
    return _json(401, {"error": {"type": "authentication_error", "message": "invalid API key"}})


class PaymentProvider:
    """One simulated provider. ``api_keys`` returns the keys it accepts now (tests pass a constant)."""

    def __init__(self, name: str, *, host: str, port: int, api_keys: Callable[[], frozenset[str]]) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.keys = KeyApi(api_keys)
        self.latency_ms = 0
        self.error_rate = 0.0
        self.slow_card_delay_ms = DEFAULT_SLOW_CARD_DELAY_MS
        self.stats = ProviderStats()
        self._records: dict[tuple[str, str], _Stored] = {}  # (endpoint, idempotency key) -> first answer
        self._charges: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._server: BaseWSGIServer | None = None
        self._held: socket.socket | None = None  # the port, kept while stopped (``hold_port``)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    # ---- lifecycle --------------------------------------------------------------------------------------------------
    def start(self) -> PaymentProvider:
        if self._server is not None:
            return self
        self._release_port()
        server = serve(self.host, self.port, self._wsgi, name=f"provider-{self.name}", poll_interval_s=0.05)
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

    # ---- HTTP -------------------------------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self._route(request)
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path == "/_admin/stats" and method == "GET":
            with self._lock:
                return _json(200, {"provider": self.name, **self.stats.as_json()})
        if path == "/_admin/config" and method == "POST":
            return self._configure(request)
        if path == "/_admin/reset" and method == "POST":
            with self._lock:
                self.stats = ProviderStats()
                self._records.clear()
                self._charges.clear()
            return _json(200, {"reset": True})
        if method == "POST" and path in ("/v1/charges", "/v1/refunds"):
            return self._api(request, path)
        answer = self.keys.route(request, self.name)
        if answer is not None:
            return answer
        return _json(404, {"error": {"type": "not_found", "message": f"{method} {path}"}})

    def _configure(self, request: Request) -> Response:
        try:
            config = json.loads(request.get_data() or b"{}")
            latency = int(config.get("latencyMs", self.latency_ms))
            rate = float(config.get("errorRate", self.error_rate))
            slow = int(config.get("slowCardDelayMs", self.slow_card_delay_ms))
        except (ValueError, TypeError, AttributeError):
            return _json(
                400, {"error": {"type": "invalid_request", "message": "latencyMs, errorRate, slowCardDelayMs"}}
            )
        if latency < 0 or not 0.0 <= rate <= 1.0 or slow < 0:
            return _json(400, {"error": {"type": "invalid_request", "message": "out of range"}})
        self.latency_ms, self.error_rate, self.slow_card_delay_ms = latency, rate, slow
        return _json(200, {"latencyMs": latency, "errorRate": rate, "slowCardDelayMs": slow})

    def _api(self, request: Request, path: str) -> Response:
        key = request.headers.get("Idempotency-Key", "")
        with self._lock:
            self.stats.requests += 1
            if key:
                self.stats.key_requests[key] += 1
        authorization = request.headers.get("Authorization", "")
        if not self.keys.authorized(authorization):
            with self._lock:
                self.stats.unauthorized += 1
            return _unauthorized()
        version = self.keys.version(authorization)
        with self._lock:
            self.stats.key_versions[version] += 1
        if not key or len(key) > 255:
            return _json(400, {"error": {"type": "invalid_request", "message": "Idempotency-Key is required"}})
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000.0)
        if self.error_rate and random.random() < self.error_rate:  # noqa: S311 - fault injection, not cryptography
            with self._lock:
                self.stats.injected_errors += 1
            return _json(503, {"error": {"type": "api_error", "message": "injected failure (nothing was done)"}})
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return _json(400, {"error": {"type": "invalid_request", "message": "malformed JSON"}})
        if not isinstance(body, dict):
            return _json(400, {"error": {"type": "invalid_request", "message": "a JSON object is required"}})
        fingerprint = json.dumps(body, sort_keys=True)
        record_key = (path, key)
        with self._lock:
            key_lock = self._key_locks.setdefault(record_key, threading.Lock())
        with key_lock:  # one request per key at a time: a replay waits for the first answer, then gets it
            if path == "/v1/charges" and body.get("card") == CARD_SLOW:
                time.sleep(self.slow_card_delay_ms / 1000.0)  # every answer for this card comes too late
            with self._lock:
                stored = self._records.get(record_key)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    return _json(
                        422,
                        {"error": {"type": "idempotency_error", "message": "key already used with another request"}},
                    )
                with self._lock:
                    self.stats.replays += 1
                return _json(stored.status, stored.body, replayed=True)
            if path == "/v1/charges":
                return self._charge(record_key, fingerprint, body)
            return self._refund(record_key, fingerprint, body)

    def _charge(self, record_key: tuple[str, str], fingerprint: str, body: dict[str, Any]) -> Response:
        amount, currency, card = body.get("amount"), body.get("currency"), body.get("card")
        valid = isinstance(amount, int) and not isinstance(amount, bool) and amount > 0
        if not valid or not isinstance(currency, str) or not isinstance(card, str) or not card.isdigit():
            return _json(400, {"error": {"type": "invalid_request", "message": "amount, currency and card required"}})
        if card == CARD_DECLINED:
            answer = _Stored(fingerprint, 402, {"error": {"type": "card_error", "code": "card_declined"}})
            with self._lock:
                self.stats.declines += 1
                self._records[record_key] = answer
            return _json(answer.status, answer.body)
        charge_id = f"ch_{uuid.uuid4().hex[:20]}"
        charge: dict[str, Any] = {
            "id": charge_id,
            "object": "charge",
            "status": "succeeded",
            "amount": amount,
            "currency": currency,
            "last4": card[-4:],
            "refunded": False,
            "created": int(time.time()),
        }
        with self._lock:
            self.stats.charges += 1
            self.stats.key_charges[record_key[1]] += 1
            self._charges[charge_id] = charge
            self._records[record_key] = _Stored(fingerprint, 201, charge)
        if card == CARD_FAILS_AFTER_CHARGE:
            return _json(500, {"error": {"type": "api_error", "message": "internal error after charging"}})
        return _json(201, charge)

    def _refund(self, record_key: tuple[str, str], fingerprint: str, body: dict[str, Any]) -> Response:
        with self._lock:
            charge = self._charges.get(str(body.get("charge")))
            if charge is None:
                return _json(404, {"error": {"type": "invalid_request", "message": "no such charge"}})
            if charge["refunded"]:
                return _json(409, {"error": {"type": "invalid_request", "message": "charge already refunded"}})
            charge["refunded"] = True
            refund = {
                "id": f"re_{uuid.uuid4().hex[:20]}",
                "object": "refund",
                "status": "succeeded",
                "charge": charge["id"],
                "amount": charge["amount"],
                "currency": charge["currency"],
            }
            self.stats.refunds += 1
            self._records[record_key] = _Stored(fingerprint, 201, refund)
        return _json(201, refund)


def _json(status: int, body: dict[str, Any], *, replayed: bool = False) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)


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


class Providers(ProviderFleet):
    """Both payment providers of a local cloud (``POST /_localcloud/providers/{name}/{stop|start}``)."""

    def __init__(self, *, host: str, endpoint_url: str, first_port: int = 0) -> None:
        """``first_port`` 0: each provider gets a free port from the OS; N: the primary on N, the secondary on N + 1."""
        super().__init__(
            "payment provider",
            {
                name: PaymentProvider(
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
