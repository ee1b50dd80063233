"""The 4xx problems of search. Validation never echoes the query text back."""

from __future__ import annotations

from http import HTTPStatus

from marquee.core.errors import BadRequestError, MarqueeError


class BadSearchQuery(MarqueeError):
    """The query text or its filters cannot be searched (no words, too many words, control characters, from > to)."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    slug = "bad-search-query"
    title = "Bad search query"


class BadCursor(BadRequestError):
    """The cursor is not one this API issued, or was issued for another query."""

    slug = "bad-cursor"
    title = "Bad cursor"
