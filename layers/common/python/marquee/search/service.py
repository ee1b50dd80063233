"""Run a search for one tenant through the Data API: validate, page, fall back to trigram similarity, map the rows."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from marquee.projections import shards
from marquee.relational.client import DataApi
from marquee.search import cursor as cursors
from marquee.search.query import DEFAULT_CAP, Language, SearchRequest, Terms, fallback_sql, normalize, search_sql
from marquee.tenancy.tenant import TenantContext

LANGUAGE_TTL_S = 10.0
Match = Literal["fulltext", "similar"]


class Highlights(BaseModel):
    model_config = ConfigDict(frozen=True)
    title: str | None
    synopsis: str | None


class Hit(BaseModel):
    model_config = ConfigDict(frozen=True)
    doc_id: str
    kind: str
    score: int
    movie_id: str | None
    cinema_id: str | None
    title: str
    original_title: str
    director: str
    cast: list[str]
    genres: list[str]
    cinema_name: str
    city: str
    starts_at: datetime | None
    popularity: int
    highlights: Highlights


class Page(BaseModel):
    model_config = ConfigDict(frozen=True)
    hits: list[Hit]
    match: Match
    language: Language
    next_cursor: str | None


class _LanguageCache:
    """The tenant's language, kept ``LANGUAGE_TTL_S`` (it changes rarely; a change reaches searches within that)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Language]] = {}

    def get(self, api: DataApi, tenant_id: str) -> Language:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(tenant_id)
        if entry and now - entry[0] < LANGUAGE_TTL_S:
            return entry[1]
        rows = api.query("SELECT language FROM tenant_settings WHERE tenant_id = :tenant", {"tenant": tenant_id})
        language: Language = "pt" if rows and rows[0].get("language") == "pt" else "en"
        with self._lock:
            self._entries[tenant_id] = (now, language)
        return language

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


languages = _LanguageCache()


def _timestamp(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def hit_from_row(row: dict[str, Any]) -> Hit:
    cast = str(row.get("cast_names") or "")
    genres = str(row.get("genres") or "")
    return Hit(
        doc_id=str(row["doc_id"]),
        kind=str(row["kind"]),
        score=int(row["score"]),
        movie_id=row.get("movie_id"),
        cinema_id=row.get("cinema_id"),
        title=str(row.get("title") or ""),
        original_title=str(row.get("original_title") or ""),
        director=str(row.get("director") or ""),
        cast=[c.strip() for c in cast.split(",") if c.strip()],
        genres=[g for g in genres.split("|") if g],
        cinema_name=str(row.get("cinema_name") or ""),
        city=str(row.get("city") or ""),
        starts_at=_timestamp(row.get("starts_at")),
        popularity=int(row.get("popularity") or 0),
        highlights=Highlights(title=row.get("title_highlight"), synopsis=row.get("synopsis_highlight") or None),
    )


def search(api: DataApi, tenant: TenantContext, request: SearchRequest, *, cap: int | None = DEFAULT_CAP) -> Page:
    text = normalize(request.text)
    terms = Terms.of(text)
    digest = request.fingerprint(text)
    after = cursors.decode(request.cursor, expected_fingerprint=digest) if request.cursor else None
    language = languages.get(api, tenant.tenant_id)
    schema = shards.read_schema(api, tenant.tenant_id)
    match: Match = "fulltext"
    rows: list[dict[str, Any]] = []
    if after is None or after.mode == "f":
        statement = search_sql(
            request, terms, tenant_id=tenant.tenant_id, language=language, after=after, cap=cap, schema=schema
        )
        rows = api.query(statement.sql, statement.params)
    if (after is None and not rows) or (after is not None and after.mode == "t"):
        match = "similar"
        statement = fallback_sql(request, text, tenant_id=tenant.tenant_id, after=after, schema=schema)
        rows = api.query(statement.sql, statement.params)
    hits = [hit_from_row(r) for r in rows[: request.limit]]
    next_cursor = None
    if len(rows) > request.limit:
        last = hits[-1]
        mode: cursors.Mode = "f" if match == "fulltext" else "t"
        next_cursor = cursors.encode(
            cursors.Cursor(mode=mode, score=last.score, doc_id=last.doc_id, fingerprint=digest)
        )
    return Page(hits=hits, match=match, language=language, next_cursor=next_cursor)


SET_LANGUAGE = """INSERT INTO tenant_settings (tenant_id, language) VALUES (:tenant, :language)
ON CONFLICT (tenant_id) DO UPDATE SET language = EXCLUDED.language, updated_at = now()"""
REINDEX_LANGUAGE = """UPDATE {S}.search_documents SET language = :language, updated_at = now()
WHERE tenant_id = :tenant AND language <> :language"""


def set_language(api: DataApi, tenant: TenantContext, language: Language) -> int:
    """Set the tenant's search language and rebuild its documents' tsvectors in the same transaction.

    One UPDATE rewrites every document of the tenant whose language differs: fine for a catalog of thousands, too long
    for the Data API's 45 s at millions (a large tenant is re-indexed by the bulk path, ``marquee seed``)."""
    with api.transaction() as tx:
        tx.execute(SET_LANGUAGE, {"tenant": tenant.tenant_id, "language": language})
        schema = shards.held(tx, tenant.tenant_id)  # FOR SHARE: a relocation waits, or has moved the rows already
        reindex = shards.qualify(REINDEX_LANGUAGE, schema)
        updated = tx.execute(reindex, {"tenant": tenant.tenant_id, "language": language}).updated
    languages.clear()
    return updated
