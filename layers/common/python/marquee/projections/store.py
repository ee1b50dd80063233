"""The projector's tables: the event log (inbox and history), the generations registry, and the views readers query.

- ``install``: each read model without a live generation gets one (its tables and views), under an advisory lock.
  The migrate function calls it after the SQL migrations, so a fresh stack has every read model.
- ``targets``: the generations an event must be applied to (live and building), read FOR SHARE in the event's own
  transaction: a rebuild that adds or swaps a generation waits for that transaction, and the next one sees the change.
- ``log_event``: the event's row in ``projection_events``; ``None`` when the id is there already (a redelivery).
- ``show``: the views of one generation, replaced in the caller's transaction (readers never see a missing view).

Each generation's tables and views exist once per read-model shard, in the shard's schema (``shard_schemas``;
``marquee.projections.shards``); the registry of generations is one for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from marquee.messaging.events import Envelope
from marquee.projections.models import PROJECTIONS, Names, Projection
from marquee.relational.client import DataApi, Transaction

INSTALL_LOCK_KEY = 0x4D51_5250_524F_4A  # any constant every installer and rebuild shares


@dataclass(frozen=True)
class Generation:
    projection: str
    generation: int
    state: str

    @property
    def names(self) -> Names:
        return self.names_in("public")

    def names_in(self, schema: str) -> Names:
        """This generation's tables in one shard's schema (``marquee.projections.shards``)."""
        return PROJECTIONS[self.projection].names(self.generation, schema)


def create_tables(tx: Transaction, names: Names, projection: Projection) -> None:
    for statement in projection.ddl(names):
        tx.execute(statement)


def show(tx: Transaction, names: Names) -> None:
    """Point each view of the projection at ``names``' tables (drop and create: a new generation may add columns)."""
    for table in names.tables:
        tx.execute(f"DROP VIEW IF EXISTS {names.view(table)}")
        tx.execute(f"CREATE VIEW {names.view(table)} AS SELECT * FROM {names[table]}")  # noqa: S608 - own names


def install(api: DataApi) -> list[str]:
    """Give every read model a live generation if it has none; returns the names of those created."""
    created: list[str] = []
    with api.transaction() as tx:
        tx.execute("SELECT pg_advisory_xact_lock(:key)", {"key": INSTALL_LOCK_KEY})
        live = {r["projection"] for r in tx.query("SELECT projection FROM projection_generations WHERE state = 'live'")}
        for projection in PROJECTIONS.values():
            if projection.name in live:
                continue
            rows = tx.query(
                "SELECT coalesce(max(generation), 0) AS g FROM projection_generations WHERE projection = :p",
                {"p": projection.name},
            )
            generation = int(rows[0]["g"]) + 1
            for schema in shard_schemas(tx):
                names = projection.names(generation, schema)
                create_tables(tx, names, projection)
                show(tx, names)
            tx.execute(
                "INSERT INTO projection_generations (projection, generation, state, live_at) "
                "VALUES (:p, :g, 'live', now())",
                {"p": projection.name, "g": generation},
            )
            created.append(projection.name)
    return created


def shard_schemas(api: DataApi | Transaction) -> list[str]:
    """The schema of every read-model shard that exists (``public`` first: shard s0; migration 0004)."""
    rows = api.query("SELECT schema_name FROM read_model_shards ORDER BY shard")
    return [str(r["schema_name"]) for r in rows] or ["public"]


def targets(tx: Transaction) -> list[Generation]:
    rows = tx.query(
        "SELECT projection, generation, state FROM projection_generations "
        "WHERE state IN ('live', 'building') ORDER BY projection, generation FOR SHARE"
    )
    return [Generation(str(r["projection"]), int(r["generation"]), str(r["state"])) for r in rows]


def generations(api: DataApi | Transaction) -> list[Generation]:
    rows = api.query("SELECT projection, generation, state FROM projection_generations ORDER BY projection, generation")
    return [Generation(str(r["projection"]), int(r["generation"]), str(r["state"])) for r in rows]


def log_event(tx: Transaction, event: Envelope) -> int | None:
    rows = tx.query(
        """INSERT INTO projection_events (event_id, tenant_id, type, occurred_at, envelope)
           VALUES (:id, :tenant, :type, :occurred AT TIME ZONE 'UTC', CAST(:envelope AS jsonb))
           ON CONFLICT (event_id) DO NOTHING RETURNING seq""",
        {
            "id": event.id,
            "tenant": event.tenant_id,
            "type": event.type,
            "occurred": event.occurred_at,
            "envelope": event.to_json(),
        },
    )
    return int(rows[0]["seq"]) if rows else None
