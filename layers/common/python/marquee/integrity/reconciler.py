"""One reconciler run: read the ledgers, scan the table, settle what can be settled, check every invariant, report.

What it repairs on its own, and why only that:
- a charge attempt left **ambiguous** (its provider timed out, the caller gave up: docs/patterns/02's open case) is
  settled by asking the pinned provider (``marquee.payments.settle_unknown``), once the attempt is older than the
  grace period (so no request of it can still be on its way) and the provider answers;
- a saga payment **captured for a FAILED order** is refunded with the saga's own refund key (``refund:{orderId}``):
  this is the saga's compensation finishing late (its RefundPayment found nothing to refund while the charge was
  unknown), and the same key makes it one refund however often it runs.
Everything else is reported with its ids, never "fixed": a seat sold without a payment or a charge nothing of ours
knows needs a person to decide whose truth wins.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from marquee.booking.orders import OrderStatus
from marquee.core.logs import Logger
from marquee.integrity.checks import check, is_saga_payment, saga_refund_key
from marquee.integrity.models import Drift, DriftKind, IntegrityReport, Repair
from marquee.integrity.snapshot import Snapshot, add_item, scan_items
from marquee.integrity.store import ReportStore
from marquee.payments import PaymentError, Settlement, refund, settle_unknown
from marquee.payments.config import PaymentsDeps
from marquee.payments.models import PaymentStatus
from marquee.payments.provider import ProviderNotReached, ProviderOutcomeUnknown

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

logger = Logger(child=True)  # masked: logs through the function's Logger (marquee.core.logs)


@dataclass(frozen=True)
class ReconcilerDeps:
    table_name: str
    client: DynamoDBClient
    payments: PaymentsDeps
    reports: ReportStore
    grace: timedelta
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


def reconcile(deps: ReconcilerDeps) -> IntegrityReport:
    started = deps.clock()
    began = time.perf_counter()
    snapshot = Snapshot()
    unreadable: list[str] = []
    for name, provider in deps.payments.providers.items():  # ledgers first: see marquee.integrity.snapshot
        try:
            snapshot.ledgers[name] = provider.list_charges()
        except (ProviderNotReached, ProviderOutcomeUnknown) as exc:
            unreadable.append(name.value)
            logger.warning("payment provider ledger unreadable; its checks are skipped", extra={"error": str(exc)})
    for item in scan_items(deps.client, deps.table_name):
        add_item(snapshot, item)

    cutoff = started - deps.grace
    repairs: list[Repair] = []
    drift: list[Drift] = _settle_unknown_outcomes(snapshot, deps, cutoff, repairs)
    _refund_failed_orders(snapshot, deps, cutoff, repairs)
    drift += check(snapshot, now=started, grace=deps.grace)
    report = IntegrityReport(
        run_id=uuid.uuid4().hex[:12],
        started_at=started.isoformat(),
        duration_ms=int((time.perf_counter() - began) * 1000),
        scanned=snapshot.counts(),
        unreadable_providers=unreadable,
        drift=drift,
        repairs=repairs,
    )
    deps.reports.save(report, now_s=int(started.timestamp()))
    return report


def _settle_unknown_outcomes(
    snapshot: Snapshot, deps: ReconcilerDeps, cutoff: datetime, repairs: list[Repair]
) -> list[Drift]:
    drift: list[Drift] = []
    for key, pending in list(snapshot.attempts.items()):
        attempt = pending.attempt
        if not attempt.ambiguous or key in snapshot.payments:
            continue
        if attempt.claimed_at_s is None or attempt.claimed_at_s > cutoff.timestamp():
            continue  # too recent: a request of it may still be on its way to the provider
        outcome = settle_unknown(pending.tenant_id, pending.payment_id, deps=deps.payments)
        order_id = attempt.details.order_id if attempt.details else None
        ids = {"tenant_id": pending.tenant_id, "payment_id": pending.payment_id, "order_id": order_id}
        if outcome.settlement is Settlement.STILL_UNKNOWN:
            drift.append(
                Drift(
                    kind=DriftKind.OUTCOME_UNKNOWN,
                    **ids,
                    provider=attempt.provider.value if attempt.provider else None,
                    detail=outcome.detail,
                )
            )
            continue
        if outcome.payment is not None:
            snapshot.payments[key] = outcome.payment
            del snapshot.attempts[key]
        if outcome.settlement in (Settlement.CAPTURED, Settlement.DECLINED, Settlement.NOT_CHARGED):
            repairs.append(
                Repair(
                    action=f"settled-{outcome.settlement.value.lower().replace('_', '-')}",
                    tenant_id=pending.tenant_id,
                    payment_id=pending.payment_id,
                    order_id=order_id,
                    detail=outcome.detail,
                )
            )
    return drift


def _refund_failed_orders(snapshot: Snapshot, deps: ReconcilerDeps, cutoff: datetime, repairs: list[Repair]) -> None:
    for key, payment in list(snapshot.payments.items()):
        if payment.status is not PaymentStatus.CAPTURED or not is_saga_payment(payment) or payment.order_id is None:
            continue
        order = snapshot.orders.get((payment.tenant_id, payment.order_id))
        if order is None or order.status is not OrderStatus.FAILED or datetime.fromisoformat(order.created_at) > cutoff:
            continue
        try:
            refunded = refund(
                payment.tenant_id,
                payment.client_id,
                saga_refund_key(payment.order_id),
                payment.payment_id,
                deps=deps.payments,
            )
        except PaymentError as exc:  # the provider is down: reported by the checks, tried again next run
            logger.warning(
                "refund of a failed order's payment not done",
                extra={"payment_id": payment.payment_id, "error": str(exc)},
            )
            continue
        snapshot.payments[key] = deps.payments.store.get(payment.tenant_id, payment.payment_id) or payment
        repairs.append(
            Repair(
                action="refunded",
                tenant_id=payment.tenant_id,
                payment_id=payment.payment_id,
                order_id=payment.order_id,
                detail=f"order FAILED: refunded as {refunded.refund_id}",
            )
        )
