"""The HTTP transport both provider clients share (payments: marquee.payments.provider; notifications:
marquee.notifications.providers).

- ``POST {url}{path}`` with a JSON body, ``Authorization: Bearer {apiKey}`` and ``Idempotency-Key``; ``GET {url}{path}``
  with a query for reads (a payment provider's ledger, which the integrity reconciler asks).
- urllib3 (a dependency of botocore, so present wherever boto3 is): a pooled keep-alive connection per provider, separate
  connect and read timeouts, and no retries (the breaker and the caller decide).
- A 401 means a rotated key: the secret is fetched again, once, and the call is made once more.
- Transport failures are classified in two, which is what makes failover safe: ``NotSent`` (connection refused, connect
  timeout: the provider cannot have acted, another may be tried) and ``NoAnswer`` (read timeout, reset mid-response: it
  may have acted, so only the same provider asked again with the same key can settle it). Statuses are the caller's to
  classify; ``NOT_REACHED_STATUSES`` are those that mean the request was refused before it was processed.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, Protocol

import urllib3
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from marquee.resilience.provider_credentials import (
    CredentialsUnusable,
    ProviderCredentials,
    read_credentials,
    secrets_provider,
)

NOT_REACHED_STATUSES = frozenset({401, 403, 429, 503})


class TransportError(Exception):
    """Base of the transport outcomes. Messages never carry the key or the body."""


class NotSent(TransportError):
    """The request did not reach the provider."""


class NoAnswer(TransportError):
    """The request may have reached the provider, but no complete answer came back."""


class CredentialsReader(Protocol):
    def __call__(self, *, force_fetch: bool = False) -> ProviderCredentials: ...


class ProviderEndpoint:
    """What both provider clients share: the provider's name, its secret, timeouts and the secret's cache age.

    Subclasses define ``not_reached()`` (the error of their own types that ``credentials()`` raises for a secret that
    cannot be read or is malformed) and map ``NotSent``/``NoAnswer`` from ``post`` to their own outcomes."""

    def __init__(
        self, name: str, secret_id: str, *, connect_timeout_ms: int, read_timeout_ms: int, secret_max_age_s: int
    ) -> None:
        self.name = name
        self.secret_id = secret_id
        self.connect_timeout_s = connect_timeout_ms / 1000.0
        self.read_timeout_s = read_timeout_ms / 1000.0
        self.secret_max_age_s = secret_max_age_s

    def read_secret(self, *, force_fetch: bool = False) -> ProviderCredentials:
        """The ``{url, apiKey}`` secret through the Powertools cache (raises as ``read_credentials`` does)."""
        return read_credentials(self.secret_id, max_age_s=self.secret_max_age_s, force_fetch=force_fetch)

    def credentials(self, *, force_fetch: bool = False) -> ProviderCredentials:
        """The secret; ``not_reached(...)`` when it cannot be read or is not a ``{url, apiKey}`` document."""
        try:
            return self.read_secret(force_fetch=force_fetch)
        except GetParameterError as exc:
            raise self.not_reached(f"secret {self.secret_id} could not be read") from exc
        except CredentialsUnusable as exc:
            raise self.not_reached(str(exc)) from None

    def not_reached(self, detail: str) -> Exception:
        """The subclass's "nothing was sent, another provider may be tried" error, carrying ``detail``."""
        raise NotImplementedError

    def post(self, path: str, idempotency_key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return post_json(
            self.credentials,
            path,
            idempotency_key,
            body,
            connect_timeout_s=self.connect_timeout_s,
            read_timeout_s=self.read_timeout_s,
        )

    def get(self, path: str, query: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        return get_json(
            self.credentials,
            path,
            query or {},
            connect_timeout_s=self.connect_timeout_s,
            read_timeout_s=self.read_timeout_s,
        )


@cache
def _pool(connect_timeout_s: float, read_timeout_s: float) -> urllib3.PoolManager:
    return urllib3.PoolManager(
        num_pools=8,
        maxsize=32,
        timeout=urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s),
        retries=False,
    )


def clear_caches() -> None:
    """Forget cached secrets and connection pools (tests, or after a rotation)."""
    secrets_provider.cache_clear()
    _pool.cache_clear()


def post_json(
    credentials: CredentialsReader,
    path: str,
    idempotency_key: str,
    body: dict[str, Any],
    *,
    connect_timeout_s: float,
    read_timeout_s: float,
) -> tuple[int, dict[str, Any]]:
    """The status and the JSON object answered (``{}`` if the answer is not one); ``NotSent``/``NoAnswer`` otherwise."""
    status, payload = _send(credentials(), path, idempotency_key, body, connect_timeout_s, read_timeout_s)
    if status == 401:  # a rotated key: fetch the secret again, once
        status, payload = _send(
            credentials(force_fetch=True), path, idempotency_key, body, connect_timeout_s, read_timeout_s
        )
    return status, payload


def get_json(
    credentials: CredentialsReader,
    path: str,
    query: dict[str, str],
    *,
    connect_timeout_s: float,
    read_timeout_s: float,
) -> tuple[int, dict[str, Any]]:
    """A read: the status and the JSON object answered; ``NotSent``/``NoAnswer`` as for ``post_json``."""
    status, payload = _request("GET", credentials(), path, query, None, connect_timeout_s, read_timeout_s)
    if status == 401:  # a rotated key: fetch the secret again, once
        status, payload = _request(
            "GET", credentials(force_fetch=True), path, query, None, connect_timeout_s, read_timeout_s
        )
    return status, payload


def _send(
    credentials: ProviderCredentials,
    path: str,
    idempotency_key: str,
    body: dict[str, Any],
    connect_timeout_s: float,
    read_timeout_s: float,
) -> tuple[int, dict[str, Any]]:
    return _request("POST", credentials, path, body, idempotency_key, connect_timeout_s, read_timeout_s)


def _request(
    method: str,
    credentials: ProviderCredentials,
    path: str,
    data: dict[str, Any],
    idempotency_key: str | None,
    connect_timeout_s: float,
    read_timeout_s: float,
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {credentials.api_key}"}
    if method == "POST":
        headers |= {"Idempotency-Key": idempotency_key or "", "Content-Type": "application/json"}
    try:
        response = _pool(connect_timeout_s, read_timeout_s).request(
            method,
            credentials.url.rstrip("/") + path,
            body=json.dumps(data).encode() if method == "POST" else None,
            fields=data if method == "GET" else None,
            headers=headers,
        )
    except (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.NewConnectionError) as exc:
        raise NotSent(f"not reachable ({type(exc).__name__})") from exc
    except urllib3.exceptions.MaxRetryError as exc:  # urllib3 wraps connection errors even with retries=False
        if isinstance(exc.reason, urllib3.exceptions.ConnectTimeoutError | urllib3.exceptions.NewConnectionError):
            raise NotSent(f"not reachable ({type(exc.reason).__name__})") from exc
        raise NoAnswer(type(exc.reason).__name__) from exc
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise NoAnswer(f"no answer within {read_timeout_s:.1f} s") from exc
    except urllib3.exceptions.HTTPError as exc:  # connection reset mid-response, protocol errors
        raise NoAnswer(type(exc).__name__) from exc
    try:
        payload = json.loads(response.data or b"{}")
    except ValueError:
        payload = {}
    return response.status, payload if isinstance(payload, dict) else {}
