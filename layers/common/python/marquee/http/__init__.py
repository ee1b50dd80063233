"""The kernel's HTTP edge: one hardened request path (``ApiResolver`` + ``RequestGuard``) for every API function."""

from marquee.http.api import ApiResolver, correlation_id
from marquee.http.guard import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_DEPTH, RequestGuard

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_DEPTH", "ApiResolver", "RequestGuard", "correlation_id"]
