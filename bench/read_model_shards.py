"""Tenant sharding's read side (challenge 9): one tenant's read models moved to another shard's schema under load.

An in-process local cloud (its RDS Data API over a real PostgreSQL: the embedded one, or ``--postgres-url``) gets a
migrated database. A tenant on s0 gets ``--showtimes`` showtimes of ``--seats`` seats each, one order and one search
document per showtime (rows written in bulk with SQL: the move copies rows, it does not care how they came). Then,
while one thread projects the tenant's events (a new hold per event, through ``marquee.projections.projector``: one
Data API transaction each) and another lists the tenant's showtimes through ``marquee.projections.queries``, the
tenant's read models are moved to s1 (``marquee.projections.shards.relocate``: one transaction) and the old rows are
cleaned up.

    python -m bench.read_model_shards                         # 200 showtimes x 250 seats (50,000 seat rows)
    python -m bench.read_model_shards --showtimes 1000        # 250,000 seat rows

Prints the relocation's time and rows/s, the projector's and the reader's latency for calls started before, during
and after it (an event started during it waits for its commit), and that no event was lost or applied twice and no
read failed; writes bench/read_model_shards.json. docs/benchmarks.md has the recorded run. Never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "layers" / "common" / "python")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

RESULTS_FILE = ROOT / "bench" / "read_model_shards.json"
TENANT = "bench-big"
PASSWORD = "bench-read-model-shards"  # noqa: S105 - a throwaway database's password


def _ms(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "n": len(ordered),
    }


def _database(endpoint: str) -> Any:
    from tests.aurora import migrated_database

    return migrated_database(endpoint, password=PASSWORD)


SEED = [
    """INSERT INTO public.rm_availability_showtimes_g1 (tenant_id, showtime_id, movie_id, auditorium_id, cinema_id,
        cinema_name, city, title, starts_at, price_amount, price_currency, capacity)
       SELECT :t, 'sht_' || s, 'mov_' || (s % 40), 'aud_1', 'cin_' || (s % 7), 'Cinema ' || (s % 7), 'Porto',
              'Movie ' || (s % 40), now() + s * interval '1 hour', 900, 'EUR', :seats
       FROM generate_series(1, :showtimes) s""",
    """INSERT INTO public.rm_availability_seats_g1 (tenant_id, showtime_id, seat_id, fence, stage, state, hold_id,
        order_id, lease_expires_at)
       SELECT :t, 'sht_' || s, 'S' || n, 1, 2, 'sold', 'h_' || s || '_' || n, 'ord_' || s, NULL
       FROM generate_series(1, :showtimes) s, generate_series(1, :seats) n""",
    """INSERT INTO public.rm_orders_orders_g1 (tenant_id, order_id, customer_id, status, rank, showtime_id, seat_ids,
        amount, currency, payment_id, reason, placed_at, updated_at)
       SELECT :t, 'ord_' || s, 'cust_' || (s % 50), 'CONFIRMED', 2, 'sht_' || s, ARRAY['S1'], 900, 'EUR', 'pay_' || s,
              NULL, now(), now()
       FROM generate_series(1, :showtimes) s""",
    """INSERT INTO public.search_documents (tenant_id, doc_id, kind, movie_id, title, synopsis, genres)
       SELECT :t, 'doc_' || s, 'movie', 'mov_' || s, 'Movie ' || s, 'A story about seat ' || s || ' in Porto',
              ARRAY['drama']
       FROM generate_series(1, :showtimes) s""",
    "INSERT INTO read_model_placement (tenant_id, shard) VALUES (:t, 's0')",
]


def run(endpoint: str, *, showtimes: int, seats: int) -> dict[str, Any]:
    from marquee.booking import events
    from marquee.messaging.events import envelope
    from marquee.projections import queries, shards
    from marquee.projections.projector import project

    api = _database(endpoint)
    started = time.perf_counter()
    for statement in SEED:
        api.execute(statement, {"t": TENANT, "showtimes": showtimes, "seats": seats})
    seeded_s = time.perf_counter() - started

    phase = {"name": "before"}
    project_ms: dict[str, list[float]] = {"before": [], "during": [], "after": []}
    read_ms: dict[str, list[float]] = {"before": [], "during": [], "after": []}
    failures: list[str] = []
    projected: list[str] = []
    stop = threading.Event()

    def projector() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            data = events.HoldCreated(
                hold_id=f"live_{n}", showtime_id="sht_live", customer_id="c", lease_expires_at_ms=int(
                    (time.time() + 3600) * 1000), seats=[events.HeldSeatData(seat_id=f"L{n}", fence=1)],
            )  # fmt: skip
            event = envelope(data, tenant_id=TENANT, correlation_id="bench")
            at, started_in = time.perf_counter(), phase["name"]
            try:
                project(api, event)
                projected.append(f"L{n}")
            except Exception as exc:  # noqa: BLE001 - every failure is a finding
                failures.append(f"project: {exc}")
            project_ms[started_in].append(time.perf_counter() - at)

    def reader() -> None:
        while not stop.is_set():
            at, started_in = time.perf_counter(), phase["name"]
            try:
                if len(queries.showtimes(api, TENANT, limit=20, cursor=None).items) != 20:
                    failures.append("read: a short page")
            except Exception as exc:  # noqa: BLE001
                failures.append(f"read: {exc}")
            read_ms[started_in].append(time.perf_counter() - at)

    threads = [threading.Thread(target=projector, daemon=True), threading.Thread(target=reader, daemon=True)]
    for thread in threads:
        thread.start()
    time.sleep(2.0)
    phase["name"] = "during"
    moved = shards.relocate(api, TENANT, "s1")
    phase["name"] = "after"
    time.sleep(shards.READ_STALENESS_S + 1.0)  # the readers' placement cache expires, as the mover waits
    clean_started = time.perf_counter()
    deleted = shards.clean(api, TENANT)
    clean_s = time.perf_counter() - clean_started
    time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    live = {
        str(r["seat_id"])
        for r in api.query(
            "SELECT seat_id FROM shard_s1.rm_availability_seats WHERE tenant_id = :t AND showtime_id = 'sht_live'",
            {"t": TENANT},
        )
    }
    logged = int(api.query("SELECT count(*) AS n FROM projection_events")[0]["n"])
    left = sum(
        int(api.query(f"SELECT count(*) AS n FROM {table} WHERE tenant_id = :t", {"t": TENANT})[0]["n"])  # noqa: S608
        for _logical, table in shards.tenant_tables(api, "public")
    )
    rows = sum(moved.rows.values())
    return {
        "showtimes": showtimes,
        "seats_per_showtime": seats,
        "seeded_rows": rows,
        "seed_s": round(seeded_s, 2),
        "relocate_s": moved.seconds,
        "rows_per_s": round(rows / moved.seconds) if moved.seconds else None,
        "rows_per_table": moved.rows,
        "clean_s": round(clean_s, 2),
        "deleted": deleted,
        "events_projected": len(projected),
        "events_logged": logged,
        "lost": len(set(projected) - live),
        "unacknowledged_in_s1": len(live - set(projected)),
        "rows_left_in_s0": left,
        "failures": failures[:5],
        "failure_count": len(failures),
        "project": {k: _ms(v) for k, v in project_ms.items()},
        "read": {k: _ms(v) for k, v in read_ms.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--showtimes", type=int, default=200)
    parser.add_argument("--seats", type=int, default=250)
    parser.add_argument("--postgres-url", default=os.environ.get("LOCALCLOUD_TEST_POSTGRES_URL"))
    args = parser.parse_args()

    from localcloud.server import LocalCloud, Settings
    from tests.cloud_process import free_port

    with tempfile.TemporaryDirectory() as state_dir:
        settings = Settings(port=free_port(), state_dir=Path(state_dir), quiet=True, postgres_url=args.postgres_url)
        cloud = LocalCloud(settings).start()
        try:
            result = run(settings.endpoint_url, showtimes=args.showtimes, seats=args.seats)
        finally:
            cloud.shutdown(deadline_s=5)
    print(json.dumps(result, indent=2))
    RESULTS_FILE.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
