"""Apply one event to every read model, once: ONE Data API transaction per event.

1. read the generations to write (live and building), FOR SHARE;
2. insert the event into the log (the inbox): a redelivered event conflicts, nothing else runs, and it counts as done;
3. read the tenant's read-model shard FOR SHARE (``shards.placed``; made on first sight from the DynamoDB shard map);
4. apply it to each generation of each read model that handles its type, then to the search documents, in that
   shard's schema;
5. commit. A failure rolls all of it back, the log row included, so the queue's retry applies the event again whole.

Order between aggregates is never assumed (each apply is commutative, see ``models``), and order within one is only an
optimisation: the FIFO queue's message group (the aggregate's id) keeps one aggregate's events in order, which makes
the version checks rarely needed, not unneeded.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from marquee.messaging.events import Envelope
from marquee.projections import shards, store
from marquee.projections.models import PROJECTIONS
from marquee.relational.client import DataApi, Transaction
from marquee.search import documents
from marquee.sharding import routing

PROJECTED_TYPES = frozenset({t for p in PROJECTIONS.values() for t in p.handlers} | set(documents.SEARCH_HANDLERS))


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"  # a type no read model handles


def apply_to(tx: Transaction, generation: store.Generation, event: Envelope, schema: str = shards.HOME_SCHEMA) -> bool:
    handler = PROJECTIONS[generation.projection].handlers.get(event.type)
    if handler is None:
        return False
    handler(tx, generation.names_in(schema), event)
    return True


def map_shard(tenant_id: str) -> str:
    """The tenant's shard by the DynamoDB shard map (s0 when sharding is off): where a tenant's read models start."""
    router = routing.process_router()
    return router.current().shard_of(tenant_id) if router is not None else shards.HOME


def project(api: DataApi, event: Envelope, *, default_shard: Callable[[str], str] = map_shard) -> Outcome:
    if event.type not in PROJECTED_TYPES:
        return Outcome.IGNORED
    with api.transaction() as tx:
        generations = store.targets(tx)
        if store.log_event(tx, event) is None:
            return Outcome.DUPLICATE
        schema = shards.placed(tx, event.tenant_id, default=lambda: default_shard(event.tenant_id))
        for generation in generations:
            apply_to(tx, generation, event, schema)
        documents.apply_event(tx, event, schema=schema)
    return Outcome.APPLIED
