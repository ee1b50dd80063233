"""The webhook capability's errors, each mapped to its problem+json status by ``MarqueeError``."""

from __future__ import annotations

from http import HTTPStatus

from marquee.core.errors import MarqueeError


# ---- errors -----------------------------------------------------------------------------------------------------------
class EndpointNotFound(MarqueeError):
    status = HTTPStatus.NOT_FOUND
    slug = "webhook-endpoint-not-found"
    title = "Webhook endpoint not found"


class DeliveryNotFound(MarqueeError):
    status = HTTPStatus.NOT_FOUND
    slug = "webhook-delivery-not-found"
    title = "Webhook delivery not found"


class EndpointDisabledError(MarqueeError):
    status = HTTPStatus.CONFLICT
    slug = "webhook-endpoint-disabled"
    title = "Webhook endpoint disabled"


class InvalidSignature(MarqueeError):
    status = HTTPStatus.UNAUTHORIZED
    slug = "invalid-webhook-signature"
    title = "Invalid webhook signature"


class PaymentNotFound(MarqueeError):
    status = HTTPStatus.NOT_FOUND
    slug = "payment-not-found"
    title = "Payment not found"


class RotationConflict(MarqueeError):
    status = HTTPStatus.CONFLICT
    slug = "webhook-rotation-conflict"
    title = "Concurrent secret rotation"


class DeliveryEnqueueFailed(MarqueeError):
    """SQS refused some messages of a batch: the caller fails, and its own retry enqueues them again."""

    slug = "webhook-enqueue-failed"
    title = "Webhook delivery could not be enqueued"
