"""The saga's steps. Each is idempotent: it reads the order, returns at once if its step is already in the history,
and otherwise does its work and records itself in ONE transaction (with its outbox event) wherever the work is a
DynamoDB write. A step re-run after a killed worker therefore never does anything twice.

Forward:      ReserveSeats -> ChargePayment -> ConfirmOrder
Compensation: RefundPayment (only if charged) -> ReleaseSeats -> MarkFailed, in reverse order, each exactly once.

Sales close when the showtime starts: ConfirmOrder, where the sale completes, refuses a showtime that has begun
(``ShowtimeStarted``), and the saga refunds the payment it captured and releases the seats. The charge can outlast the
start (3-D Secure, retries with backoff, a provider failover), so this is checked after it, not only before.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from marquee import payments
from marquee.booking import seats
from marquee.booking.orders import (
    ChargeMayBeInFlight,
    Order,
    OrderConfirmed,
    OrderError,
    OrderFailed,
    OrderStateConflict,
    OrderStatus,
    OrderStore,
    Step,
    StepStatus,
    TransactionCancelled,
)
from marquee.tenancy.tenant import TenantContext

from .models import SagaTask, StepResult

MAX_REASON_CHARS = 300


class ShowtimeStarted(OrderError):
    """Business: the showtime began before the order could be confirmed. Not retried: the saga compensates (refund,
    release), as for a declined card."""

    status = HTTPStatus.CONFLICT
    slug = "showtime-started"
    title = "Showtime started"


def reserve_seats(task: SagaTask, store: OrderStore) -> StepResult:
    """Sell the held seats to the order, checking each seat's fencing token (HoldExpired if a fence moved on)."""
    order = store.require(task.tenant_id, task.order_id)
    if order.did(Step.RESERVE):
        return _done(order, Step.RESERVE)
    _require_forward(order, Step.RESERVE)
    seat_ids = ", ".join(seat.seat_id for seat in order.seats)
    detail = f"seats {seat_ids} sold to the order (fencing tokens checked)"
    seats.convert_hold(
        _tenant(order),
        order.hold_id,
        order.order_id,
        table_name=store.table_name,
        correlation_id=order.order_id,
        extra_items=[store.record_step(order, Step.RESERVE, detail=detail, require_pending=True, forward=True)],
        client=store.client,
    )
    return StepResult(step=Step.RESERVE, status=StepStatus.DONE, detail=detail)


def charge_payment(task: SagaTask, store: OrderStore) -> StepResult:
    """Charge once whatever the retries: the idempotency key is ``order:{orderId}``."""
    order = store.require(task.tenant_id, task.order_id)
    if order.did(Step.CHARGE):
        return _done(order, Step.CHARGE)
    _require_forward(order, Step.CHARGE)
    if not store.claim_charge(order, _now_ms()):  # compensation began meanwhile: never charge now
        raise OrderStateConflict(f"ChargePayment: order {order.order_id} is being compensated.")
    result = payments.charge(
        order.tenant_id,
        order.customer_id,
        charge_key(order),
        payments.ChargeRequest(amount=order.amount, card=order.card, order_id=order.order_id),
    )
    detail = (
        f"captured {result.amount.amount} {result.amount.currency} as {result.payment_id} ({result.provider.value})"
    )
    record = store.record_step(
        order,
        Step.CHARGE,
        detail=detail,
        set_values={"paymentId": result.payment_id},
        require_pending=True,
        forward=True,
    )
    try:
        store.transact([record])
    except TransactionCancelled:
        # Recorded by another run, or compensation began while we charged: RefundPayment waits out the charge's
        # timeout (charge_settle_seconds) before it trusts "nothing captured", so it finds this capture and refunds it.
        pass
    return StepResult(step=Step.CHARGE, status=StepStatus.DONE, detail=detail, payment_id=result.payment_id)


def confirm_order(task: SagaTask, store: OrderStore) -> StepResult:
    order = store.require(task.tenant_id, task.order_id)
    if order.did(Step.CONFIRM):
        return _done(order, Step.CONFIRM)
    _require_forward(order, Step.CONFIRM)
    if order.payment_id is None:
        raise OrderStateConflict(f"Order {order.order_id} has no payment to confirm.")
    _require_not_started(order, store, _now_ms())
    event = OrderConfirmed(
        order_id=order.order_id,
        customer_id=order.customer_id,
        showtime_id=order.showtime_id,
        seat_ids=[seat.seat_id for seat in order.seats],
        amount=order.amount,
        payment_id=order.payment_id,
    )
    _record(
        store,
        order,
        Step.CONFIRM,
        lambda: [
            store.record_step(
                order,
                Step.CONFIRM,
                set_values={"status": OrderStatus.CONFIRMED.value},
                require_pending=True,
                forward=True,
            ),
            store.outbox(order, event),
        ],
    )
    return StepResult(step=Step.CONFIRM, status=StepStatus.DONE)


def refund_payment(task: SagaTask, store: OrderStore, *, charge_settle_ms: int) -> StepResult:
    """Compensation: refund the charge if there is one (key ``refund:{orderId}``); nothing captured -> SKIPPED.

    The payment id is derived from the charge's idempotency key, so a charge whose answer never reached the saga
    (the provider charged, then failed) is still found and refunded.
    """
    order = store.begin_compensation(store.require(task.tenant_id, task.order_id))
    if order.did(Step.REFUND):
        return _done(order, Step.REFUND)
    if order.status is OrderStatus.CONFIRMED:
        return StepResult(step=Step.REFUND, status=StepStatus.SKIPPED, detail="order confirmed: nothing to undo")
    payment_id = order.payment_id or payments.payment_id_for(order.tenant_id, order.customer_id, charge_key(order))
    values: dict[str, str]
    try:
        refunded = payments.refund(order.tenant_id, order.customer_id, refund_key(order), payment_id)
    except payments.PaymentNotRefundable:
        status, detail, values = StepStatus.SKIPPED, f"{payment_id} was declined: nothing to refund", {}
    except payments.PaymentNotFound as missing:
        started = order.charge_started_at_ms
        if started is not None and _now_ms() - started < charge_settle_ms:
            raise ChargeMayBeInFlight(
                f"A charge attempt began {(_now_ms() - started) // 1000} s ago and may still capture."
            ) from missing
        status, detail, values = StepStatus.SKIPPED, f"nothing captured under {payment_id}", {}
    else:
        status = StepStatus.DONE
        detail = f"refunded {payment_id} as {refunded.refund_id}"
        values = {"paymentId": payment_id, "refundId": refunded.refund_id}
    _record(
        store,
        order,
        Step.REFUND,
        lambda: [store.record_step(order, Step.REFUND, status=status, detail=detail, set_values=values)],
    )
    return StepResult(step=Step.REFUND, status=status, detail=detail, payment_id=payment_id)


def release_seats(task: SagaTask, store: OrderStore) -> StepResult:
    """Compensation: give the seats back, whether they were sold to the order or only held (fences respected)."""
    order = store.begin_compensation(store.require(task.tenant_id, task.order_id))
    if order.did(Step.RELEASE):
        return _done(order, Step.RELEASE)
    if order.status is OrderStatus.CONFIRMED:
        return StepResult(step=Step.RELEASE, status=StepStatus.SKIPPED, detail="order confirmed: nothing to undo")
    detail = f"hold {order.hold_id} released"
    result = seats.release_sold(
        _tenant(order),
        order.hold_id,
        order.order_id,
        table_name=store.table_name,
        correlation_id=order.order_id,
        extra_items=[store.record_step(order, Step.RELEASE, detail=detail)],
        client=store.client,
    )
    if result.changed:
        released = ", ".join(result.released_seats) or "none (taken over by another hold)"
        return StepResult(step=Step.RELEASE, status=StepStatus.DONE, detail=f"{detail}; seats freed: {released}")
    # Nothing to release (already released, or converted to another order): record that, once.
    skipped = f"hold {order.hold_id} was already {result.hold.status.value.lower()}: nothing to release"
    _record(
        store,
        order,
        Step.RELEASE,
        lambda: [store.record_step(order, Step.RELEASE, status=StepStatus.SKIPPED, detail=skipped)],
    )
    return StepResult(step=Step.RELEASE, status=StepStatus.SKIPPED, detail=skipped)


def mark_failed(task: SagaTask, store: OrderStore) -> StepResult:
    """The last compensation: the order is FAILED with the reason, and OrderFailed goes out in the same transaction."""
    order = store.require(task.tenant_id, task.order_id)
    if order.did(Step.MARK_FAILED) or order.status is OrderStatus.FAILED:
        return _done(order, Step.MARK_FAILED)
    _require_pending(order, Step.MARK_FAILED)
    reason = failure_reason(task)
    event = OrderFailed(order_id=order.order_id, customer_id=order.customer_id, reason=reason)
    _record(
        store,
        order,
        Step.MARK_FAILED,
        lambda: [
            store.record_step(
                order,
                Step.MARK_FAILED,
                detail=reason,
                set_values={"status": OrderStatus.FAILED.value, "reason": reason},
                require_pending=True,
            ),
            store.outbox(order, event),
        ],
    )
    return StepResult(step=Step.MARK_FAILED, status=StepStatus.DONE, detail=reason)


# ---- helpers -------------------------------------------------------------------------------------------------------------
def charge_key(order: Order) -> str:
    return f"order:{order.order_id}"


def refund_key(order: Order) -> str:
    return f"refund:{order.order_id}"


def failure_reason(task: SagaTask) -> str:
    """``Error: message`` from the caught error; a Lambda error's Cause is its JSON (errorMessage)."""
    if task.error is None:
        return "unknown failure"
    message = task.error.Cause or ""
    try:
        cause = json.loads(message)
    except json.JSONDecodeError:
        cause = None
    if isinstance(cause, Mapping) and isinstance(cause.get("errorMessage"), str):
        message = cause["errorMessage"]
    text = f"{task.error.Error}: {message}" if message else task.error.Error
    return text[:MAX_REASON_CHARS]


def _tenant(order: Order) -> TenantContext:
    """The saga acts for the order's customer, inside the order's tenant (every key is built from it)."""
    return TenantContext(tenant_id=order.tenant_id, user_id=order.customer_id)


def _require_forward(order: Order, step: Step) -> None:
    _require_pending(order, step)
    if order.compensating:
        raise OrderStateConflict(f"{step.value}: order {order.order_id} is being compensated.")


def _require_not_started(order: Order, store: OrderStore, now_ms: int) -> None:
    """Sales close at the showtime's start: confirming later would sell a ticket for a film already running."""
    item = seats.showtime_item(_tenant(order), order.showtime_id, table_name=store.table_name, client=store.client)
    starts = item.get("startsAt", {}).get("S")
    if not starts:
        raise OrderStateConflict(f"Showtime {order.showtime_id} has no start time: order {order.order_id} not sold.")
    starts_at = datetime.fromisoformat(starts)
    if starts_at.tzinfo is None:
        starts_at = starts_at.replace(tzinfo=UTC)  # the catalog writes UTC
    if now_ms >= starts_at.timestamp() * 1000:
        raise ShowtimeStarted(
            f"Showtime {order.showtime_id} started at {starts_at.isoformat()}: sales closed before the order was "
            "confirmed."
        )


def _now_ms() -> int:
    return int(time.time() * 1000)


def _require_pending(order: Order, step: Step) -> None:
    if order.status is not OrderStatus.PENDING:
        raise OrderStateConflict(f"{step.value}: order {order.order_id} is {order.status.value}, not PENDING.")


def _done(order: Order, step: Step) -> StepResult:
    entry = next((e for e in reversed(order.history) if e.step is step), None)
    return StepResult(
        step=step,
        status=entry.status if entry else StepStatus.DONE,
        detail=entry.detail if entry else None,
        payment_id=order.payment_id,
    )


def _record(store: OrderStore, order: Order, step: Step, items: Callable[[], list[dict[str, Any]]]) -> None:
    """Commit the step's transaction; a cancellation because the step is already recorded is success."""
    try:
        store.transact(items())
    except TransactionCancelled as cancelled:
        if store.require(order.tenant_id, order.order_id).did(step):
            return  # another run of this step recorded it meanwhile: the work is done
        if cancelled.conflicted:
            raise
        raise OrderStateConflict(f"Order {order.order_id} changed under the step: {cancelled}") from cancelled
