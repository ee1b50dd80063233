"""A search, validated, and the SQL it runs. Pure: no I/O, so every rule here is unit-tested.

**The text** is read with PostgreSQL's ``websearch_to_tsquery`` (quotes for phrases, ``or``, ``-`` to exclude), which
never raises a syntax error; what it cannot search is refused here with a 422 instead: control characters, no letter
or digit at all, more than ``MAX_WORDS`` words. The text is NFKC-normalized (full-width letters become ASCII letters).

**Type-ahead.** When the text ends inside a word (no trailing space, quotes balanced) of at least ``MIN_PREFIX``
letters, that last word also matches as a prefix: ``star wa`` is ``star & (wa | wa:*)``. The prefix goes through the
``marquee_simple`` configuration (unaccent, no stemming), so ``avat`` finds "Avatar"; a prefix of a stemmed form can
miss (``runni`` does not find "running", indexed as ``run``).

**Ranking is bounded.** The matching documents are ordered by their precomputed ``popularity`` and only the first
``cap`` become candidates; ``ts_rank`` (weights A title, B cast and director, C genres and place, D synopsis) times a
popularity boost orders those. A common word matching half a tenant's million documents costs ``cap`` rank
computations, not 500,000. ``cap=None`` ranks every match (the bench's "unbounded", to measure the recall the cap
costs). Pages are keyset (``cursor``), never OFFSET.

**Typo tolerance.** When the full-text search finds nothing on the first page, ``fallback_sql`` looks for titles of
movies and cinemas that are word-similar (``pg_trgm``, ``<%``, threshold 0.6) to the text: ``avatr`` finds "Avatar".

Every statement starts from ``d.tenant_id = :tenant`` and every index leads with ``tenant_id``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from marquee.projections.shards import HOME_SCHEMA, qualify
from marquee.search import cursor as cursors
from marquee.search.errors import BadSearchQuery

Kind = Literal["movie", "showtime", "cinema"]
Language = Literal["en", "pt"]

MAX_CHARS = 200
MAX_WORDS = 12
MIN_PREFIX = 3
DEFAULT_CAP = 1000
SCORE_SCALE = 1_000_000

_WORD = re.compile(r"^[^\W_]+$")
_PARAM = re.compile(r"(?<![:\w]):([a-z_]+)")

HIGHLIGHT_TITLE = "HighlightAll=true, StartSel=<mark>, StopSel=</mark>"
HIGHLIGHT_SYNOPSIS = (
    'MaxFragments=2, MaxWords=18, MinWords=6, FragmentDelimiter=" … ", StartSel=<mark>, StopSel=</mark>'
)

COLUMNS = """d.doc_id, d.kind, d.movie_id, d.cinema_id, d.title, d.original_title, d.director, d.cast_names,
       array_to_string(d.genres, '|') AS genres, d.cinema_name, d.city, d.starts_at, d.popularity"""
OUTER_COLUMNS = """s.doc_id, s.kind, s.movie_id, s.cinema_id, s.title, s.original_title, s.director, s.cast_names,
       s.genres, s.cinema_name, s.city, s.starts_at, s.popularity"""
# Soft delete (challenge 8): a document whose own id, movie or cinema is deleted is not found (0003_search_tombstones).
VISIBLE = """
      AND NOT EXISTS (SELECT 1 FROM {S}.search_tombstones t WHERE t.tenant_id = d.tenant_id AND t.deleted
                      AND t.doc_id IN (d.doc_id, d.movie_id, d.cinema_id))"""


def normalize(text: str) -> str:
    """NFKC, tabs and line breaks as spaces, runs of spaces collapsed; ``BadSearchQuery`` for what cannot be searched."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate from a JSON escape
        raise BadSearchQuery("The query is not valid Unicode text.") from exc
    text = unicodedata.normalize("NFKC", text)
    cleaned = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in "\t\r\n":
            cleaned.append(" ")
        elif category == "Cc":
            raise BadSearchQuery("The query contains control characters.")
        elif category == "Cf":  # zero-width and direction marks: invisible, never part of a word
            continue
        else:
            cleaned.append(ch)
    text = " ".join("".join(cleaned).split())
    if not text:
        raise BadSearchQuery("The query is empty.")
    if len(text) > MAX_CHARS:
        raise BadSearchQuery(f"The query is longer than {MAX_CHARS} characters.")
    if not any(ch.isalnum() for ch in text):
        raise BadSearchQuery("The query has no letter or digit to search for.")
    if len(text.split()) > MAX_WORDS:
        raise BadSearchQuery(f"The query has more than {MAX_WORDS} words.")
    return text


@dataclass(frozen=True)
class Terms:
    """The text split for type-ahead: ``head`` as typed (websearch syntax), ``last`` the word being typed, if any."""

    text: str
    head: str
    last: str | None

    @classmethod
    def of(cls, text: str) -> Terms:
        words = text.split(" ")
        last = words[-1]
        typing = text.count('"') % 2 == 0 and _WORD.match(last) is not None and len(last) >= MIN_PREFIX
        if not typing or last.lower() == "or":
            return cls(text=text, head=text, last=None)
        return cls(text=text, head=" ".join(words[:-1]), last=last)


@dataclass(frozen=True)
class SearchRequest:
    text: str
    kind: Kind | None = None
    city: str | None = None
    genre: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    limit: int = 20
    cursor: str | None = None

    # A date range selects showtimes by their start. A range whose 'from' is after its 'to', or a range with a kind
    # other than showtime (movies and cinemas have no start), is a valid request that matches nothing: 200 and no
    # items, as the OpenAPI allows it (schemathesis sends such requests as valid data).

    def fingerprint(self, text: str) -> str:
        return cursors.fingerprint(text, self.kind, self.city, self.genre, self.date_from, self.date_to)


@dataclass(frozen=True)
class Statement:
    sql: str
    params: dict[str, Any] = field(default_factory=dict)


def tsquery(terms: Terms) -> str:
    """The tsquery expression (immutable functions of parameters, so the planner folds it and can estimate it)."""
    config = "search_config(:language)"
    if terms.last is None:
        return f"websearch_to_tsquery({config}, :q)"
    prefix = f"(websearch_to_tsquery({config}, :last) || to_tsquery('marquee_simple', :last_prefix))"
    if not terms.head:
        return prefix
    return f"(websearch_to_tsquery({config}, :head) && {prefix})"


def _terms_params(terms: Terms) -> dict[str, Any]:
    if terms.last is None:
        return {"q": terms.text}
    return {"head": terms.head, "last": terms.last, "last_prefix": f"{terms.last}:*"}


def filters(request: SearchRequest) -> tuple[str, dict[str, Any]]:
    """The filter conditions (ANDed after the tenant and the match) and their parameters."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    kind = request.kind or ("showtime" if request.date_from or request.date_to else None)
    if kind:
        conditions.append("d.kind = :kind")
        params["kind"] = kind
    if request.city:
        conditions.append("search_fold(d.city) = search_fold(:city)")
        params["city"] = request.city
    if request.genre:
        conditions.append(":genre = ANY (d.genres)")
        params["genre"] = request.genre
    if request.date_from:
        conditions.append("d.starts_at >= CAST(:date_from AS date)::timestamp AT TIME ZONE 'UTC'")
        params["date_from"] = request.date_from
    if request.date_to:
        conditions.append("d.starts_at < (CAST(:date_to AS date) + 1)::timestamp AT TIME ZONE 'UTC'")
        params["date_to"] = request.date_to
    return "".join(f"\n      AND {c}" for c in conditions), params


def _keyset(after: cursors.Cursor | None, alias: str) -> tuple[str, dict[str, Any]]:
    if after is None:
        return "TRUE", {}
    return (
        f"({alias}.score < :after_score OR ({alias}.score = :after_score AND {alias}.doc_id > :after_id))",
        {"after_score": after.score, "after_id": after.doc_id},
    )


def used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters the statement names (the Data API is given exactly those)."""
    names = set(_PARAM.findall(sql))
    missing = names - set(params)
    if missing:
        raise KeyError(f"the statement names parameters without values: {sorted(missing)}")
    return {k: v for k, v in params.items() if k in names}


def search_sql(
    request: SearchRequest,
    terms: Terms,
    *,
    tenant_id: str,
    language: Language,
    after: cursors.Cursor | None,
    cap: int | None = DEFAULT_CAP,
    schema: str = HOME_SCHEMA,
) -> Statement:
    """The bounded (``cap``) or unbounded (``cap=None``) ranked full-text page, one row more than ``limit``."""
    q = tsquery(terms)
    where, filter_params = filters(request)
    keyset, keyset_params = _keyset(after, "s")
    limit = "\n    LIMIT :cap" if cap is not None else ""
    sql = f"""WITH candidates AS (
    SELECT d.doc_id, d.popularity, d.document
    FROM {{S}}.search_documents d
    WHERE d.tenant_id = :tenant
      AND d.document @@ {q}{where}{VISIBLE}
    ORDER BY d.popularity DESC, d.doc_id{limit}
), scored AS (
    SELECT c.doc_id,
           floor(ts_rank(c.document, {q})::float8 * (1.0 + ln(1.0 + c.popularity::float8) / 4.0) * {SCORE_SCALE})::bigint
               AS score
    FROM candidates c
), page AS (
    SELECT s.doc_id, s.score FROM scored s
    WHERE {keyset}
    ORDER BY s.score DESC, s.doc_id
    LIMIT :page_size
)
SELECT p.score, {COLUMNS},
       ts_headline(search_config(:language), d.title, {q}, '{HIGHLIGHT_TITLE}') AS title_highlight,
       ts_headline(search_config(:language), d.synopsis, {q}, '{HIGHLIGHT_SYNOPSIS}') AS synopsis_highlight
FROM page p
JOIN {{S}}.search_documents d ON d.tenant_id = :tenant AND d.doc_id = p.doc_id
ORDER BY p.score DESC, p.doc_id"""  # noqa: S608 - the fragments are this module's constants; values are parameters
    params = {
        "tenant": tenant_id,
        "language": language,
        "cap": cap,
        "page_size": request.limit + 1,
        **_terms_params(terms),
        **filter_params,
        **keyset_params,
    }
    return Statement(qualify(sql, schema), used(sql, params))


def fallback_sql(
    request: SearchRequest, text: str, *, tenant_id: str, after: cursors.Cursor | None, schema: str = HOME_SCHEMA
) -> Statement:
    """Typo tolerance: movie and cinema titles word-similar to the text (pg_trgm), best first, keyset-paged."""
    where, filter_params = filters(request)
    keyset, keyset_params = _keyset(after, "s")
    sql = f"""SELECT s.score, {OUTER_COLUMNS},
       NULL AS title_highlight, NULL AS synopsis_highlight
FROM (
    SELECT floor(word_similarity(search_fold(:q), search_fold(d.title)) * {SCORE_SCALE})::bigint AS score, {COLUMNS}
    FROM {{S}}.search_documents d
    WHERE d.tenant_id = :tenant
      AND d.kind <> 'showtime'
      AND search_fold(:q) <% search_fold(d.title){where}{VISIBLE}
) s
WHERE {keyset}
ORDER BY s.score DESC, s.doc_id
LIMIT :page_size"""  # noqa: S608 - the fragments are this module's constants; values are parameters
    params = {
        "tenant": tenant_id,
        "q": text,
        "page_size": request.limit + 1,
        **filter_params,
        **keyset_params,
    }
    return Statement(qualify(sql, schema), used(sql, params))
