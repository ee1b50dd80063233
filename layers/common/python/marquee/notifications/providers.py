"""Notification providers: a primary and a backup per channel, each behind its own circuit breaker (marquee.resilience.breaker).

- Credentials ({url, apiKey}) come from Secrets Manager through Powertools parameters, cached (``secret_max_age_s``);
  a 401 forces one fresh fetch and one retry. The key is never logged.
- Every call carries ``Idempotency-Key: {event id}:{channel}``: a provider asked twice for one (event, channel) sends
  one message (the provider-side half of the exactly-once effect; the delivery record is the other half).
- Failover: a provider that was NOT REACHED (connection refused, connect timeout, 401/403/429/503) or whose breaker is
  open is skipped for the next one. An UNKNOWN outcome (read timeout, other 5xx) stops the attempt instead: the retry
  asks the same provider again with the same key, which settles it without a second message. A REJECTED message (other
  4xx: invalid recipient, too large) is permanent: no provider would take it, so it goes to the DLQ.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from marquee.notifications.channels import Notification
from marquee.resilience import provider_http
from marquee.resilience.breaker import BreakerOpen, CircuitBreaker
from marquee.resilience.provider_http import NOT_REACHED_STATUSES


class SendError(Exception):
    """Base of the classified provider outcomes."""


class NotReached(SendError):
    """Nothing was sent: the next provider may be tried."""


class OutcomeUnknown(SendError):
    """The provider may have sent it: only it, asked again with the same key, can settle it."""


class Rejected(SendError):
    """The provider refused this message as invalid: permanent, no provider would take it."""


@dataclass(frozen=True)
class Attempt:
    provider: str
    ok: bool
    latency_ms: float
    error: str | None = None
    message_id: str | None = None


@dataclass
class SendOutcome:
    """What happened on every provider tried for one message, in order."""

    attempts: list[Attempt] = field(default_factory=list)

    @property
    def sent(self) -> Attempt | None:
        return next((a for a in self.attempts if a.ok), None)


class AllProvidersFailed(Exception):
    """No provider sent the message this time (transient): retry later."""

    def __init__(self, outcome: SendOutcome) -> None:
        super().__init__("; ".join(f"{a.provider}: {a.error}" for a in outcome.attempts) or "no provider")
        self.outcome = outcome


class MessageRejected(Exception):
    """Permanent: the message itself is refused."""

    def __init__(self, outcome: SendOutcome) -> None:
        super().__init__("; ".join(f"{a.provider}: {a.error}" for a in outcome.attempts))
        self.outcome = outcome


def clear_caches() -> None:
    provider_http.clear_caches()


class ProviderClient(provider_http.ProviderEndpoint):
    """``POST {url}/v1/messages`` {channel, to, subject, body} with Bearer key and Idempotency-Key."""

    def not_reached(self, detail: str) -> Exception:
        return NotReached(detail)

    def send(self, message: Notification) -> str:
        """The provider's message id; a ``SendError`` subclass otherwise."""
        body = {
            "channel": message.channel.value,
            "to": message.customer_id,
            "subject": message.subject,
            "body": message.body,
            "occurredAt": message.occurred_at.isoformat(),
        }
        try:
            status, payload = self.post("/v1/messages", message.idempotency_key, body)
        except provider_http.NotSent as exc:
            raise NotReached(str(exc)) from exc
        except provider_http.NoAnswer as exc:
            raise OutcomeUnknown(str(exc)) from exc
        if status in (200, 201, 202):
            return str(payload.get("id") or "")
        if status in NOT_REACHED_STATUSES:
            raise NotReached(f"HTTP {status}")
        if 400 <= status < 500:
            raw_error = payload.get("error")
            error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
            raise Rejected(f"HTTP {status} {error.get('message') or ''}".strip())
        raise OutcomeUnknown(f"HTTP {status}")


class Sender(Protocol):
    """Any object with ``name`` and ``send(message) -> provider message id`` (tests pass fakes)."""

    name: str

    def send(self, message: Notification) -> str: ...


@dataclass(frozen=True)
class Route:
    provider: Sender
    breaker: CircuitBreaker


class ChannelSender:
    """The providers of one channel, in order (primary, backup), each behind its breaker."""

    def __init__(self, routes: Sequence[Route], *, clock: Any = time.perf_counter) -> None:
        self.routes = list(routes)
        self.clock = clock

    def send(self, message: Notification) -> SendOutcome:
        outcome = SendOutcome()
        for route in self.routes:
            name = route.provider.name
            try:
                permit = route.breaker.acquire()
            except BreakerOpen as exc:
                outcome.attempts.append(Attempt(name, ok=False, latency_ms=0.0, error=f"breaker {exc.state.value}"))
                continue
            started = self.clock()
            try:
                message_id = route.provider.send(message)
            except Rejected as exc:
                route.breaker.record_success(permit)  # the provider is healthy: it judged the message
                outcome.attempts.append(Attempt(name, ok=False, latency_ms=self._since(started), error=str(exc)))
                raise MessageRejected(outcome) from exc
            except NotReached as exc:
                route.breaker.record_failure(permit, str(exc))
                outcome.attempts.append(Attempt(name, ok=False, latency_ms=self._since(started), error=str(exc)))
                continue  # nothing was sent: fail over
            except OutcomeUnknown as exc:
                route.breaker.record_failure(permit, str(exc))
                outcome.attempts.append(Attempt(name, ok=False, latency_ms=self._since(started), error=str(exc)))
                raise AllProvidersFailed(outcome) from exc  # ask the same provider again, with the same key, later
            route.breaker.record_success(permit)
            outcome.attempts.append(Attempt(name, ok=True, latency_ms=self._since(started), message_id=message_id))
            return outcome
        raise AllProvidersFailed(outcome)

    def _since(self, started: float) -> float:
        return round((self.clock() - started) * 1000, 2)
