"""Typed errors shared by every function.

Each error knows the HTTP status and problem type it maps to, so that one exception handler (see ``problem.py``)
turns any of them into an RFC 9457 problem response. Nothing matches on message text.
"""

from __future__ import annotations

from http import HTTPStatus


class MarqueeError(Exception):
    """Base of every domain error. Subclasses set ``status``, ``slug`` and ``title``."""

    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR
    slug: str = "internal-error"
    title: str = "Internal error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ConfigurationError(MarqueeError):
    """The function's environment is incomplete or invalid: a deployment bug, never the caller's fault."""

    slug = "configuration-error"
    title = "Configuration error"


class ForbiddenError(MarqueeError):
    """The caller is authenticated but not allowed to do this."""

    status = HTTPStatus.FORBIDDEN
    slug = "forbidden"
    title = "Forbidden"


class TenantClaimError(ForbiddenError):
    """The verified claims carry no usable tenant: the caller cannot be placed in a tenant, so gets nothing."""

    slug = "tenant-required"
    title = "Tenant claim missing or invalid"


class PayloadTooLarge(MarqueeError):
    """The request body is over the endpoint's limit (256 KB, API Gateway's own payload cap is 10 MB)."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    slug = "payload-too-large"
    title = "Payload too large"


class BadRequestError(MarqueeError):
    """The request cannot be processed as sent."""

    status = HTTPStatus.BAD_REQUEST
    slug = "bad-request"
    title = "Bad request"
