"""Typed payment errors. The saga retries the transient ones and compensates on the business ones."""

from __future__ import annotations

from http import HTTPStatus

from marquee.core.errors import MarqueeError


class PaymentError(MarqueeError):
    """Base of every payment error."""

    transient: bool = False


class PaymentDeclined(PaymentError):
    """Business: the provider declined the card. Retrying with the same key gives the same answer."""

    status = HTTPStatus.PAYMENT_REQUIRED
    slug = "payment-declined"
    title = "Payment declined"

    def __init__(self, detail: str, *, payment_id: str, reason: str = "card_declined") -> None:
        super().__init__(detail)
        self.payment_id = payment_id
        self.reason = reason


class ProviderUnavailable(PaymentError):
    """Transient: no provider could be asked (both down, or both breakers open), or the outcome is not known yet.

    Retry later WITH THE SAME idempotency key: a charge whose outcome was unknown is resolved by asking the same
    provider again with the same provider key, never by charging elsewhere.
    """

    status = HTTPStatus.SERVICE_UNAVAILABLE
    slug = "provider-unavailable"
    title = "Payment provider unavailable"
    transient = True
    retry_after_seconds = 5


class PaymentInFlight(PaymentError):
    """Transient: another call with the same idempotency key is charging right now."""

    status = HTTPStatus.CONFLICT
    slug = "payment-in-flight"
    title = "Payment in flight"
    transient = True
    retry_after_seconds = 1


class PaymentNotFound(PaymentError):
    """No such payment in the caller's tenant (another tenant's id is also "not found")."""

    status = HTTPStatus.NOT_FOUND
    slug = "payment-not-found"
    title = "Payment not found"


class PaymentNotRefundable(PaymentError):
    """Business: the payment was declined, so there is nothing to refund."""

    status = HTTPStatus.CONFLICT
    slug = "payment-not-refundable"
    title = "Payment not refundable"


class IdempotencyKeyReused(PaymentError):
    """The idempotency key was first used with a different request (the IETF draft's 422)."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    slug = "idempotency-key-reused"
    title = "Idempotency key reused with a different request"


class IdempotencyKeyInFlight(PaymentError):
    """The first request with this idempotency key is still being processed (the IETF draft's 409)."""

    status = HTTPStatus.CONFLICT
    slug = "idempotency-key-in-flight"
    title = "A request with this idempotency key is in progress"
    transient = True
    retry_after_seconds = 1


class InvalidIdempotencyKey(PaymentError):
    """The Idempotency-Key header is missing, empty or too long (the IETF draft's 400)."""

    status = HTTPStatus.BAD_REQUEST
    slug = "invalid-idempotency-key"
    title = "Invalid Idempotency-Key"
