"""`marquee migrate-items holds`: the backfill of expand and contract (design question 2) against the deployed stack.

It rewrites every hold item still in the old shape (``seats`` list) into the new one (``seat_fences`` map) with
``marquee.dynamo.backfill``: conditional UpdateItems paced to ``--rate`` writes a second, ``--page-size`` items read at a
time, resumable from its checkpoint item in the ops table (``OpsTableName``) after a kill or a ``--max-pages`` stop,
and idempotent. ``--verify`` only counts the old-shape holds: 0 is what makes a ``contract`` deploy safe, and
``marquee deploy --hold-shape-phase contract`` runs the same count first and refuses while it is not 0. An operator's
tool, run with the caller's credentials (Scan and UpdateItem on the main table, GetItem and PutItem on the ops table),
not a function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devkit.layer import use_layer

OUTPUT_TABLE = "TableName"
OUTPUT_OPS_TABLE = "OpsTableName"
CHECKPOINT_NAME = "hold-seat-fences"
KINDS = ("holds",)


class MigrationNotPossible(Exception):
    pass


def _tables(outputs: dict[str, Any]) -> tuple[str, str]:
    table, ops = outputs.get(OUTPUT_TABLE), outputs.get(OUTPUT_OPS_TABLE)
    if not table or not ops:
        raise MigrationNotPossible("the deployed stack has no TableName/OpsTableName outputs: run `marquee deploy`")
    return str(table), str(ops)


def count_old_holds(endpoint_url: str, outputs: dict[str, Any], *, region: str | None = None) -> int:
    use_layer()
    from localcloud.aws import local_client
    from marquee.booking import hold_shape
    from marquee.dynamo.backfill import count_old

    table = outputs.get(OUTPUT_TABLE)
    if not table:
        raise MigrationNotPossible("the deployed stack has no TableName output: run `marquee deploy`")
    kwargs = {"region": region} if region else {}
    return count_old(local_client("dynamodb", endpoint_url, **kwargs), str(table), hold_shape.backfill_shape())


def migrate_holds(
    endpoint_url: str,
    outputs: dict[str, Any],
    *,
    rate: float,
    page_size: int,
    max_pages: int | None = None,
    progress: Callable[[Any], None] | None = None,
) -> Any:
    """One pass of the backfill (or the rest of an unfinished one); its ``BackfillReport``."""
    use_layer()
    from localcloud.aws import local_client
    from marquee.booking import hold_shape
    from marquee.dynamo.backfill import Checkpoint, Pacer, backfill

    table, ops = _tables(outputs)
    ddb = local_client("dynamodb", endpoint_url)
    return backfill(
        ddb,
        table,
        hold_shape.backfill_shape(),
        checkpoint=Checkpoint(ddb, ops, CHECKPOINT_NAME),
        pacer=Pacer(rate),
        page_size=page_size,
        max_pages=max_pages,
        progress=progress,
    )
