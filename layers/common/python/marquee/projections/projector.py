"""Apply one event to every read model, once: ONE Data API transaction per event.

1. read the generations to write (live and building), FOR SHARE;
2. insert the event into the log (the inbox): a redelivered event conflicts, nothing else runs, and it counts as done;
3. apply it to each generation of each read model that handles its type, then to the search documents;
4. commit. A failure rolls all of it back, the log row included, so the queue's retry applies the event again whole.

Order between aggregates is never assumed (each apply is commutative, see ``models``), and order within one is only an
optimisation: the FIFO queue's message group (the aggregate's id) keeps one aggregate's events in order, which makes
the version checks rarely needed, not unneeded.
"""

from __future__ import annotations

from enum import StrEnum

from marquee.messaging.events import Envelope
from marquee.projections import store
from marquee.projections.models import PROJECTIONS
from marquee.relational.client import DataApi, Transaction
from marquee.search import documents

PROJECTED_TYPES = frozenset({t for p in PROJECTIONS.values() for t in p.handlers} | set(documents.SEARCH_HANDLERS))


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"  # a type no read model handles


def apply_to(tx: Transaction, generation: store.Generation, event: Envelope) -> bool:
    handler = PROJECTIONS[generation.projection].handlers.get(event.type)
    if handler is None:
        return False
    handler(tx, generation.names, event)
    return True


def project(api: DataApi, event: Envelope) -> Outcome:
    if event.type not in PROJECTED_TYPES:
        return Outcome.IGNORED
    with api.transaction() as tx:
        generations = store.targets(tx)
        if store.log_event(tx, event) is None:
            return Outcome.DUPLICATE
        for generation in generations:
            apply_to(tx, generation, event)
        documents.apply_event(tx, event)
    return Outcome.APPLIED
