"""Configuration, request and response models of the search function (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from marquee.cache.env import CacheEnv
from marquee.core.env import PowertoolsEnv
from marquee.core.models import CamelModel, CamelRequest
from marquee.relational.client import RelationalEnv


class SearchEnv(PowertoolsEnv, RelationalEnv, CacheEnv):
    """The Data API target (cluster, secret, database); the function has no VPC and reads no DynamoDB table."""


class Highlights(CamelModel):
    """``ts_headline`` fragments with matches in ``<mark>``…``</mark>``. The text is the catalog's, not HTML-escaped:
    a client escapes it and then turns the markers into markup. Null in ``similar`` results."""

    title: str | None
    synopsis: str | None


class SearchHit(CamelModel):
    kind: Literal["movie", "showtime", "cinema"]
    id: str = Field(description="The movie, showtime or cinema id")
    score: int = Field(description="The rank (higher first), comparable within one result list only")
    title: str = Field(description="The movie's title, or the cinema's name")
    original_title: str
    director: str
    cast: list[str]
    genres: list[str]
    movie_id: str | None
    cinema_id: str | None
    cinema_name: str
    city: str
    starts_at: datetime | None
    highlights: Highlights


class SearchResponse(CamelModel):
    items: list[SearchHit]
    match: Literal["fulltext", "similar"] = Field(
        description="fulltext: the words matched; similar: nothing matched them, these titles are spelled alike"
    )
    language: Literal["en", "pt"] = Field(description="The tenant's search language (stemming, stop words)")
    next_cursor: str | None


class SearchSettingsRequest(CamelRequest):
    language: Literal["en", "pt"]


class SearchSettingsResponse(CamelRequest):
    language: Literal["en", "pt"]
    reindexed: int = Field(description="Documents whose language changed (their tsvector was rebuilt)")
