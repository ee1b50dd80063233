"""The invariants, as pure functions from a snapshot to drift items (no I/O: tests feed them snapshots).

Anything younger than ``grace`` is skipped: an order, payment or charge that recent may be in the middle of its saga
(seats sold before the charge, a charge made before its payment is written). A finished saga leaves every invariant
true, so what is older and still disagrees is drift.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from marquee.booking.orders import Order, OrderStatus
from marquee.integrity.models import Drift, DriftKind
from marquee.integrity.snapshot import Snapshot
from marquee.payments.models import PaymentStatus
from marquee.payments.service import payment_id_for
from marquee.payments.store import StoredPayment

SUCCEEDED = "succeeded"


def saga_charge_key(order_id: str) -> str:
    """The idempotency key the order saga charges with (functions/order_saga/logic.py ``charge_key``)."""
    return f"order:{order_id}"


def saga_refund_key(order_id: str) -> str:
    """The saga's refund key (``refund_key``): the reconciler's refund and a saga retry are the same refund."""
    return f"refund:{order_id}"


def is_saga_payment(payment: StoredPayment) -> bool:
    """A payment the saga made for its order (a customer's own POST /payments may name any order id)."""
    return payment.order_id is not None and payment.payment_id == payment_id_for(
        payment.tenant_id, payment.client_id, saga_charge_key(payment.order_id)
    )


def order_payment_id(order: Order) -> str:
    return order.payment_id or payment_id_for(order.tenant_id, order.customer_id, saga_charge_key(order.order_id))


def check(snapshot: Snapshot, *, now: datetime, grace: timedelta) -> list[Drift]:
    cutoff = now - grace
    return [
        *_ledgers(snapshot, cutoff),
        *_payments_and_orders(snapshot, cutoff),
        *_orders(snapshot, cutoff),
        *_seats(snapshot, cutoff),
        *_malformed(snapshot),
    ]


def _malformed(snapshot: Snapshot) -> list[Drift]:
    drift = []
    for tenant, kind, ident, problem in snapshot.malformed:
        ids = {"order_id": ident} if kind == "ORDER" else {"payment_id": ident}
        drift.append(
            Drift(kind=DriftKind.MALFORMED_ITEM, tenant_id=tenant, **ids, detail=f"{kind} item unreadable: {problem}")
        )
    return drift


def _young_order(order: Order, cutoff: datetime) -> bool:
    return datetime.fromisoformat(order.created_at) > cutoff


def _ledgers(snapshot: Snapshot, cutoff: datetime) -> list[Drift]:
    drift: list[Drift] = []
    by_id = {payment_id: payment for (_, payment_id), payment in snapshot.payments.items()}
    attempts = {payment_id for (_, payment_id) in snapshot.attempts}
    for provider, charges in snapshot.ledgers.items():
        known = {c.charge_id: c for c in charges if c.charge_id}
        for charge in charges:
            if charge.status != SUCCEEDED or charge.idempotency_key in attempts:
                continue  # a decline moved no money; an attempt's charge is the settle step's (OUTCOME_UNKNOWN)
            if charge.created is not None and charge.created > cutoff.timestamp():
                continue
            payment = by_id.get(charge.idempotency_key or "")
            if payment is None and charge.refunded:
                continue  # unknown to us, but the money went back: nothing left to reconcile
            if payment is None or (payment.provider is not provider and payment.provider_charge_id != charge.charge_id):
                drift.append(
                    Drift(
                        kind=DriftKind.CHARGE_WITHOUT_PAYMENT,
                        tenant_id=payment.tenant_id if payment else None,
                        payment_id=charge.idempotency_key,
                        order_id=charge.description,
                        charge_id=charge.charge_id,
                        provider=provider.value,
                        detail=(
                            f"{provider.value} charged {charge.amount} {charge.currency} under key "
                            f"{charge.idempotency_key}, which "
                            + ("no payment or charge attempt names" if payment is None else "was paid elsewhere")
                        ),
                    )
                )
        for payment in snapshot.payments.values():
            if payment.provider is not provider or payment.status is PaymentStatus.DECLINED:
                continue
            if payment.created_at > cutoff:
                continue
            ids = {"tenant_id": payment.tenant_id, "payment_id": payment.payment_id, "order_id": payment.order_id}
            found = known.get(payment.provider_charge_id or "")
            if found is None:
                drift.append(
                    Drift(
                        kind=DriftKind.PAYMENT_WITHOUT_CHARGE,
                        **ids,
                        charge_id=payment.provider_charge_id,
                        provider=provider.value,
                        detail=f"payment {payment.status.value} as {payment.provider_charge_id}; "
                        f"{provider.value}'s ledger has no such charge",
                    )
                )
                continue
            charge = found
            if (charge.amount, charge.currency) != (payment.amount.amount, payment.amount.currency):
                drift.append(
                    Drift(
                        kind=DriftKind.AMOUNT_MISMATCH,
                        **ids,
                        charge_id=charge.charge_id,
                        provider=provider.value,
                        detail=f"payment {payment.amount.amount} {payment.amount.currency}, "
                        f"charge {charge.amount} {charge.currency}",
                    )
                )
            if charge.refunded != (payment.status is PaymentStatus.REFUNDED):
                drift.append(
                    Drift(
                        kind=DriftKind.REFUND_MISMATCH,
                        **ids,
                        charge_id=charge.charge_id,
                        provider=provider.value,
                        detail=f"payment {payment.status.value}, charge refunded={charge.refunded}",
                    )
                )
    return drift


def _payments_and_orders(snapshot: Snapshot, cutoff: datetime) -> list[Drift]:
    drift: list[Drift] = []
    for payment in snapshot.payments.values():
        if not is_saga_payment(payment) or payment.created_at > cutoff:
            continue
        assert payment.order_id is not None  # noqa: S101 - is_saga_payment checked it
        order = snapshot.orders.get((payment.tenant_id, payment.order_id))
        ids = {"tenant_id": payment.tenant_id, "payment_id": payment.payment_id, "order_id": payment.order_id}
        if order is None:
            drift.append(
                Drift(kind=DriftKind.PAYMENT_WITHOUT_ORDER, **ids, detail=f"{payment.status.value}; no such order")
            )
        elif order.status is OrderStatus.FAILED and payment.status is PaymentStatus.CAPTURED:
            drift.append(
                Drift(
                    kind=DriftKind.CAPTURED_FOR_FAILED_ORDER,
                    **ids,
                    provider=payment.provider.value,
                    charge_id=payment.provider_charge_id,
                    detail=f"{payment.amount.amount} {payment.amount.currency} captured; the order FAILED "
                    f"({order.reason or 'no reason'}) and was not refunded",
                )
            )
    return drift


def _orders(snapshot: Snapshot, cutoff: datetime) -> list[Drift]:
    drift: list[Drift] = []
    for order in snapshot.orders.values():
        if _young_order(order, cutoff):
            continue
        ids = {"tenant_id": order.tenant_id, "order_id": order.order_id}
        if order.status is OrderStatus.PENDING:
            drift.append(
                Drift(
                    kind=DriftKind.ORDER_STUCK_PENDING,
                    **ids,
                    detail=f"PENDING since {order.created_at}; steps done: {sorted(order.steps_done) or 'none'}",
                )
            )
            continue
        if order.status is not OrderStatus.CONFIRMED:
            continue
        payment = snapshot.payments.get((order.tenant_id, order_payment_id(order)))
        if payment is None or payment.status is not PaymentStatus.CAPTURED:
            drift.append(
                Drift(
                    kind=DriftKind.CONFIRMED_ORDER_WITHOUT_PAYMENT,
                    **ids,
                    payment_id=order_payment_id(order),
                    detail="no payment" if payment is None else f"payment is {payment.status.value}",
                )
            )
        for seat in order.seats:
            sold = snapshot.sold_seats.get((order.tenant_id, order.showtime_id, seat.seat_id))
            if sold is None or sold.order_id != order.order_id:
                drift.append(
                    Drift(
                        kind=DriftKind.CONFIRMED_ORDER_SEAT_NOT_SOLD,
                        **ids,
                        showtime_id=order.showtime_id,
                        seat_id=seat.seat_id,
                        detail="the seat is not sold" if sold is None else f"the seat is sold to {sold.order_id}",
                    )
                )
    return drift


def _seats(snapshot: Snapshot, cutoff: datetime) -> list[Drift]:
    drift: list[Drift] = []
    for seat in snapshot.sold_seats.values():
        order = snapshot.orders.get((seat.tenant_id, seat.order_id))
        if order is not None and (_young_order(order, cutoff) or order.status is OrderStatus.CONFIRMED):
            continue  # in its saga, or a confirmed order (whose own check covers its payment)
        payment = None if order is None else snapshot.payments.get((order.tenant_id, order_payment_id(order)))
        if payment is not None and payment.status is PaymentStatus.CAPTURED:
            continue
        why = (
            "no such order"
            if order is None
            else f"order {order.status.value}, "
            + ("no payment" if payment is None else f"payment {payment.status.value}")
        )
        drift.append(
            Drift(
                kind=DriftKind.SEAT_SOLD_WITHOUT_PAYMENT,
                tenant_id=seat.tenant_id,
                order_id=seat.order_id,
                payment_id=payment.payment_id if payment else None,
                showtime_id=seat.showtime_id,
                seat_id=seat.seat_id,
                detail=f"sold to {seat.order_id}: {why}",
            )
        )
    return drift
