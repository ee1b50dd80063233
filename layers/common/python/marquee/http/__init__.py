"""The kernel's HTTP edge: one hardened request path (``ApiResolver`` + ``RequestGuard``) for every API function."""

from marquee.http.api import ApiResolver, correlation_id
from marquee.http.guard import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_DEPTH, RequestGuard
from marquee.http.responses import accepted_response, created_response, ok_response

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_DEPTH",
    "ApiResolver",
    "RequestGuard",
    "accepted_response",
    "correlation_id",
    "created_response",
    "ok_response",
]
