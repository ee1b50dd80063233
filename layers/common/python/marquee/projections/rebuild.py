"""Rebuild a read model with no downtime: a new generation, replayed from the event log, compared, swapped in.

1. **Add** generation N+1 (state ``building``) and its tables, holding the live row FOR UPDATE: every projector
   transaction that started before waits to finish first, and every one after writes N+1 too.
2. **Replay** the event log into N+1 only, in log order, a batch per transaction. Live events reach N+1 at the same
   time through the projector; both paths are idempotent and commutative (``models``), so their overlap is harmless.
3. **Swap**, in one transaction: the live row FOR UPDATE again (projector writes pause for its length, reads go on),
   compare N+1 with N column by column (both ways, ``EXCEPT ALL``); if they differ, roll back and leave N live and
   N+1 building for inspection. If they match, N+1 becomes live, N retired, and the views point at N+1.
4. **Drop** N's tables.

Readers query the views throughout, so they never see a missing or half-built model. Each step covers every
read-model shard's schema (``marquee.projections.shards``): the replay writes each event to its tenant's schema, and
the comparison is per schema, over the tenants placed there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from marquee.core.errors import MarqueeError
from marquee.messaging.events import Envelope
from marquee.projections import shards, store
from marquee.projections.models import PROJECTIONS, Names, Projection
from marquee.projections.projector import apply_to
from marquee.relational.client import DataApi, Transaction

REPLAY_BATCH = 200


class RebuildError(MarqueeError):
    slug = "rebuild-failed"
    title = "Read model rebuild failed"


class UnknownProjection(RebuildError):
    slug = "unknown-projection"
    title = "No such read model"


@dataclass(frozen=True)
class RebuildReport:
    projection: str
    old_generation: int
    new_generation: int
    events_replayed: int
    rows: dict[str, int]
    differences: dict[str, int]
    replay_seconds: float
    swap_seconds: float


def _live_row(tx: Transaction, name: str) -> int:
    rows = tx.query(
        "SELECT generation FROM projection_generations WHERE projection = :p AND state = 'live' FOR UPDATE",
        {"p": name},
    )
    if not rows:
        raise RebuildError(f"{name} has no live generation; run the migrate function first")
    return int(rows[0]["generation"])


def differences(
    tx: Transaction | DataApi, projection: Projection, a: Names, b: Names, shard: str = shards.HOME
) -> dict[str, int]:
    """Rows of each table that are in one generation and not the other (0 everywhere: the same model), counting only
    the tenants placed on ``shard`` (the schema of ``a`` and ``b``): a moved tenant's rows left in its old schema until
    the mover's clean-up are not part of that shard's model."""
    found: dict[str, int] = {}
    owned = "WHERE read_model_shard(tenant_id) = :shard"
    for table, columns in projection.columns.items():
        sql = (
            f"SELECT count(*) AS n FROM ((SELECT {columns} FROM {a[table]} {owned} "  # noqa: S608 - own names
            f"EXCEPT ALL SELECT {columns} FROM {b[table]} {owned}) "
            f"UNION ALL (SELECT {columns} FROM {b[table]} {owned} EXCEPT ALL SELECT {columns} FROM {a[table]} {owned})) d"
        )
        found[table] = int(tx.query(sql, {"shard": shard})[0]["n"])
    return found


def rebuild(
    api: DataApi,
    name: str,
    *,
    batch: int = REPLAY_BATCH,
    progress: Callable[[int], None] | None = None,
    before_swap: Callable[[], None] | None = None,
) -> RebuildReport:
    projection = PROJECTIONS.get(name)
    if projection is None:
        raise UnknownProjection(f"No read model {name!r}; there are {', '.join(sorted(PROJECTIONS))}.")

    # 1. add the building generation
    with api.transaction() as tx:
        old = _live_row(tx, name)
        # after the live row (as the projector takes its rows before this lock): no shard schema is made meanwhile
        # without this generation's tables (``shards.ensure`` takes the same lock)
        tx.execute("SELECT pg_advisory_xact_lock(:key)", {"key": store.INSTALL_LOCK_KEY})
        tx.execute("DELETE FROM projection_generations WHERE projection = :p AND state = 'building'", {"p": name})
        top = tx.query("SELECT max(generation) AS g FROM projection_generations WHERE projection = :p", {"p": name})
        new = int(top[0]["g"]) + 1
        schemas = shards.registered(tx)  # a shard made later copies the building generation from the registry
        for schema in schemas.values():
            names = projection.names(new, schema)
            for table in names.tables:
                tx.execute(f"DROP TABLE IF EXISTS {names[table]}")
            store.create_tables(tx, names, projection)
        tx.execute(
            "INSERT INTO projection_generations (projection, generation, state) VALUES (:p, :g, 'building')",
            {"p": name, "g": new},
        )
    building = store.Generation(name, new, "building")

    # 2. replay the log into it
    started = time.perf_counter()
    types = sorted(projection.handlers)
    type_params = {f"t{i}": t for i, t in enumerate(types)}
    type_list = ", ".join(f":t{i}" for i in range(len(types)))
    last, replayed = 0, 0
    while True:
        rows = api.query(
            f"SELECT seq, envelope::text AS envelope FROM projection_events WHERE seq > :last AND type IN ({type_list}) "  # noqa: S608
            "ORDER BY seq LIMIT :n",
            {"last": last, "n": batch, **type_params},
        )
        if not rows:
            break
        with api.transaction() as tx:
            for row in rows:
                event = Envelope.model_validate_json(str(row["envelope"]))
                apply_to(tx, building, event, shards.held(tx, event.tenant_id))
        last = int(rows[-1]["seq"])
        replayed += len(rows)
        if progress is not None:
            progress(replayed)
    replay_seconds = time.perf_counter() - started
    if before_swap is not None:
        before_swap()

    # 3. compare and swap, with projector writes paused
    started = time.perf_counter()
    with api.transaction() as tx:
        _live_row(tx, name)
        schemas = shards.registered(tx)
        diff = dict.fromkeys(projection.columns, 0)
        for shard, schema in schemas.items():
            found = differences(tx, projection, projection.names(old, schema), projection.names(new, schema), shard)
            diff = {t: diff[t] + n for t, n in found.items()}
        if any(diff.values()):
            raise RebuildError(f"generation {new} differs from the live {old}: {diff}; {old} stays live")
        tx.execute(
            "UPDATE projection_generations SET state = 'retired' WHERE projection = :p AND generation = :g",
            {"p": name, "g": old},
        )
        tx.execute(
            "UPDATE projection_generations SET state = 'live', live_at = now() WHERE projection = :p AND generation = :g",
            {"p": name, "g": new},
        )
        counts = dict.fromkeys(projection.tables, 0)
        for schema in schemas.values():
            names = projection.names(new, schema)
            store.show(tx, names)
            for t in names.tables:
                counts[t] += int(tx.query(f"SELECT count(*) AS n FROM {names[t]}")[0]["n"])  # noqa: S608 - own names
    swap_seconds = time.perf_counter() - started

    # 4. drop the old generation
    with api.transaction() as tx:
        for schema in shards.registered(tx).values():
            old_names = projection.names(old, schema)
            for table in old_names.tables:
                tx.execute(f"DROP TABLE IF EXISTS {old_names[table]}")
    return RebuildReport(
        projection=name,
        old_generation=old,
        new_generation=new,
        events_replayed=replayed,
        rows=counts,
        differences=diff,
        replay_seconds=replay_seconds,
        swap_seconds=swap_seconds,
    )
