"""HTTP client of a payment provider (``POST /v1/charges``, ``POST /v1/refunds``).

- Credentials ({url, apiKey}) come from Secrets Manager through Powertools parameters, cached for
  ``secret_max_age_s`` (300 s by default: a rotated key keeps working meanwhile, because the provider accepts the
  previous key too). A 401 forces one fresh fetch, then one retry. The key is never logged, nor put in an
  environment variable or an event.
- Every call carries ``Idempotency-Key``: the provider dedupes by it (defense in depth under our own idempotency).
- The outcome is classified for the caller, which is what makes failover safe:
  ``ProviderNotReached`` means nothing can have been charged (connection refused, connect timeout, 401, 429, 503 before
  processing); ``ProviderOutcomeUnknown`` means it may have been (read timeout, 5xx): only the SAME provider, asked again
  with the same key, may settle it.
- The ledger can be read back (``find_charge`` by idempotency key, ``list_charges``): a read settles an unknown outcome
  without the risk a replayed POST carries (a replay charges if the first call never arrived). The integrity reconciler
  uses them (marquee.integrity).
- The transport (pooled urllib3, connect and read timeouts, no retries, the 401 refetch) is marquee.resilience.provider_http.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marquee.core.money import Money
from marquee.resilience import provider_http
from marquee.resilience.provider_http import NOT_REACHED_STATUSES


class ProviderError(Exception):
    """Base of the classified provider outcomes."""


class ProviderDeclined(ProviderError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderNotReached(ProviderError):
    """Nothing was charged or refunded: another provider may be tried."""


class ProviderOutcomeUnknown(ProviderError):
    """The provider may have acted: only it, asked again with the same key, can settle it."""


@dataclass(frozen=True)
class ProviderCharge:
    charge_id: str
    amount: int
    currency: str


@dataclass(frozen=True)
class LedgerCharge:
    """A charge as the provider's ledger holds it (``status`` "succeeded", or "failed" for a decline)."""

    charge_id: str | None
    status: str
    amount: int | None
    currency: str | None
    refunded: bool
    idempotency_key: str | None
    description: str | None
    created: int | None = None  # epoch seconds

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> LedgerCharge:
        amount = payload.get("amount")
        return cls(
            charge_id=payload.get("id"),
            status=str(payload.get("status", "")),
            amount=amount if isinstance(amount, int) else None,
            currency=payload.get("currency"),
            refunded=bool(payload.get("refunded", False)),
            idempotency_key=payload.get("idempotency_key"),
            description=payload.get("description"),
            created=payload["created"] if isinstance(payload.get("created"), int) else None,
        )


@dataclass(frozen=True)
class ProviderRefund:
    refund_id: str
    charge_id: str


def clear_caches() -> None:
    """Forget cached secrets and connection pools (tests, or after a rotation)."""
    provider_http.clear_caches()


class ProviderClient(provider_http.ProviderEndpoint):
    def not_reached(self, detail: str) -> Exception:
        return ProviderNotReached(f"{self.name}: {detail}")

    def charge(self, idempotency_key: str, amount: Money, card: str, description: str | None) -> ProviderCharge:
        body = {"amount": amount.amount, "currency": amount.currency, "card": card, "description": description}
        status, payload = self._post("/v1/charges", idempotency_key, body)
        if status == 402:
            error = payload.get("error")
            code = error.get("code") if isinstance(error, dict) else None
            raise ProviderDeclined(str(code or "card_declined"))
        if status not in (200, 201):
            raise self._failure(status)
        try:
            return ProviderCharge(str(payload["id"]), int(payload["amount"]), str(payload["currency"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderOutcomeUnknown(f"{self.name}: malformed charge response") from exc

    def refund(self, idempotency_key: str, charge_id: str) -> ProviderRefund:
        status, payload = self._post("/v1/refunds", idempotency_key, {"charge": charge_id})
        if status not in (200, 201):
            raise self._failure(status)
        try:
            return ProviderRefund(str(payload["id"]), str(payload["charge"]))
        except (KeyError, TypeError) as exc:
            raise ProviderOutcomeUnknown(f"{self.name}: malformed refund response") from exc

    def find_charge(self, idempotency_key: str) -> LedgerCharge | None:
        """What the provider did under ``idempotency_key``: its charge (or decline), or None (nothing was done)."""
        status, payload = self._get("/v1/charges", {"idempotency_key": idempotency_key})
        data = payload.get("data")
        if status != 200 or not isinstance(data, list):
            raise self._failure(status) if status != 200 else ProviderOutcomeUnknown(f"{self.name}: malformed list")
        return LedgerCharge.from_json(data[0]) if data and isinstance(data[0], dict) else None

    def list_charges(self, *, page_size: int = 100) -> list[LedgerCharge]:
        """Every charge in the provider's ledger, oldest first (all pages)."""
        charges: list[LedgerCharge] = []
        query = {"limit": str(page_size)}
        while True:
            status, payload = self._get("/v1/charges", query)
            data = payload.get("data")
            if status != 200 or not isinstance(data, list):
                raise self._failure(status) if status != 200 else ProviderOutcomeUnknown(f"{self.name}: malformed list")
            charges += [LedgerCharge.from_json(c) for c in data if isinstance(c, dict)]
            if not payload.get("has_more") or not data:
                return charges
            query = {"limit": str(page_size), "starting_after": str(data[-1].get("id"))}

    def _get(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        try:
            return self.get(path, query)
        except provider_http.NotSent as exc:
            raise ProviderNotReached(f"{self.name}: {exc}") from exc
        except provider_http.NoAnswer as exc:
            raise ProviderOutcomeUnknown(f"{self.name}: {exc}") from exc

    def _failure(self, status: int) -> ProviderError:
        if status in NOT_REACHED_STATUSES:
            return ProviderNotReached(f"{self.name}: HTTP {status}")
        if 400 <= status < 500:
            # Our request was refused as malformed: nothing was charged, but another provider would refuse it too.
            return ProviderNotReached(f"{self.name}: rejected the request (HTTP {status})")
        return ProviderOutcomeUnknown(f"{self.name}: HTTP {status}")

    def _post(self, path: str, idempotency_key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            return self.post(path, idempotency_key, body)
        except provider_http.NotSent as exc:
            raise ProviderNotReached(f"{self.name}: {exc}") from exc
        except provider_http.NoAnswer as exc:
            raise ProviderOutcomeUnknown(f"{self.name}: {exc}") from exc
