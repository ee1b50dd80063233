"""charge / refund (the contract's entry points). Knows nothing of API Gateway; the store is the only DAL.

A charge, step by step:
1. The payment id is derived from (tenant, client, key). A payment already settled under it is the answer (captured:
   returned; declined: ``PaymentDeclined`` again); a different amount, order or card under the same key is
   ``IdempotencyKeyReused``.
2. Claim the charge attempt (a conditional write with a lease): a concurrent call with the same key gets
   ``PaymentInFlight``.
3. Try the providers in order, each through its circuit breaker (an open breaker is skipped: failover). Before a
   provider is called, the attempt is pinned to it as "ambiguous" (it may charge).
   - charged: payment CAPTURED + PaymentCaptured, one transaction; declined: DECLINED + PaymentDeclined, then raise.
   - not reached (refused connection, connect timeout, 503 before processing): nothing charged, unpin, next provider.
   - outcome unknown (read timeout, 5xx): ``ProviderUnavailable``. The pin stays, so a retry asks THE SAME provider with
     THE SAME provider key (the payment id), which returns the first charge instead of charging again.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from marquee.core.logs import Logger
from marquee.core.money import Money
from marquee.messaging.events import Envelope, envelope
from marquee.payments.config import PaymentsDeps, default_deps
from marquee.payments.errors import (
    IdempotencyKeyReused,
    PaymentDeclined,
    PaymentInFlight,
    PaymentNotFound,
    PaymentNotRefundable,
    ProviderUnavailable,
)
from marquee.payments.models import (
    ChargeRequest,
    PaymentCapturedEvent,
    PaymentDeclinedEvent,
    PaymentRefundedEvent,
    PaymentResult,
    PaymentStatus,
    ProviderName,
    RefundResult,
)
from marquee.payments.provider import ProviderDeclined, ProviderNotReached, ProviderOutcomeUnknown
from marquee.payments.store import ChargeDetails, StoredPayment
from marquee.resilience.breaker import BreakerOpen, Permit

logger = Logger(child=True)  # masked: logs through the function's Logger (marquee.core.logs)

PROVIDER_ORDER = (ProviderName.PRIMARY, ProviderName.SECONDARY)


def _derived_id(prefix: str, tenant_id: str, client_id: str, idempotency_key: str) -> str:
    digest = hashlib.sha256(f"{tenant_id}|{client_id}|{idempotency_key}".encode()).hexdigest()
    return f"{prefix}_{digest[:24]}"


def payment_id_for(tenant_id: str, client_id: str, idempotency_key: str) -> str:
    """The payment id of a charge: deterministic, so every retry with the same key is the same payment."""
    return _derived_id("pay", tenant_id, client_id, idempotency_key)


def charge(
    tenant_id: str, client_id: str, idempotency_key: str, request: ChargeRequest, *, deps: PaymentsDeps | None = None
) -> PaymentResult:
    deps = deps or default_deps()
    payment_id = payment_id_for(tenant_id, client_id, idempotency_key)
    existing = deps.store.get(tenant_id, payment_id)
    if existing is not None:
        return _settled_answer(existing, request)

    owner = uuid.uuid4().hex
    details = ChargeDetails(
        client_id=client_id, order_id=request.order_id, amount=request.amount, card_last4=request.last4
    )
    attempt = deps.store.claim_attempt(tenant_id, payment_id, owner, deps.attempt_lease_ms, details)
    try:
        existing = deps.store.get(tenant_id, payment_id)  # settled between our read and our claim
        if existing is not None:
            return _settled_answer(existing, request)
        if attempt.ambiguous and attempt.provider:
            candidates: tuple[ProviderName, ...] = (attempt.provider,)  # the provider that may have charged already
        elif deps.secondary_first(tenant_id, client_id):
            candidates = tuple(reversed(PROVIDER_ORDER))  # feature flag payments_secondary_as_primary
        else:
            candidates = PROVIDER_ORDER
        reasons: list[str] = []
        for name in candidates:
            try:
                permit = deps.breakers[name].acquire()
            except BreakerOpen as exc:
                reasons.append(f"{name.value}: breaker {exc.state.value}")
                continue
            outcome = _try_provider(deps, name, permit, tenant_id, client_id, payment_id, owner, request, reasons)
            if outcome is not None:
                return outcome
        raise ProviderUnavailable(
            f"Payment {payment_id} could not be charged now ({'; '.join(reasons)}). Retry with the same key."
        )
    finally:
        deps.store.release_attempt(tenant_id, payment_id, owner)


def _try_provider(
    deps: PaymentsDeps,
    name: ProviderName,
    permit: Permit,
    tenant_id: str,
    client_id: str,
    payment_id: str,
    owner: str,
    request: ChargeRequest,
    reasons: list[str],
) -> PaymentResult | None:
    """One provider: a result, ``None`` (not reached: try the next one), or a raised decline / unknown outcome."""
    breaker = deps.breakers[name]
    deps.store.pin_attempt(tenant_id, payment_id, owner, name, ambiguous=True)
    try:
        charged = deps.providers[name].charge(payment_id, request.amount, request.card, request.order_id)
    except ProviderDeclined as declined:
        breaker.record_success(permit)  # a decline is a healthy provider's answer
        payment = _stored(
            tenant_id, client_id, payment_id, request, name, PaymentStatus.DECLINED, None, declined.reason
        )
        declined_event = PaymentDeclinedEvent(
            payment_id=payment_id,
            client_id=client_id,
            order_id=request.order_id,
            amount=request.amount,
            provider=name,
            reason=declined.reason,
            card_last4=request.last4,
        )
        settled = deps.store.settle(payment, _envelope(declined_event, tenant_id, payment), owner)
        return _settled_answer(settled, request)
    except ProviderNotReached as exc:
        breaker.record_failure(permit, str(exc))
        deps.store.pin_attempt(tenant_id, payment_id, owner, name, ambiguous=False)
        reasons.append(str(exc))
        logger.warning("payment provider not reached; failing over", extra={"provider": name.value, "error": str(exc)})
        return None
    except ProviderOutcomeUnknown as exc:
        breaker.record_failure(permit, str(exc))
        logger.warning("payment outcome unknown", extra={"provider": name.value, "paymentId": payment_id})
        raise ProviderUnavailable(
            f"The outcome of payment {payment_id} at the {name.value} provider is not known yet ({exc}). "
            "Retry with the same key: the same provider will be asked again."
        ) from exc
    breaker.record_success(permit)
    payment = _stored(tenant_id, client_id, payment_id, request, name, PaymentStatus.CAPTURED, charged.charge_id, None)
    event = PaymentCapturedEvent(
        payment_id=payment_id,
        client_id=client_id,
        order_id=request.order_id,
        amount=request.amount,
        provider=name,
        provider_charge_id=charged.charge_id,
        card_last4=request.last4,
    )
    return _settled_answer(deps.store.settle(payment, _envelope(event, tenant_id, payment), owner), request)


class _ChargeLike(Protocol):
    @property
    def amount(self) -> Money: ...
    @property
    def order_id(self) -> str | None: ...
    @property
    def last4(self) -> str: ...


def _stored(
    tenant_id: str,
    client_id: str,
    payment_id: str,
    request: _ChargeLike,
    provider: ProviderName,
    status: PaymentStatus,
    charge_id: str | None,
    decline_reason: str | None,
) -> StoredPayment:
    return StoredPayment(
        payment_id=payment_id,
        tenant_id=tenant_id,
        client_id=client_id,
        status=status,
        amount=request.amount,
        provider=provider,
        provider_charge_id=charge_id,
        order_id=request.order_id,
        card_last4=request.last4,
        created_at=datetime.now(UTC),
        decline_reason=decline_reason,
    )


def _envelope(
    data: PaymentCapturedEvent | PaymentDeclinedEvent | PaymentRefundedEvent, tenant_id: str, payment: StoredPayment
) -> Envelope:
    return envelope(data, tenant_id=tenant_id, correlation_id=payment.order_id or payment.payment_id)


def _settled_answer(payment: StoredPayment, request: ChargeRequest) -> PaymentResult:
    if (payment.amount, payment.order_id, payment.card_last4) != (request.amount, request.order_id, request.last4):
        raise IdempotencyKeyReused(
            f"The idempotency key of payment {payment.payment_id} was first used for a different charge."
        )
    if payment.status is PaymentStatus.DECLINED:
        raise PaymentDeclined(
            f"The card was declined ({payment.decline_reason}).",
            payment_id=payment.payment_id,
            reason=payment.decline_reason or "card_declined",
        )
    return payment.as_result()


def get_payment(
    tenant_id: str, client_id: str | None, payment_id: str, *, deps: PaymentsDeps | None = None
) -> PaymentResult:
    """The payment, if it is in this tenant (and belongs to ``client_id``, unless ``None``: staff)."""
    deps = deps or default_deps()
    payment = _find(deps, tenant_id, client_id, payment_id)
    return payment.as_result()


def _find(deps: PaymentsDeps, tenant_id: str, client_id: str | None, payment_id: str) -> StoredPayment:
    try:
        payment = deps.store.get(tenant_id, payment_id)
    except ValueError as exc:  # not a valid key part: it cannot exist
        raise PaymentNotFound(f"No payment {payment_id!r}.") from exc
    if payment is None or (client_id is not None and payment.client_id != client_id):
        raise PaymentNotFound(f"No payment {payment_id!r}.")
    return payment


def refund(
    tenant_id: str, client_id: str, idempotency_key: str, payment_id: str, *, deps: PaymentsDeps | None = None
) -> RefundResult:
    """Refund a captured payment at the provider that charged it. Idempotent: a refunded payment is the answer."""
    deps = deps or default_deps()
    payment = _find(deps, tenant_id, client_id, payment_id)
    if payment.status is PaymentStatus.REFUNDED:
        return payment.as_refund()
    if payment.status is PaymentStatus.DECLINED or payment.provider_charge_id is None:
        raise PaymentNotRefundable(f"Payment {payment_id} was declined: there is nothing to refund.")
    refund_id = _derived_id("ref", tenant_id, client_id, idempotency_key)
    breaker = deps.breakers[payment.provider]
    try:
        permit = breaker.acquire()
    except BreakerOpen as exc:
        raise ProviderUnavailable(
            f"The {payment.provider.value} provider is unavailable (breaker {exc.state.value}); retry the refund."
        ) from exc
    try:
        refunded = deps.providers[payment.provider].refund(refund_id, payment.provider_charge_id)
    except (ProviderNotReached, ProviderOutcomeUnknown) as exc:
        breaker.record_failure(permit, str(exc))
        raise ProviderUnavailable(f"Refund of {payment_id} not confirmed ({exc}); retry with the same key.") from exc
    breaker.record_success(permit)
    event = PaymentRefundedEvent(
        payment_id=payment_id,
        client_id=client_id,
        order_id=payment.order_id,
        amount=payment.amount,
        provider=payment.provider,
        refund_id=refund_id,
        provider_refund_id=refunded.refund_id,
    )
    return deps.store.mark_refunded(
        payment, refund_id, refunded.refund_id, _envelope(event, tenant_id, payment)
    ).as_refund()


# ---- settling an unknown outcome later (docs/design/08-cross-service-integrity.md) -----------------------------------
class Settlement(StrEnum):
    """What ``settle_unknown`` found for a charge attempt."""

    IN_FLIGHT = "IN_FLIGHT"  # someone holds the attempt's lease: a charge may be running now; look again later
    ALREADY_SETTLED = "ALREADY_SETTLED"  # the payment exists: nothing to do
    NOT_PINNED = "NOT_PINNED"  # no provider may have charged (not reached everywhere): nothing to settle
    STILL_UNKNOWN = "STILL_UNKNOWN"  # the pinned provider did not answer the lookup (still down): look again later
    NOT_CHARGED = "NOT_CHARGED"  # the provider did nothing under the key: the pin is lifted
    CAPTURED = "CAPTURED"  # the provider charged: the payment is written CAPTURED (+ PaymentCaptured)
    DECLINED = "DECLINED"  # the provider declined: the payment is written DECLINED (+ PaymentDeclined)


@dataclass(frozen=True)
class SettleOutcome:
    settlement: Settlement
    payment: StoredPayment | None = None
    detail: str = ""


def settle_unknown(tenant_id: str, payment_id: str, *, deps: PaymentsDeps | None = None) -> SettleOutcome:
    """Settle a charge whose outcome was unknown (its caller got ``ProviderUnavailable`` and may never retry).

    The attempt's lease is claimed like any charger's (so nothing charges meanwhile); the pinned provider is ASKED, never
    charged again: a replayed POST would charge if the first call never arrived, a lookup by idempotency key cannot.
    What it answers is written exactly as ``charge`` would have written it (payment + event + attempt deletion, one
    transaction). Provider down: nothing changes, the pin stays, and the next run asks again.
    """
    deps = deps or default_deps()
    owner = uuid.uuid4().hex
    try:
        attempt = deps.store.claim_attempt(tenant_id, payment_id, owner, deps.attempt_lease_ms)
    except PaymentInFlight:
        return SettleOutcome(Settlement.IN_FLIGHT, detail="a charge holds the attempt's lease")
    try:
        existing = deps.store.get(tenant_id, payment_id)
        if existing is not None:
            return SettleOutcome(Settlement.ALREADY_SETTLED, existing)
        if not attempt.ambiguous or attempt.provider is None:
            return SettleOutcome(Settlement.NOT_PINNED, detail="no provider may have charged")
        name = attempt.provider
        try:
            found = deps.providers[name].find_charge(payment_id)
        except (ProviderNotReached, ProviderOutcomeUnknown) as exc:
            return SettleOutcome(Settlement.STILL_UNKNOWN, detail=f"{name.value} did not answer the lookup: {exc}")
        if found is None:
            deps.store.pin_attempt(tenant_id, payment_id, owner, name, ambiguous=False)
            return SettleOutcome(Settlement.NOT_CHARGED, detail=f"{name.value} has nothing under the key")
        details = attempt.details
        if details is None:
            return SettleOutcome(Settlement.STILL_UNKNOWN, detail="the attempt does not say what was charged")
        request = _Settled(details)
        if found.status == "failed":
            payment = _stored(
                tenant_id, details.client_id, payment_id, request, name, PaymentStatus.DECLINED, None, "card_declined"
            )
            declined = PaymentDeclinedEvent(
                payment_id=payment_id,
                client_id=details.client_id,
                order_id=details.order_id,
                amount=details.amount,
                provider=name,
                reason=payment.decline_reason or "card_declined",
                card_last4=details.card_last4,
            )
            settled = deps.store.settle(payment, _envelope(declined, tenant_id, payment), owner)
            return SettleOutcome(Settlement.DECLINED, settled, detail=f"{name.value} declined it")
        payment = _stored(
            tenant_id, details.client_id, payment_id, request, name, PaymentStatus.CAPTURED, found.charge_id, None
        )
        captured = PaymentCapturedEvent(
            payment_id=payment_id,
            client_id=details.client_id,
            order_id=details.order_id,
            amount=details.amount,
            provider=name,
            provider_charge_id=found.charge_id or "",
            card_last4=details.card_last4,
        )
        settled = deps.store.settle(payment, _envelope(captured, tenant_id, payment), owner)
        return SettleOutcome(Settlement.CAPTURED, settled, detail=f"{name.value} charged it as {found.charge_id}")
    finally:
        deps.store.release_attempt(tenant_id, payment_id, owner)


@dataclass(frozen=True)
class _Settled:
    """The fields of a ChargeRequest that ``_stored`` reads, from an attempt's details (the card is not kept)."""

    details: ChargeDetails

    @property
    def amount(self) -> Money:
        return self.details.amount

    @property
    def order_id(self) -> str | None:
        return self.details.order_id

    @property
    def last4(self) -> str:
        return self.details.card_last4
