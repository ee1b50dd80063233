"""Simulated payment providers: each its own HTTP service (werkzeug) on loopback, started with the local cloud by
Marquee's extension (devkit/simulators.py). A specialisation of ``devkit.simulated_provider.BaseProvider``, which
holds what they share with the notification providers (server and port, API keys, admin routes, failure injection).

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
- The ledger, read back as a provider's API lets its merchants do (what the integrity reconciler asks,
  docs/design/08-cross-service-integrity.md): ``GET /v1/charges/{id}``; ``GET /v1/charges?idempotency_key=K`` (the
  charge or decline answered under that key, or an empty list: nothing was done under it); ``GET /v1/charges?limit=N&
  starting_after=ch_...`` (every charge in creation order, paginated, ``has_more``). Each charge carries its
  ``idempotency_key`` and ``description``. Reads are authorized like any call and take the injected latency and errors.
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
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from werkzeug.wrappers import Request, Response

from devkit.simulated_provider import (
    BaseProvider,
    Fleet,
    RequestStats,
    Setting,
    json_response,
    running_urls,
)

log = logging.getLogger("devkit.providers")

PROVIDER_NAMES = ("primary", "secondary")
KIND = "payment"  # their key in ``GET /_localcloud/simulators``
SECRET_NAME_PREFIX = "marquee/payments/"  # noqa: S105 - a secret's name, not a value
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
class ProviderStats(RequestStats):
    charges: int = 0
    refunds: int = 0
    declines: int = 0
    key_requests: Counter[str] = field(default_factory=Counter)
    key_charges: Counter[str] = field(default_factory=Counter)

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


class PaymentProvider(BaseProvider):
    """One simulated payment provider: charges and refunds, deduplicated by idempotency key, and the test cards."""

    THREAD_PREFIX = "provider"
    INJECTED_FAILURE: ClassVar[dict[str, str]] = {"type": "api_error", "message": "injected failure (nothing was done)"}
    SETTINGS = (*BaseProvider.SETTINGS, Setting("slowCardDelayMs", "slow_card_delay_ms", int, lambda v: v >= 0))

    counts: ProviderStats

    def __init__(self, name: str, *, host: str, port: int, api_keys: Callable[[], frozenset[str]]) -> None:
        super().__init__(name, host=host, port=port, api_keys=api_keys)
        self.slow_card_delay_ms = DEFAULT_SLOW_CARD_DELAY_MS
        self.counts = ProviderStats()
        self._records: dict[tuple[str, str], _Stored] = {}  # (endpoint, idempotency key) -> first answer
        self._charges: dict[str, dict[str, Any]] = {}

    @property
    def stats(self) -> ProviderStats:
        """The counts (tests read them directly)."""
        return self.counts

    def stats_json(self) -> dict[str, Any]:
        return {"provider": self.name, **self.counts.as_json()}

    def clear(self) -> None:
        self.counts = ProviderStats()
        self._records.clear()
        self._charges.clear()

    def ledger_for(self, idempotency_key: str) -> dict[str, Any]:
        """How often this provider was asked under ``idempotency_key``, and its first answer (the console's order
        journey shows it per provider)."""
        with self._lock:
            asked = self.counts.key_requests.get(idempotency_key, 0)
            stored = next((s for (_, key), s in self._records.items() if key == idempotency_key), None)
        if stored is None:
            return {"requests": asked, "answer": None}
        outcome = stored.body.get("status") or (stored.body.get("error") or {}).get("code")
        return {"requests": asked, "answer": stored.status, "outcome": outcome, "id": stored.body.get("id")}

    def count_request(self, idempotency_key: str) -> None:
        super().count_request(idempotency_key)
        if idempotency_key:
            self.counts.key_requests[idempotency_key] += 1

    def api_route(self, request: Request) -> Response | None:
        if request.method == "POST" and request.path in ("/v1/charges", "/v1/refunds"):
            return self._api(request, request.path)
        if request.method == "GET" and (request.path == "/v1/charges" or request.path.startswith("/v1/charges/")):
            return self._read(request)
        return None

    # ---- the ledger, read back ------------------------------------------------------------------------------------------
    def _read(self, request: Request) -> Response:
        """``GET /v1/charges/{id}``, ``GET /v1/charges?idempotency_key=K`` and the paginated list of every charge."""
        refused = self.admit_read(request)
        if refused is not None:
            return refused
        charge_id = request.path.removeprefix("/v1/charges").strip("/")
        with self._lock:
            if charge_id:
                found = self._charges.get(charge_id)
                if found is None:
                    return json_response(404, {"error": {"type": "invalid_request", "message": "no such charge"}})
                return json_response(200, dict(found))
            key = request.args.get("idempotency_key")
            if key is not None:
                stored = self._records.get(("/v1/charges", key))
                return json_response(200, {"object": "list", "data": [] if stored is None else [_as_charge(stored)]})
            try:
                limit = min(max(int(request.args.get("limit", "100")), 1), 100)
            except ValueError:
                return json_response(400, {"error": {"type": "invalid_request", "message": "limit: an integer"}})
            ids = list(self._charges)  # insertion order: creation order
            after = request.args.get("starting_after")
            start = ids.index(after) + 1 if after in self._charges else 0
            page = [dict(self._charges[i]) for i in ids[start : start + limit]]
            return json_response(200, {"object": "list", "data": page, "has_more": start + limit < len(ids)})

    def admit_read(self, request: Request) -> Response | None:
        """A read passes what every call passes (counted, authorized, injected latency and errors); None: admitted."""
        with self._lock:
            self.counts.requests += 1
        if not self.keys.authorized(request.headers.get("Authorization", "")):
            with self._lock:
                self.counts.unauthorized += 1
            return json_response(401, {"error": {"type": "authentication_error", "message": "invalid API key"}})
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000.0)
        if self.error_rate and random.random() < self.error_rate:  # noqa: S311 - fault injection, not cryptography
            with self._lock:
                self.counts.injected_errors += 1
            return json_response(503, {"error": self.INJECTED_FAILURE})
        return None

    def _api(self, request: Request, path: str) -> Response:
        admitted = self.admit(request)
        if isinstance(admitted, Response):
            return admitted
        key, body = admitted
        fingerprint = json.dumps(body, sort_keys=True)
        record_key = (path, key)
        with self.key_lock(record_key):  # a replay waits for the first answer, then gets it
            if path == "/v1/charges" and body.get("card") == CARD_SLOW:
                time.sleep(self.slow_card_delay_ms / 1000.0)  # every answer for this card comes too late
            with self._lock:
                stored = self._records.get(record_key)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    return json_response(
                        422,
                        {"error": {"type": "idempotency_error", "message": "key already used with another request"}},
                    )
                with self._lock:
                    self.counts.replays += 1
                return json_response(stored.status, stored.body, replayed=True)
            if path == "/v1/charges":
                return self._charge(record_key, fingerprint, body)
            return self._refund(record_key, fingerprint, body)

    def _charge(self, record_key: tuple[str, str], fingerprint: str, body: dict[str, Any]) -> Response:
        amount, currency, card = body.get("amount"), body.get("currency"), body.get("card")
        valid = isinstance(amount, int) and not isinstance(amount, bool) and amount > 0
        if not valid or not isinstance(currency, str) or not isinstance(card, str) or not card.isdigit():
            return json_response(
                400, {"error": {"type": "invalid_request", "message": "amount, currency and card required"}}
            )
        if card == CARD_DECLINED:
            answer = _Stored(fingerprint, 402, {"error": {"type": "card_error", "code": "card_declined"}})
            with self._lock:
                self.counts.declines += 1
                self._records[record_key] = answer
            return json_response(answer.status, answer.body)
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
            "description": body.get("description"),
            "idempotency_key": record_key[1],
        }
        with self._lock:
            self.counts.charges += 1
            self.counts.key_charges[record_key[1]] += 1
            self._charges[charge_id] = charge
            self._records[record_key] = _Stored(fingerprint, 201, charge)
        if card == CARD_FAILS_AFTER_CHARGE:
            return json_response(500, {"error": {"type": "api_error", "message": "internal error after charging"}})
        return json_response(201, charge)

    def _refund(self, record_key: tuple[str, str], fingerprint: str, body: dict[str, Any]) -> Response:
        with self._lock:
            charge = self._charges.get(str(body.get("charge")))
            if charge is None:
                return json_response(404, {"error": {"type": "invalid_request", "message": "no such charge"}})
            if charge["refunded"]:
                return json_response(409, {"error": {"type": "invalid_request", "message": "charge already refunded"}})
            charge["refunded"] = True
            refund = {
                "id": f"re_{uuid.uuid4().hex[:20]}",
                "object": "refund",
                "status": "succeeded",
                "charge": charge["id"],
                "amount": charge["amount"],
                "currency": charge["currency"],
            }
            self.counts.refunds += 1
            self._records[record_key] = _Stored(fingerprint, 201, refund)
        return json_response(201, refund)


def _as_charge(stored: _Stored) -> dict[str, Any]:
    """The first answer under a charge key as a charge object: the charge, or a failed one for a decline."""
    if stored.status == 402:
        error = stored.body.get("error") or {}
        return {"object": "charge", "status": "failed", "failure_code": error.get("code", "card_declined")}
    return dict(stored.body)


class Providers(Fleet):
    """Both payment providers of a local cloud (``POST /_localcloud/providers/{name}/{stop|start}``)."""

    LABEL = "payment provider"
    PROVIDER = PaymentProvider
    NAMES = PROVIDER_NAMES  # ``first_port`` N: the primary on N, the secondary on N + 1
    SECRET_NAME_PREFIX = SECRET_NAME_PREFIX


def provider_urls(cloud: int | str) -> dict[str, str]:
    """Where the running cloud ``cloud`` (its port, or its endpoint URL) runs each provider: asked over HTTP."""
    return running_urls(KIND, cloud)
