"""Cross-service integrity (design question 8): a reconciler that compares orders, seats, payments and the payment
providers' ledgers, reports the drift it finds with the ids involved, and settles the one case that can be settled
without a person: a charge whose outcome was unknown, once its provider answers again.

- ``snapshot``: what the stores hold (one paginated scan of the main table, the providers' ledgers);
- ``checks``: pure functions from a snapshot to drift items (unit-testable, no I/O);
- ``reconciler``: one run: ledgers first, then the table, settle what can be settled, check, report;
- ``store``: the run reports, in the ops table.
"""

from __future__ import annotations

from marquee.integrity.models import Drift, DriftKind, IntegrityReport, Repair
from marquee.integrity.reconciler import ReconcilerDeps, reconcile

__all__ = ["Drift", "DriftKind", "IntegrityReport", "ReconcilerDeps", "Repair", "reconcile"]
