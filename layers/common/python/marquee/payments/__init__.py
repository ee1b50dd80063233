"""Payments (challenge 2): charge and refund exactly once, through two providers behind circuit breakers (challenge 4).

The contract (docs/booking-data-model.md):
- ``charge(tenant_id, client_id, idempotency_key, request) -> PaymentResult``; raises ``PaymentDeclined`` (business),
  ``ProviderUnavailable`` and ``PaymentInFlight`` (transient: retry with the same key).
- ``refund(tenant_id, client_id, idempotency_key, payment_id) -> RefundResult``; idempotent.
- ``settle_unknown(tenant_id, payment_id) -> SettleOutcome``: a charge left unknown (its pinned provider timed out) is
  settled by asking that provider what it did under the key (the integrity reconciler calls it).

Both are idempotent on (tenant, client, key): the payment id is derived from them (``payment_id_for``), so a retry
finds the first call's payment, and the provider is called with that id as its own Idempotency-Key.
"""

from __future__ import annotations

from marquee.payments.errors import (
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    PaymentDeclined,
    PaymentError,
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
from marquee.payments.service import (
    Settlement,
    SettleOutcome,
    charge,
    get_payment,
    payment_id_for,
    refund,
    settle_unknown,
)

__all__ = [
    "ChargeRequest",
    "IdempotencyKeyInFlight",
    "IdempotencyKeyReused",
    "InvalidIdempotencyKey",
    "PaymentCapturedEvent",
    "PaymentDeclined",
    "PaymentDeclinedEvent",
    "PaymentError",
    "PaymentInFlight",
    "PaymentNotFound",
    "PaymentNotRefundable",
    "PaymentRefundedEvent",
    "PaymentResult",
    "PaymentStatus",
    "ProviderName",
    "ProviderUnavailable",
    "RefundResult",
    "SettleOutcome",
    "Settlement",
    "charge",
    "get_payment",
    "payment_id_for",
    "refund",
    "settle_unknown",
]
