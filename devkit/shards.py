"""`marquee shards`: what each shard holds, moving a tenant with progress, and a balance report (challenge 9).

The shards are named by the stack's outputs ``ShardControlTableName``, ``ShardTableNames`` (comma-separated, s0
first) and ``ShardRingSize``, or by ``--control-table`` and ``--tables`` (all of them on the ring). The mover runs
here, with the caller's credentials (Scan, stream reads and writes on every shard table): an operator's tool, not a function.

When the stack has its Aurora database (outputs ``DbClusterArn``, ``DbSecretArn``, ``DbName``), a move also takes the
tenant's read models and search documents to the target shard's PostgreSQL schema (``marquee.projections.shards``)
through the Data API, and ``status`` counts each shard's read-model rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devkit.layer import use_layer

OUTPUT_CONTROL = "ShardControlTableName"
OUTPUT_TABLES = "ShardTableNames"
OUTPUT_RING = "ShardRingSize"


class ShardsNotConfigured(Exception):
    pass


def _tools(endpoint_url: str, outputs: dict[str, Any], control_table: str | None, tables: str | None) -> Any:
    use_layer()
    from localcloud.aws import local_client
    from marquee.sharding.control import ControlStore
    from marquee.sharding.mover import Mover
    from marquee.sharding.routing import default_map

    control_name = control_table or outputs.get(OUTPUT_CONTROL)
    table_list = tables or outputs.get(OUTPUT_TABLES)
    if not control_name or not table_list:
        raise ShardsNotConfigured(
            "no shard tables: the deployed stack has no ShardControlTableName/ShardTableNames outputs; "
            "pass --control-table and --tables"
        )
    ddb = local_client("dynamodb", endpoint_url)
    control = ControlStore(str(control_name), ddb)
    # The stack's first map, as its functions would store it (the ring's size comes with the tables, from the outputs).
    ring = outputs.get(OUTPUT_RING) if not tables else None
    names = [t.strip() for t in str(table_list).split(",") if t.strip()]
    shard_map = control.ensure(default_map(names, int(ring) if ring else None))
    read_models = _read_models(endpoint_url, outputs)
    mover = Mover(control, ddb, local_client("dynamodbstreams", endpoint_url), read_models=read_models)
    return control, mover, shard_map


def _read_models(endpoint_url: str, outputs: dict[str, Any]) -> Any:
    """The read side of a move, or None for a stack without its database (a multi-region cell, a bare table set)."""
    if not all(outputs.get(k) for k in ("DbClusterArn", "DbSecretArn", "DbName")):
        return None
    from devkit.projections import data_api
    from marquee.projections.shards import ReadModelMover

    return ReadModelMover(data_api(endpoint_url, outputs))


def status_report(endpoint_url: str, outputs: dict[str, Any], *, control_table: str | None, tables: str | None,
                  window_s: float) -> dict[str, Any]:  # fmt: skip
    use_layer()  # the layer's `marquee` is not installed in the CLI's environment
    from marquee.sharding.ops import balance, status

    control, mover, shard_map = _tools(endpoint_url, outputs, control_table, tables)
    rows = status(mover, shard_map, window_s=window_s)
    read_side: dict[str, dict[str, int]] = {}
    elsewhere: list[dict[str, str]] = []
    if mover.read_models is not None:
        from marquee.projections.shards import HOME, HOME_SCHEMA, has_rows, placements, rows_per_shard

        api = mover.read_models.api
        read_side = rows_per_shard(api)
        placed = placements(api)
        for r in rows:  # a tenant whose items and read models are on different shards (not while it moves)
            for tenant in r.items:
                if tenant in shard_map.moving:
                    continue
                if tenant in placed:
                    where = placed[tenant]
                else:  # no placement row: its rows, if any, are in s0's schema (projected before migration 0004)
                    where = HOME if r.shard != HOME and has_rows(api, tenant, HOME_SCHEMA) else r.shard
                if where != r.shard:
                    elsewhere.append({"tenant": tenant, "items": r.shard, "readModels": where})
    return {
        "mapVersion": shard_map.version,
        "moving": {t: m.model_dump() for t, m in shard_map.moving.items()},
        "shards": [
            {
                "shard": r.shard,
                "table": r.table,
                "role": r.role,
                "tenants": r.tenants,
                "items": sum(r.items.values()),
                "writesInWindow": sum(r.writes.values()),
                "topTenants": r.writes.most_common(3) or r.items.most_common(3),
                "readModels": read_side.get(r.shard, {"schema_rows": 0, "placed_tenants": 0}),
            }
            for r in rows
        ],
        "suggestions": [s.__dict__ for s in balance(rows)],
        "readModelsElsewhere": elsewhere,
        "moves": [
            {k: m.get(k) for k in ("tenant", "source", "target", "state", "fence_ms", "read_models")}
            for m in control.moves()
        ],
    }


def move_tenant(endpoint_url: str, outputs: dict[str, Any], tenant: str, target: str, *, control_table: str | None,
                tables: str | None, silo: bool, abort: bool,
                progress: Callable[[str, dict[str, Any]], None]) -> Any:  # fmt: skip
    _, mover, _ = _tools(endpoint_url, outputs, control_table, tables)
    mover.progress = progress
    return mover.abort(tenant) if abort else mover.move(tenant, target, silo=silo)
