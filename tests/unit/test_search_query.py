"""Search query building, validation and the keyset cursor (marquee.search): pure, no database."""

from __future__ import annotations

import base64
import json
import re
from datetime import date

import pytest

from marquee.search import cursor as cursors
from marquee.search.errors import BadCursor, BadSearchQuery
from marquee.search.query import (
    MAX_WORDS,
    SearchRequest,
    Terms,
    fallback_sql,
    normalize,
    search_sql,
    tsquery,
    used,
)


def statement(text: str, **kwargs: object) -> tuple[str, dict[str, object]]:
    request = SearchRequest(text=text, **kwargs)  # type: ignore[arg-type]
    built = search_sql(request, Terms.of(normalize(text)), tenant_id="t1", language="en", after=None)
    return built.sql, built.params


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("   \t ", "empty"),
        ("x" * 201, "longer than 200"),
        ("&&& !!! ((", "no letter or digit"),
        ("a\x00b", "control characters"),
        ("a\x1bb", "control characters"),
        (" ".join(["w"] * (MAX_WORDS + 1)), "more than"),
        ("caf\ud800", "not valid Unicode"),
    ],
)
def test_text_that_cannot_be_searched_is_a_422_naming_why(text: str, why: str) -> None:
    with pytest.raises(BadSearchQuery, match=why) as caught:
        normalize(text)
    assert caught.value.status == 422
    assert text.strip() == "" or text[:20] not in caught.value.detail  # never echoes the query


def test_text_is_nfkc_normalized_and_invisible_marks_dropped() -> None:
    assert normalize("ＳＴＡＲ\u200b  wars\n") == "STAR wars"
    assert normalize("Coração") == "Coração"
    assert normalize('"unclosed phrase') == '"unclosed phrase'  # websearch syntax never errors


def test_the_last_word_being_typed_is_also_a_prefix() -> None:
    assert Terms.of("star wa") == Terms(text="star wa", head="star wa", last=None)  # under MIN_PREFIX letters
    assert Terms.of("star war") == Terms(text="star war", head="star", last="war")
    assert Terms.of("avat") == Terms(text="avat", head="", last="avat")
    assert Terms.of("São") == Terms(text="São", head="", last="São")


@pytest.mark.parametrize("text", ['"the matrix"', "matrix -reloaded", "matrix or", "neo_", "star-wars", 'a "b c'])
def test_no_prefix_for_phrases_exclusions_operators_or_punctuation(text: str) -> None:
    assert Terms.of(text).last is None
    assert tsquery(Terms.of(text)) == "websearch_to_tsquery(search_config(:language), :q)"


def test_prefix_query_ands_the_head_with_the_last_word_or_its_prefix() -> None:
    sql, params = statement("keanu matr")
    assert "websearch_to_tsquery(search_config(:language), :head) && " in sql
    assert "to_tsquery('marquee_simple', :last_prefix)" in sql
    assert params["head"] == "keanu" and params["last"] == "matr" and params["last_prefix"] == "matr:*"
    assert "q" not in params


def test_every_statement_is_scoped_to_the_tenant_and_names_exactly_its_parameters() -> None:
    for sql, params in (
        statement("matrix", city="Porto", genre="drama", date_from=date(2026, 1, 1), date_to=date(2026, 1, 2)),
        statement("matrix", kind="movie"),
    ):
        assert "WHERE d.tenant_id = :tenant" in sql
        assert "JOIN public.search_documents d ON d.tenant_id = :tenant" in sql
        assert params["tenant"] == "t1"
        assert set(re.findall(r"(?<![:\w]):([a-z_]+)", sql)) == set(params)
    fallback = fallback_sql(SearchRequest(text="matrx"), "matrx", tenant_id="t2", after=None)
    assert "WHERE d.tenant_id = :tenant" in fallback.sql and fallback.params["tenant"] == "t2"
    # a tenant on another shard: every table of the statement in that shard's schema, none left unqualified
    on_s1 = fallback_sql(SearchRequest(text="matrx"), "matrx", tenant_id="t2", after=None, schema="shard_s1")
    assert "FROM shard_s1.search_documents d" in on_s1.sql and "shard_s1.search_tombstones" in on_s1.sql
    assert "{S}" not in on_s1.sql and " search_documents" not in on_s1.sql and " search_tombstones" not in on_s1.sql


def test_filters_become_conditions_and_a_date_range_means_showtimes() -> None:
    sql, params = statement(
        "matrix", city="São Paulo", genre="sci-fi", date_from=date(2026, 12, 1), date_to=date(2026, 12, 7)
    )
    assert "search_fold(d.city) = search_fold(:city)" in sql
    assert ":genre = ANY (d.genres)" in sql
    assert "d.starts_at >= CAST(:date_from AS date)" in sql and "(CAST(:date_to AS date) + 1)" in sql
    assert params["kind"] == "showtime" and params["city"] == "São Paulo" and params["genre"] == "sci-fi"


def test_empty_date_ranges_are_valid_requests_that_select_nothing() -> None:
    """'from' after 'to', or a date range on movies or cinemas (which have no start), is schema-valid: it is not
    refused, and its SQL keeps both conditions, so it selects nothing."""
    inverted, _ = statement("x", date_from=date(2026, 2, 1), date_to=date(2026, 1, 1))
    assert "d.starts_at >= CAST(:date_from AS date)" in inverted and "(CAST(:date_to AS date) + 1)" in inverted
    on_movies, params = statement("x", kind="movie", date_from=date(2026, 2, 1))
    assert "d.starts_at >= CAST(:date_from AS date)" in on_movies and params["kind"] == "movie"


def test_ranking_is_bounded_by_the_cap_unless_asked_not_to_be() -> None:
    request = SearchRequest(text="matrix")
    bounded = search_sql(request, Terms.of("matrix"), tenant_id="t", language="pt", after=None, cap=500)
    unbounded = search_sql(request, Terms.of("matrix"), tenant_id="t", language="pt", after=None, cap=None)
    assert "LIMIT :cap" in bounded.sql and bounded.params["cap"] == 500
    assert "LIMIT :cap" not in unbounded.sql and "cap" not in unbounded.params
    assert "ORDER BY d.popularity DESC, d.doc_id" in bounded.sql
    assert bounded.params["page_size"] == 21 and bounded.params["language"] == "pt"


def test_a_cursor_continues_after_the_last_hit_by_score_then_id() -> None:
    request = SearchRequest(text="matrix", limit=5)
    after = cursors.Cursor(mode="f", score=1234, doc_id="mov_abc", fingerprint=request.fingerprint("matrix"))
    built = search_sql(request, Terms.of("matrix"), tenant_id="t", language="en", after=after)
    assert "(s.score < :after_score OR (s.score = :after_score AND s.doc_id > :after_id))" in built.sql
    assert built.params["after_score"] == 1234 and built.params["after_id"] == "mov_abc"


def test_a_statement_naming_a_parameter_without_a_value_fails_loudly() -> None:
    with pytest.raises(KeyError, match="missing"):
        used("SELECT :missing", {})
    assert used("SELECT x::text, :a", {"a": 1, "b": 2}) == {"a": 1}


def test_cursor_round_trips_and_is_bound_to_its_query() -> None:
    digest = cursors.fingerprint("matrix", None)
    cursor = cursors.Cursor(mode="t", score=99, doc_id="cin_0123456789abcdef", fingerprint=digest)
    text = cursors.encode(cursor)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", text)
    assert cursors.decode(text, expected_fingerprint=digest) == cursor
    with pytest.raises(BadCursor, match="another query"):
        cursors.decode(text, expected_fingerprint=cursors.fingerprint("matrix", "Porto"))


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "text",
    [
        "not base64!",
        "x" * 301,
        "AAAA",
        _b64([1, 2]),
        _b64({"v": 2, "m": "f", "s": 1, "d": "mov_a", "h": "0" * 16}),
        _b64({"v": 1, "m": "x", "s": 1, "d": "mov_a", "h": "0" * 16}),
        _b64({"v": 1, "m": "f", "s": -1, "d": "mov_a", "h": "0" * 16}),
        _b64({"v": 1, "m": "f", "s": True, "d": "mov_a", "h": "0" * 16}),
        _b64({"v": 1, "m": "f", "s": 1, "d": "'; DROP TABLE x", "h": "0" * 16}),
        _b64({"v": 1, "m": "f", "s": 1, "d": "mov_a", "h": "0" * 16, "extra": 1}),
    ],
)
def test_anything_that_is_not_an_issued_cursor_is_a_400(text: str) -> None:
    with pytest.raises(BadCursor) as caught:
        cursors.decode(text, expected_fingerprint="0" * 16)
    assert caught.value.status == 400
