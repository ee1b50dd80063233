"""Search (challenge 14): a corpus bulk-loaded into Aurora, searched over HTTP with timing and highlights; type-ahead
and typo tolerance; another tenant never sees a document of it."""

from __future__ import annotations

import time

from devkit.search_corpus import TenantCorpus, load, local_conninfo
from devkit.tour import Tour, expect, scenario

TENANT = "tour-search"
DOCUMENTS = 5_000


@scenario("search: a bulk-loaded corpus answers ranked, highlighted, typo-tolerant searches; no other tenant sees it")
def _search(tour: Tour) -> list[str]:
    report = load(local_conninfo(tour.endpoint_url, tour.outputs), [TenantCorpus(TENANT, DOCUMENTS)])
    token = tour.token(TENANT, "reader")

    def search(q: str, tok: str = token, **params: str) -> tuple[dict, float]:
        started = time.perf_counter()
        response = tour.call("GET", "/search", token=tok, params={"q": q, **params})
        elapsed = (time.perf_counter() - started) * 1000
        expect(response.status_code == 200, f"GET /search?q={q} gave {response.status_code}: {response.text}")
        return response.json(), elapsed

    ranked, ranked_ms = search("retired detective")
    expect(ranked["match"] == "fulltext" and len(ranked["items"]) == 20, f"'retired detective': {ranked}")
    top = ranked["items"][0]
    expect("<mark>" in (top["highlights"]["synopsis"] or ""), f"no highlight in {top['highlights']}")
    typed, typed_ms = search("lighth")
    expect(any("Lighthouse" in h["title"] for h in typed["items"]), "type-ahead 'lighth' found no Lighthouse")
    typo, typo_ms = search("lighthose")
    expect(typo["match"] == "similar" and typo["items"], f"'lighthose' found nothing similar: {typo['match']}")
    other, _ = search("retired detective", tour.token("t2", "fiona"))
    expect(other["items"] == [], f"tenant t2 saw {len(other['items'])} documents of {TENANT}")
    return [
        f"`marquee seed`'s bulk path: {report.documents:,} documents for {TENANT} in {report.total_seconds:.1f} s (COPY)",
        f"GET /search?q=retired detective -> {len(ranked['items'])} hits, next page: "
        f"{'yes' if ranked['nextCursor'] else 'no'}, {ranked_ms:.0f} ms over HTTP",
        f"  1. {top['kind']} {top['title']!r}: {top['highlights']['synopsis']}",
        f"GET /search?q=lighth (type-ahead) -> {typed['items'][0]['title']!r} ... in {typed_ms:.0f} ms",
        f"GET /search?q=lighthose (typo) -> match=similar, {typo['items'][0]['title']!r} in {typo_ms:.0f} ms",
        "tenant t2, same query -> 0 hits (every statement starts from the caller's tenant)",
    ]
