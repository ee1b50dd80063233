"""Tenant sharding (challenge 9) on the deployed stack: a tenant moved from s0 (the main table) to s1 with
`marquee shards move` while customers hold seats and a reader reads, then served end to end from s1.

Every acknowledged hold is on s1 and audited once; no hold exists that was not acknowledged (a fenced write is
refused with 503 and retried by the client; nothing was written); no read failed. The fence's duration is printed,
not asserted (a shared machine's timings are not the code's). After the move the tenant's new movie, showtime and
hold are written on s1, reach the read model, and their events reach the audit log once (relayed from s1's stream).
The tenant's read models moved too: they are in s1's PostgreSQL schema only, with every acknowledged hold counted.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from typing import Any

import pytest
import requests

from devkit.projections import data_api
from devkit.shards import move_tenant, status_report
from localcloud.aws import local_client
from tests.e2e.booking_helpers import create_showtime, hold, token
from tests.e2e.drills import long_drill
from tests.waiting import wait_for

RUN = uuid.uuid4().hex[:6]
TENANT = f"shard-{RUN}"
WRITERS = 2
RETRYABLE = {429, 503}
PACE_S = 0.4  # each writer's pause after a hold: the seats must outlast a slow move (about 5 holds/s at most)


def shard_tables(deployed: dict[str, Any]) -> list[str]:
    return [t for t in deployed["outputs"]["ShardTableNames"].split(",") if t]


def tenant_items(deployed: dict[str, Any], table: str, tenant: str) -> list[dict[str, Any]]:
    ddb = local_client("dynamodb", deployed["endpoint"])
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "begins_with(pk, :p)",
        "ExpressionAttributeValues": {":p": {"S": f"TENANT#{tenant}#"}},
        "ConsistentRead": True,
    }
    items: list[dict[str, Any]] = []
    while True:
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def audited(deployed: dict[str, Any], table: str, tenant: str) -> list[dict[str, Any]]:
    return [
        json.loads(i["envelope"]["S"]) for i in tenant_items(deployed, table, tenant) if i["pk"]["S"].endswith("#AUDIT")
    ]


def hold_ids(items: list[dict[str, Any]]) -> set[str]:
    return {i["pk"]["S"].rsplit("#", 1)[1] for i in items if "#HOLD#" in i["pk"]["S"] and i["sk"]["S"] == "META"}


class Traffic:
    """Customers holding one seat per request (retrying 429 and 503, as a client told Retry-After would) and a reader
    reading back what they hold, until stopped."""

    def __init__(self, api: str, deployed: dict[str, Any], showtime_id: str, seats: list[str]) -> None:
        self.api, self.showtime_id = api, showtime_id
        self.tokens = [token(deployed, TENANT, f"mover-{n}") for n in range(WRITERS)]
        self.seats = [seats[n::WRITERS] for n in range(WRITERS)]
        self.acknowledged: list[str] = []
        self.first_writers: list[str] = []  # the reader reads these back (a customer reads only its own holds)
        self.statuses: Counter[int] = Counter()
        self.failed_reads: list[str] = []
        self.reads = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.writer, args=(n,), daemon=True) for n in range(WRITERS)]
        self.threads.append(threading.Thread(target=self.reader, daemon=True))
        self.started = self.finished = 0.0

    def writer(self, n: int) -> None:
        session = requests.Session()
        for seat in self.seats[n]:
            while not self.stop.is_set():
                response = hold(self.api, self.tokens[n], self.showtime_id, [seat], session)
                with self.lock:
                    self.statuses[response.status_code] += 1
                if response.status_code == 201:
                    with self.lock:
                        self.acknowledged.append(response.json()["holdId"])
                        if n == 0:
                            self.first_writers.append(response.json()["holdId"])
                    time.sleep(PACE_S)
                    break
                if response.status_code not in RETRYABLE:
                    break  # counted in statuses: the test fails on it
                time.sleep(min(float(response.headers.get("Retry-After", "1")), 1.0) / 2)
            if self.stop.is_set():
                return

    def reader(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            with self.lock:
                latest = self.first_writers[-1] if self.first_writers else None
            # the catalog and the hold (DynamoDB), and the listing (the read models, which move too)
            paths = [f"/showtimes/{self.showtime_id}", "/showtimes?limit=5", *([f"/holds/{latest}"] if latest else [])]
            for path in paths:
                response = session.get(f"{self.api}{path}", headers={"Authorization": self.tokens[0]}, timeout=60)
                self.reads += 1
                if response.status_code != 200:
                    self.failed_reads.append(f"{path}: {response.status_code} {response.text[:200]}")
            time.sleep(0.05)

    def __enter__(self) -> Traffic:
        self.started = time.monotonic()
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)
        self.finished = time.monotonic()


@long_drill(
    "a deploy-sized drill: two writers holding seats through a move, then the audit log's retries (up to 150 s)"
)
@pytest.mark.timeout(300)
def test_a_tenant_moved_to_s1_under_traffic_loses_no_write_and_then_serves_every_route_from_s1(
    api: str, deployed: dict[str, Any]
) -> None:
    s0, s1, *_ = shard_tables(deployed)
    show = create_showtime(api, deployed, TENANT, rows=20, per_row=25)  # 500 seats: more than the move will take
    seats = [f"{chr(ord('A') + r)}{c}" for r in range(20) for c in range(1, 26)]
    assert tenant_items(deployed, s0, TENANT), "a new tenant starts on s0 (the ring is s0 alone)"

    steps: list[str] = []
    with Traffic(api, deployed, show.showtime_id, seats) as traffic:
        wait_for(lambda: len(traffic.acknowledged) >= 5 or None, timeout=60, interval=0.2)  # traffic is flowing
        report = move_tenant(
            deployed["endpoint"], deployed["outputs"], TENANT, "s1", control_table=None, tables=None, silo=False,
            abort=False, progress=lambda step, _record: steps.append(step),
        )  # fmt: skip
        moved_at = len(traffic.acknowledged)
        wait_for(lambda: len(traffic.acknowledged) >= moved_at + 3 or None, timeout=60, interval=0.2)  # writes go on
    seconds = traffic.finished - traffic.started
    writes = sum(n for code, n in traffic.statuses.items() if code == 201)
    print(
        f"\nshard move under traffic: {report.state} {report.source} -> {report.target}; fence {report.fence_ms:.0f} ms;"
        f" {report.items} items verified (checksum {report.checksum}); {report.applied} stream records applied;"
        f" {report.repaired} repaired; {report.late} late; move {report.total_s:.1f} s; steps {' '.join(steps)}\n"
        f"traffic: {writes} holds acknowledged in {seconds:.1f} s ({writes / seconds:.1f} writes/s),"
        f" answers {dict(traffic.statuses)}, {traffic.reads} reads, {len(traffic.failed_reads)} failed"
    )
    assert report.state == "DONE" and (report.source, report.target) == ("s0", "s1")
    assert set(traffic.statuses) <= {201, *RETRYABLE}, traffic.statuses
    assert traffic.failed_reads == []
    assert len(traffic.acknowledged) == len(set(traffic.acknowledged)) == writes

    # No write lost, none invented: the holds on s1 are exactly the acknowledged ones; s0 keeps only the tombstone.
    on_s1 = tenant_items(deployed, s1, TENANT)
    assert hold_ids(on_s1) == set(traffic.acknowledged)
    left = tenant_items(deployed, s0, TENANT)
    assert [(i["pk"]["S"], i["sk"]["S"]) for i in left] == [(f"TENANT#{TENANT}#SHARD", "FENCE")]
    # Served end to end from s1: a new movie, showtime and hold are written there, listed by the read model, audited.
    staff = token(deployed, TENANT, "staff1", "staff")
    after = create_showtime(api, deployed, TENANT, rows=1, per_row=4)
    customer = token(deployed, TENANT, "after-move")
    held = hold(api, customer, after.showtime_id, ["A2"])
    assert held.status_code == 201, held.text
    hold_id = held.json()["holdId"]
    movie = requests.get(f"{api}/movies/{after.movie_id}", headers={"Authorization": staff}, timeout=30)
    assert movie.status_code == 200, movie.text
    written = json.dumps(tenant_items(deployed, s1, TENANT))
    assert after.movie_id in written and after.showtime_id in written and hold_id in written
    assert len(tenant_items(deployed, s0, TENANT)) == 1, "nothing new on s0"

    def listed() -> dict[str, Any] | None:
        response = requests.get(f"{api}/showtimes", params={"limit": 100}, headers={"Authorization": customer},
                                timeout=30)  # fmt: skip
        assert response.status_code == 200, response.text
        found = [i for i in response.json()["items"] if i["showtimeId"] == after.showtime_id]
        return found[0] if found and found[0]["availability"]["held"] == 1 else None

    assert wait_for(listed, timeout=60, interval=0.5)["availability"] == {"capacity": 4, "free": 3, "held": 1,
                                                                          "sold": 0}  # fmt: skip

    def events_of_the_new_hold() -> list[dict[str, Any]] | None:
        found = [e for e in audited(deployed, s1, TENANT) if e["data"].get("holdId") == hold_id]
        return found or None

    assert [e["type"] for e in wait_for(events_of_the_new_hold, timeout=60, interval=0.5)] == ["HoldCreated"]

    # Each acknowledged hold's event reached the audit log once (the relay read it from s0's or s1's stream).
    expected = {*traffic.acknowledged, hold_id}

    def created() -> Counter[str] | None:
        counts = Counter(e["data"]["holdId"] for e in audited(deployed, s1, TENANT) if e["type"] == "HoldCreated")
        return counts if set(counts) >= expected else None

    # Checked last: an audit append refused by the fence is retried after its queue's visibility timeout (60 s).
    counts = wait_for(created, timeout=150, interval=1.0)
    assert set(counts) == expected and set(counts.values()) == {1}

    status = status_report(deployed["endpoint"], deployed["outputs"], control_table=None, tables=None, window_s=300)
    by_shard = {row["shard"]: row for row in status["shards"]}
    assert by_shard["s1"]["tenants"] >= 1 and status["moving"] == {}
    assert by_shard["s1"]["readModels"]["placed_tenants"] >= 1

    # The read side moved with it: the tenant's read models are in s1's schema and nowhere else, and every
    # acknowledged hold (one seat each) is counted there, whether its event was projected before or after the move.
    assert report.read_model_rows and report.read_model_rows["availability.seats.g1"] >= 1
    db = data_api(deployed["endpoint"], deployed["outputs"])
    assert db.query("SELECT shard FROM read_model_placement WHERE tenant_id = :t", {"t": TENANT}) == [{"shard": "s1"}]

    def counted() -> int | None:
        rows = db.query(
            "SELECT count(*) AS n FROM shard_s1.rm_availability_seats WHERE tenant_id = :t AND showtime_id = :s "
            "AND state = 'held'",
            {"t": TENANT, "s": show.showtime_id},
        )
        return int(rows[0]["n"]) if int(rows[0]["n"]) >= writes else None

    assert wait_for(counted, timeout=60, interval=0.5) == writes
    for table in ("rm_availability_seats", "rm_availability_showtimes", "search_documents"):
        left = db.query(f"SELECT count(*) AS n FROM public.{table} WHERE tenant_id = :t", {"t": TENANT})  # noqa: S608
        assert left == [{"n": 0}], table
    print(
        f"read models: {sum(report.read_model_rows.values())} rows moved to s1's schema in"
        f" {report.read_model_s * 1000:.0f} ms; {report.read_model_rows_deleted} deleted from s0's"
    )
