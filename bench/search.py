"""Full-text search at scale (challenge 14): one tenant with N documents (1,000,000 by default) on the local cloud's
Aurora engine, loaded by the bulk path (`marquee seed --search-docs`), then:

- latency p50/p95/p99 in the database (the search statement itself, over a direct connection, no Data API) and through
  the API (GET /search: front door, authorizer, Lambda worker, Data API, engine) for the worst common term, rare terms,
  multi-term, phrase and prefix queries, top 20 ranked;
- bounded ranking (the production statement: rank the 1,000 most popular matches) against unbounded ranking (rank
  every match), and the recall@20 the bound costs (how many of the unbounded top 20 the bounded top 20 keeps);
- an ILIKE scan of the same tenant for the same words, side by side (what search without an index costs).

    python -m bench.search                      # fresh cloud in a temporary directory, deploy, load, measure
    python -m bench.search --docs 100000        # smaller
    python -m bench.search --endpoint http://localhost:4566 --no-load   # a running cloud with the corpus loaded

Figures are printed and written to bench/search.json; docs/benchmarks.md has the recorded run. Never asserted.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "layers" / "common" / "python")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from marquee.search.query import DEFAULT_CAP, SearchRequest, Terms, normalize, search_sql  # noqa: E402

TENANT = "bulk"
RESULTS_FILE = ROOT / "bench" / "search.json"
_PARAM = re.compile(r"(?<![:\w]):([a-z_]+)")


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000

    return {"p50_ms": at(50), "p95_ms": at(95), "p99_ms": at(99), "mean_ms": statistics.fmean(samples) * 1000}


def psycopg_sql(sql: str) -> str:
    """``:name`` placeholders (as the Data API takes them) as psycopg's ``%(name)s``."""
    return _PARAM.sub(lambda m: f"%({m.group(1)})s", sql.replace("%", "%%"))


def statement(text: str, cap: int | None) -> tuple[str, dict[str, Any]]:
    built = search_sql(
        SearchRequest(text=text), Terms.of(normalize(text)), tenant_id=TENANT, language="en", after=None, cap=cap
    )
    return psycopg_sql(built.sql), built.params


def time_db(conn: Any, text: str, cap: int | None, n: int) -> tuple[dict[str, float], list[int], int]:
    """Latency of the search statement, the scores of its top 20, and how many documents match."""
    sql, params = statement(text, cap)
    scores: list[int] = []
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        rows = conn.execute(sql, params).fetchall()
        samples.append(time.perf_counter() - started)
        scores = [int(r[0]) for r in rows[:20]]
    count = f"SELECT count(*) FROM search_documents d WHERE d.tenant_id = :tenant AND d.document @@ {_tsq(text)}"  # noqa: S608
    matches = conn.execute(
        psycopg_sql(count),
        {k: v for k, v in params.items() if k in ("tenant", "language", "q", "head", "last", "last_prefix")},
    ).fetchone()[0]
    return percentiles(samples), scores, int(matches)


def _tsq(text: str) -> str:
    from marquee.search.query import tsquery

    return tsquery(Terms.of(normalize(text)))


def recall_at_20(bounded: list[int], unbounded: list[int]) -> float:
    """The share of the true top 20 (unbounded) that the bounded top 20 matches, by score: many documents tie (the
    showtimes of one movie share its text and popularity), so a bounded hit scoring at least the true 20th is as good
    as any of the true top 20."""
    if not unbounded:
        return 1.0
    floor = min(unbounded)
    return sum(1 for s in bounded if s >= floor) / len(unbounded)


def time_ilike(conn: Any, words: list[str], n: int) -> dict[str, float]:
    """The same words with ILIKE over the same columns: every word somewhere in the row, the 20 most popular."""
    conditions = " AND ".join(
        f"(title ILIKE %(w{i})s OR cast_names ILIKE %(w{i})s OR director ILIKE %(w{i})s OR synopsis ILIKE %(w{i})s "
        f"OR city ILIKE %(w{i})s)"
        for i in range(len(words))
    )
    sql = (
        f"SELECT doc_id FROM search_documents WHERE tenant_id = %(tenant)s AND {conditions} "  # noqa: S608 - bound words
        "ORDER BY popularity DESC, doc_id LIMIT 20"
    )
    params: dict[str, Any] = {"tenant": TENANT, **{f"w{i}": f"%{w}%" for i, w in enumerate(words)}}
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        conn.execute(sql, params).fetchall()
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def time_api(api: str, token: str, text: str, n: int) -> dict[str, float]:
    import requests

    session = requests.Session()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = session.get(f"{api}/search", params={"q": text}, headers={"Authorization": token}, timeout=60)
        samples.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"GET /search {text!r}: {response.status_code} {response.text}")
    return percentiles(samples)


def api_line(figures: dict[str, float]) -> str:
    return f" | API p50 {figures['p50_ms']:.1f} p95 {figures['p95_ms']:.1f} p99 {figures['p99_ms']:.1f}"


def pick_terms(conn: Any) -> dict[str, str]:
    """The worst common lexeme (from a 20,000-document sample of the tenant) and a rare one (the least frequent word of
    the 2,000 least popular movies: a made-up name that only they and their few showtimes carry)."""
    common = conn.execute(
        "SELECT word FROM ts_stat($$SELECT document FROM search_documents WHERE tenant_id = 'bulk' "
        "ORDER BY doc_id DESC LIMIT 20000$$) WHERE length(word) > 2 ORDER BY ndoc DESC, word LIMIT 1"
    ).fetchone()[0]
    rare = conn.execute(
        "SELECT word FROM ts_stat($$SELECT document FROM search_documents WHERE tenant_id = 'bulk' AND kind = 'movie' "
        "ORDER BY popularity, doc_id LIMIT 2000$$) WHERE length(word) > 5 ORDER BY ndoc, word LIMIT 1"
    ).fetchone()[0]
    return {"common": common, "rare": rare}


def run(conninfo: dict[str, Any], api: str | None, token: str | None, *, n_db: int, n_api: int) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(**conninfo, autocommit=True, prepare_threshold=None) as conn:
        total = conn.execute("SELECT count(*) FROM search_documents WHERE tenant_id = %s", (TENANT,)).fetchone()[0]
        terms = pick_terms(conn)
        queries = {
            "worst common term": terms["common"],
            "rare term": terms["rare"],
            "multi-term": "silent harbor detective",
            "phrase": '"retired detective"',
            "prefix (type-ahead)": "lighth",
            "multi-term + prefix": "frozen lan",
        }
        rows = []
        for label, text in queries.items():
            bounded, bounded_scores, matches = time_db(conn, text, DEFAULT_CAP, n_db)
            unbounded, unbounded_scores, _ = time_db(conn, text, None, 5)
            recall = recall_at_20(bounded_scores, unbounded_scores)
            words = [w for w in re.findall(r"[^\W_]+", text)]
            ilike = time_ilike(conn, words, 5)
            row = {
                "query": label,
                "text": text,
                "matches": matches,
                "db_bounded": bounded,
                "db_unbounded": unbounded,
                "recall_at_20": recall,
                "ilike": ilike,
                "ilike_ratio_p50": ilike["p50_ms"] / bounded["p50_ms"],
            }
            if api and token:
                row["api"] = time_api(api, token, text, n_api)
            rows.append(row)
            print(
                f"{label:24} {text!r:28} matches {matches:>8,}  db p50 {bounded['p50_ms']:7.2f} p95 "
                f"{bounded['p95_ms']:7.2f} p99 {bounded['p99_ms']:7.2f} ms | unbounded p50 {unbounded['p50_ms']:8.1f} ms"
                f" recall@20 {recall:.2f} | ILIKE p50 {ilike['p50_ms']:8.1f} ms ({row['ilike_ratio_p50']:.0f}x)"
                + (api_line(row["api"]) if "api" in row else ""),
                flush=True,
            )
    return {"tenant_documents": total, "cap": DEFAULT_CAP, "queries": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--endpoint", help="a running local cloud with the stack deployed")
    parser.add_argument(
        "--outputs", type=Path, help="with --endpoint: the deploy's outputs file (default .localcloud's)"
    )
    parser.add_argument("--no-load", action="store_true", help="use the corpus already loaded")
    parser.add_argument("--n-db", type=int, default=100)
    parser.add_argument("--n-api", type=int, default=40)
    args = parser.parse_args()

    from bench.stack import deployed_stack
    from devkit.identity import ApiClient
    from devkit.search_corpus import default_corpora, load, local_conninfo

    results: dict[str, Any] = {"docs": args.docs}
    with deployed_stack(args.endpoint, prefix="bench-search-", outputs_file=args.outputs) as stack:
        endpoint, outputs = stack.endpoint, stack.outputs
        if stack.deploy_seconds is not None:
            results["deploy_seconds"] = stack.deploy_seconds
        conninfo = local_conninfo(endpoint, outputs)
        if not args.no_load:
            report = load(conninfo, default_corpora(args.docs), on_phase=lambda p: print(f"seed: {p}", flush=True))
            results["seed"] = {
                "documents": report.documents,
                "total_seconds": report.total_seconds,
                "copy_seconds": report.copy_seconds,
                "index_seconds": report.index_seconds,
            }
            print(
                f"seed: {report.documents:,} documents in {report.total_seconds:.1f} s "
                f"(COPY {report.copy_seconds:.1f} s, indexes + ANALYZE {report.index_seconds:.1f} s)",
                flush=True,
            )
        client = ApiClient(endpoint, outputs)
        api = stack.api
        token = client.token(TENANT, "bench", "customer")
        results.update(run(conninfo, api, token, n_db=args.n_db, n_api=args.n_api))
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS_FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
