"""Search logic: one page of a tenant's search; staff set the tenant's search language."""

from __future__ import annotations

from datetime import date

from marquee.relational.client import data_api
from marquee.search import service
from marquee.search.query import Kind, SearchRequest
from marquee.tenancy.tenant import TenantContext

from .models import Highlights, SearchEnv, SearchHit, SearchResponse, SearchSettingsRequest, SearchSettingsResponse

STAFF = "staff"


def search(
    *,
    tenant: TenantContext,
    env: SearchEnv,
    q: str,
    kind: Kind | None,
    city: str | None,
    genre: str | None,
    date_from: date | None,
    date_to: date | None,
    limit: int,
    cursor: str | None,
) -> SearchResponse:
    request = SearchRequest(
        text=q, kind=kind, city=city, genre=genre, date_from=date_from, date_to=date_to, limit=limit, cursor=cursor
    )
    page = service.search(data_api(env), tenant, request)
    return SearchResponse(
        items=[
            SearchHit(
                kind=h.kind,  # type: ignore[arg-type] # the table's CHECK constraint allows only the three kinds
                id=h.doc_id,
                score=h.score,
                title=h.title,
                original_title=h.original_title,
                director=h.director,
                cast=h.cast,
                genres=h.genres,
                movie_id=h.movie_id,
                cinema_id=h.cinema_id,
                cinema_name=h.cinema_name,
                city=h.city,
                starts_at=h.starts_at,
                highlights=Highlights(title=h.highlights.title, synopsis=h.highlights.synopsis),
            )
            for h in page.hits
        ],
        match=page.match,
        language=page.language,
        next_cursor=page.next_cursor,
    )


def set_settings(request: SearchSettingsRequest, *, tenant: TenantContext, env: SearchEnv) -> SearchSettingsResponse:
    tenant.require_group(STAFF)
    reindexed = service.set_language(data_api(env), tenant, request.language)
    return SearchSettingsResponse(language=request.language, reindexed=reindexed)
