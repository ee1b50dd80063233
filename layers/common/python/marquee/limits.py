"""Request size limits applied before a Lambda proxy event is routed or parsed.

Powertools' request validation runs before any user middleware, so a huge body would be parsed (and answered 422)
before a route could refuse it. ``limit_body`` wraps the Lambda handler instead: a body over the limit is answered
``413 application/problem+json`` and never parsed. The size counted is the body as sent (base64 bodies decoded).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from marquee.problem import body_size, oversized_body_response

__all__ = ["body_size", "limit_body"]

Handler = TypeVar("Handler", bound=Callable[..., Any])


def limit_body(max_bytes: int) -> Callable[[Handler], Handler]:
    """Decorate a REST proxy Lambda handler: bodies over ``max_bytes`` get a 413 problem without being parsed."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapped(event: dict[str, Any], context: Any) -> Any:
            return oversized_body_response(event, max_bytes) or handler(event, context)

        return wrapped  # type: ignore[return-value]

    return decorate
