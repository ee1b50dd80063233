"""The id of the API request being served, for what the request causes beyond its answer (the domain events it
writes: ``marquee.messaging.events.envelope`` stamps it as ``requestId``).

``ApiResolver.resolve`` binds it for the duration of one request (docs/design/09-api-gateway.md); outside a request
(queue consumers, saga steps, schedules) it is None. A context variable: each thread or task sees its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_REQUEST_ID: ContextVar[str | None] = ContextVar("marquee_request_id", default=None)


def current_request_id() -> str | None:
    return _REQUEST_ID.get()


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """Make ``request_id`` the current one inside the block (and the previous one again after it)."""
    token = _REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        _REQUEST_ID.reset(token)
