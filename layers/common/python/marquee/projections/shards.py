"""The read side's shards (challenge 9): each shard's read models and search documents in the shard's own schema.

A tenant's DynamoDB items live in its shard's table (``marquee.sharding``); its read-model rows live in the same
shard's PostgreSQL schema: ``public`` for s0 (where they always were), ``shard_sN`` for the others. The registry
(``read_model_shards``, migration 0004) lists the schemas that exist, and the placement (``read_model_placement``) says
where each tenant's rows are; a tenant with no row is on s0.

- ``ensure``: a shard's schema with every live and building generation's tables, their views, and the search tables
  (``LIKE public.search_documents INCLUDING ALL``: the generated tsvector, defaults, checks and indexes), made once
  under the install lock;
- ``placed``: the writers' side, inside the caller's transaction. The tenant's placement row FOR SHARE, made on first
  sight from ``default`` (the projector passes the DynamoDB shard map's answer). Every event's transaction holds it
  until it commits, so a relocation (FOR UPDATE) waits for the events in flight and the next ones see the new schema;
- ``pin``: the mover's first step, before it copies anything in DynamoDB: the tenant's placement is written down as
  its current shard, so the map flipping later cannot send the tenant's next event to a schema its rows are not in;
- ``relocate``: after the DynamoDB flip, ONE transaction takes the placement FOR UPDATE (and the generations FOR
  SHARE, so no rebuild swaps meanwhile), copies the tenant's rows of every table to the target schema, compares count
  and checksum per table, and flips the placement. Nothing is lost: an event applied before it is in the copy, one
  applied after it goes to the target;
- ``clean``: the tenant's rows in every schema but its placement's are deleted: the mover runs it after the readers'
  placement cache (``ReadSchemas``, ``READ_STALENESS_S``) has expired, so a reader that looked the placement up just
  before the flip still finds its rows (as they were at the flip) instead of nothing;
- ``ReadSchemas``: the readers' side, the schema of a tenant with a bounded staleness (the queries and search
  functions have no DynamoDB access: the placement is their only map).

Schema names come only from shard ids checked against ``SHARD_ID`` here; every value is a parameter.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from marquee.core.errors import MarqueeError
from marquee.projections import store
from marquee.projections.models import PROJECTIONS
from marquee.relational.client import DataApi, Transaction

HOME = "s0"
HOME_SCHEMA = "public"
SHARD_ID = re.compile(r"^s[0-9]{1,3}$")
SEARCH_TABLES = ("search_documents", "search_tombstones")
READ_STALENESS_S = 5.0  # the readers' placement cache; the mover waits this out (and more) before ``clean``


class UnknownShard(MarqueeError):
    slug = "unknown-shard"
    title = "No such shard"


def qualify(sql: str, schema: str) -> str:
    """``sql`` with its ``{S}.`` table prefixes naming ``schema`` (a schema from ``schema_of``, never from input)."""
    return sql.replace("{S}.", f"{schema}.")


def schema_of(shard: str) -> str:
    if not SHARD_ID.fullmatch(shard):
        raise UnknownShard(f"{shard!r} is not a shard id (s0, s1, ...)")
    return HOME_SCHEMA if shard == HOME else f"shard_{shard}"


def registered(api: DataApi | Transaction) -> dict[str, str]:
    """Every shard whose schema exists, with its schema: ``{"s0": "public", "s1": "shard_s1"}``."""
    rows = api.query("SELECT shard, schema_name FROM read_model_shards ORDER BY shard")
    return {str(r["shard"]): str(r["schema_name"]) for r in rows}


def ensure(tx: Transaction, shard: str) -> str:
    """The schema of ``shard``, made (with every live and building generation, and the search tables) if missing."""
    schema = schema_of(shard)
    if tx.query("SELECT 1 AS x FROM read_model_shards WHERE shard = :s", {"s": shard}):
        return schema
    # the generations FOR SHARE before the install lock (the order every caller keeps): a rebuild cannot add or swap
    # one while this schema is made from them
    store.targets(tx)
    tx.execute("SELECT pg_advisory_xact_lock(:key)", {"key": store.INSTALL_LOCK_KEY})
    if tx.query("SELECT 1 AS x FROM read_model_shards WHERE shard = :s", {"s": shard}):
        return schema  # another transaction made it while this one waited for the lock
    tx.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for generation in store.generations(tx):
        if generation.state == "retired":
            continue
        names = generation.names_in(schema)
        store.create_tables(tx, names, PROJECTIONS[generation.projection])
        if generation.state == "live":
            store.show(tx, names)
    for table in SEARCH_TABLES:
        tx.execute(f"CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)")
    tx.execute("INSERT INTO read_model_shards (shard, schema_name) VALUES (:s, :n)", {"s": shard, "n": schema})
    return schema


LOCK_PLACEMENT = {
    False: "SELECT shard FROM read_model_placement WHERE tenant_id = :t FOR SHARE",
    True: "SELECT shard FROM read_model_placement WHERE tenant_id = :t FOR UPDATE",
}


def _locked(tx: Transaction, tenant: str, *, update: bool = False) -> str | None:
    rows = tx.query(LOCK_PLACEMENT[update], {"t": tenant})
    return str(rows[0]["shard"]) if rows else None


def placed(tx: Transaction, tenant: str, *, default: Callable[[], str] = lambda: HOME) -> str:
    """The schema the tenant's rows are written to, its placement held FOR SHARE until ``tx`` ends."""
    shard = _locked(tx, tenant)
    if shard is None:
        first = default()
        if first != HOME and has_rows(tx, tenant, HOME_SCHEMA):
            # rows projected before read models were sharded (or before the tenant moved under a mover that did not
            # move them) are in s0's schema: the tenant stays there until a move takes them (``marquee shards move``)
            first = HOME
        ensure(tx, first)
        tx.execute(
            "INSERT INTO read_model_placement (tenant_id, shard) VALUES (:t, :s) ON CONFLICT (tenant_id) DO NOTHING",
            {"t": tenant, "s": first},
        )
        shard = _locked(tx, tenant)
    assert shard is not None  # noqa: S101 - inserted just above, or by a transaction that committed first
    return schema_of(shard)


def has_rows(tx: Transaction | DataApi, tenant: str, schema: str) -> bool:
    """Whether ``schema`` holds any read-model or search row of the tenant."""
    for _logical, table in tenant_tables(tx, schema):
        if tx.query(f"SELECT 1 AS x FROM {table} WHERE tenant_id = :t LIMIT 1", {"t": tenant}):  # noqa: S608
            return True
    return False


def held(tx: Transaction, tenant: str) -> str:
    """The schema of the tenant's rows for a write outside the projector (a language reindex, a rebuild's replay),
    its placement held FOR SHARE. A tenant with rows but no placement row (projected before migration 0004) gets its
    s0 row first, so that a relocation starting meanwhile waits for this write instead of copying without it."""
    shard = _locked(tx, tenant)
    if shard is None and has_rows(tx, tenant, HOME_SCHEMA):
        tx.execute(
            "INSERT INTO read_model_placement (tenant_id, shard) VALUES (:t, :s) ON CONFLICT (tenant_id) DO NOTHING",
            {"t": tenant, "s": HOME},
        )
        shard = _locked(tx, tenant)
    return schema_of(shard or HOME)


def pin(api: DataApi, tenant: str, shard: str) -> str:
    """Write the tenant's placement down as ``shard`` unless it has one; answers the placement it has."""
    with api.transaction() as tx:
        placed(tx, tenant, default=lambda: shard)
        return _locked(tx, tenant) or shard


def placement(api: DataApi | Transaction, tenant: str) -> str:
    rows = api.query("SELECT read_model_shard(:t) AS shard", {"t": tenant})
    return str(rows[0]["shard"])


@dataclass
class Relocation:
    tenant: str
    source: str
    target: str
    rows: dict[str, int] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)
    already: bool = False
    seconds: float = 0.0


class RelocationMismatch(MarqueeError):
    slug = "relocation-mismatch"
    title = "Read-model copy does not match its source"


def tenant_tables(
    tx: Transaction | DataApi, schema: str, generations: list[store.Generation] | None = None
) -> Iterator[tuple[str, str]]:
    """(logical name, physical table) of every table in ``schema`` that holds tenant rows: each live and building
    generation of each read model (``generations``: read now if not given), then the search tables."""
    for generation in store.generations(tx) if generations is None else generations:
        if generation.state == "retired":
            continue
        names = generation.names_in(schema)
        for table in names.tables:
            yield f"{generation.projection}.{table}.g{generation.generation}", names[table]
    for table in SEARCH_TABLES:
        yield table, f"{schema}.{table}"


def _columns(tx: Transaction, table: str) -> str:
    """The table's stored columns (a generated one, the search tsvector, cannot be inserted: it is computed again)."""
    schema, name = table.split(".", 1)
    rows = tx.query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = :n "
        "AND is_generated = 'NEVER' ORDER BY ordinal_position",
        {"s": schema, "n": name},
    )
    return ", ".join(f'"{r["column_name"]}"' for r in rows)


def _digest(tx: Transaction, table: str, columns: str, tenant: str) -> tuple[int, str]:
    row = tx.query(
        f"SELECT count(*) AS n, coalesce(md5(string_agg(md5(ROW({columns})::text), '' ORDER BY md5(ROW({columns})::text))), '') AS h "  # noqa: E501,S608 - identifiers from the catalog
        f"FROM {table} WHERE tenant_id = :t",
        {"t": tenant},
    )[0]
    return int(row["n"]), str(row["h"])


def relocate(api: DataApi, tenant: str, target: str) -> Relocation:
    """Move the tenant's read-model rows to ``target``'s schema and flip its placement, in one transaction."""
    started = time.perf_counter()
    with api.transaction() as tx:
        store.targets(tx)  # the generations FOR SHARE: a rebuild cannot add or swap one while rows move
        target_schema = ensure(tx, target)
        tx.execute(  # a row to lock even for a tenant projected before migration 0004 (its rows are in s0)
            "INSERT INTO read_model_placement (tenant_id, shard) VALUES (:t, :s) ON CONFLICT (tenant_id) DO NOTHING",
            {"t": tenant, "s": HOME},
        )
        source = _locked(tx, tenant, update=True) or HOME
        report = Relocation(tenant=tenant, source=source, target=target)
        if source == target:
            report.already = True
            return report
        source_schema = schema_of(source)
        generations = store.generations(tx)  # one read: both schemas' tables from the same list
        for (logical, src), (_, dst) in zip(
            tenant_tables(tx, source_schema, generations), tenant_tables(tx, target_schema, generations), strict=True
        ):
            columns = _columns(tx, src)
            tx.execute(f"DELETE FROM {dst} WHERE tenant_id = :t", {"t": tenant})  # noqa: S608 - catalog names
            tx.execute(
                f"INSERT INTO {dst} ({columns}) SELECT {columns} FROM {src} WHERE tenant_id = :t",  # noqa: S608
                {"t": tenant},
            )
            before, after = _digest(tx, src, columns, tenant), _digest(tx, dst, columns, tenant)
            if before != after:
                raise RelocationMismatch(f"{logical}: {before} in {source_schema}, {after} in {target_schema}")
            report.rows[logical], report.checksums[logical] = before
        tx.execute("UPDATE read_model_placement SET shard = :s, placed_at = now() WHERE tenant_id = :t",
                   {"s": target, "t": tenant})  # fmt: skip
    report.seconds = round(time.perf_counter() - started, 4)
    return report


def clean(api: DataApi, tenant: str) -> int:
    """Delete the tenant's rows from every schema but its placement's; answers how many rows went."""
    deleted = 0
    with api.transaction() as tx:
        home = _locked(tx, tenant) or HOME
        for shard, schema in registered(tx).items():
            if shard == home:
                continue
            for _logical, table in tenant_tables(tx, schema):
                deleted += tx.execute(f"DELETE FROM {table} WHERE tenant_id = :t", {"t": tenant}).updated  # noqa: S608
    return deleted


def placements(api: DataApi) -> dict[str, str]:
    """Every tenant with a placement row, and its shard (a tenant without one is on s0)."""
    return {
        str(r["tenant_id"]): str(r["shard"]) for r in api.query("SELECT tenant_id, shard FROM read_model_placement")
    }


def rows_per_shard(api: DataApi) -> dict[str, dict[str, int]]:
    """Per shard: its tenants (placed there) and their read-model and search rows (``marquee shards status``)."""
    report: dict[str, dict[str, int]] = {}
    for shard, schema in registered(api).items():
        rows = 0
        for _logical, table in tenant_tables(api, schema):
            rows += int(api.query(f"SELECT count(*) AS n FROM {table}")[0]["n"])  # noqa: S608 - catalog names
        tenants = api.query("SELECT count(*) AS n FROM read_model_placement WHERE shard = :s", {"s": shard})[0]["n"]
        report[shard] = {"schema_rows": rows, "placed_tenants": int(tenants)}
    return report


class ReadModelMover:
    """The read side of ``marquee.sharding.mover.Mover`` (its ``read_models``): pin, relocate, clean; the mover waits
    out ``staleness_s`` (the readers' placement cache) before ``clean``."""

    staleness_s = READ_STALENESS_S

    def __init__(self, api: DataApi) -> None:
        self.api = api

    def pin(self, tenant: str, shard: str) -> str:
        return pin(self.api, tenant, shard)

    def placement(self, tenant: str) -> str:
        return placement(self.api, tenant)

    def relocate(self, tenant: str, target: str) -> dict[str, Any]:
        done = relocate(self.api, tenant, target)
        return {
            "source": done.source,
            "rows": done.rows,
            "checksums": done.checksums,
            "already": done.already,
            "seconds": done.seconds,
        }

    def clean(self, tenant: str) -> int:
        return clean(self.api, tenant)


class ReadSchemas:
    """The readers' placement cache: a tenant's schema, at most ``staleness_s`` old (a tenant with no placement row is
    not cached: its first event may place it anywhere)."""

    def __init__(self, staleness_s: float = READ_STALENESS_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.staleness_s = staleness_s
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, str], tuple[str, float]] = {}

    def schema(self, api: DataApi, tenant: str) -> str:
        key = (api.cluster_arn, api.database, tenant)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and self._clock() - hit[1] < self.staleness_s:
                return hit[0]
        rows = api.query("SELECT shard FROM read_model_placement WHERE tenant_id = :t", {"t": tenant})
        if not rows:
            return HOME_SCHEMA
        schema = schema_of(str(rows[0]["shard"]))
        with self._lock:
            self._cache[key] = (schema, self._clock())
        return schema

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


read_schemas = ReadSchemas()
"""The process's cache (one per execution environment)."""


def read_schema(api: DataApi, tenant: str) -> str:
    return read_schemas.schema(api, tenant)
