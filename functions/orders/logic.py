"""Place an order (write it + OrderPlaced in one transaction), start its saga from that event, and show it.

The saga is started by the outbox, never by the request: ``POST /orders`` commits the order (PENDING) and its
``OrderPlaced`` envelope in one ``TransactWriteItems`` and answers 202. The relay publishes the envelope, a bus rule
invokes this function with it, and ``start_placed_order`` starts the execution named after the order. A crash at any
point after the commit still starts the saga (the event is in the table), and a redelivered event starts nothing
twice (Step Functions keeps one execution per name). No API Gateway here."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from marquee.booking import seats
from marquee.booking.errors import HoldExpired, HoldNotActive, HoldNotFound, ShowtimeNotFound
from marquee.booking.orders import (
    Order,
    OrderNotFound,
    OrderPlaced,
    OrderStatus,
    OrderStore,
    SeatToken,
    Step,
    StepStatus,
    TransactionCancelled,
    history_entry,
    now_iso,
    order_id_for,
)
from marquee.booking.seats import Hold, HoldStatus
from marquee.core import aws
from marquee.core.money import Money
from marquee.messaging.events import Envelope
from marquee.tenancy.tenant import TenantContext

from .models import OrderAccepted, OrdersEnv, OrderView, PlaceOrderRequest

# The order's transaction re-checks the hold it was priced from: still ACTIVE, still the caller's, lease not over.
HOLD_STILL_USABLE = f"{seats.HOLD_IS_ACTIVE} AND customer_id = :customer AND lease_expires_at_ms > :now"
ORDER_ID = re.compile(r"ord_[0-9a-f]{20}")
# TransactionConflict (another transaction on the same hold) is transient: try again a few times.
TRANSACTION_ATTEMPTS = 3


def place_order(request: PlaceOrderRequest, caller: TenantContext, store: OrderStore) -> OrderAccepted:
    """Validate the hold, write the order and its OrderPlaced event once. A retried call returns the same order."""
    hold = _callers_hold(store, caller, request.hold_id)
    order_id = order_id_for(caller.tenant_id, hold.hold_id)
    for _ in range(TRANSACTION_ATTEMPTS):
        existing = store.get(caller.tenant_id, order_id)
        if existing is not None:
            return _accepted(existing)
        _require_usable(hold)
        order = _new_order(order_id, hold, request, caller, store)
        try:
            store.transact(
                [
                    store.put_new(order),
                    store.outbox(
                        order,
                        OrderPlaced(
                            order_id=order.order_id,
                            hold_id=order.hold_id,
                            customer_id=order.customer_id,
                            showtime_id=order.showtime_id,
                            seat_ids=[seat.seat_id for seat in order.seats],
                            amount=order.amount,
                        ),
                    ),
                    _hold_still_usable(store, caller, hold),
                ]
            )
        except TransactionCancelled as cancelled:
            if cancelled.failed_at(0):
                continue  # a racing retry wrote this order first: answer with it
            if cancelled.failed_at(2):  # the hold changed since we read it: say how
                _require_usable(_read_hold(store, caller, hold.hold_id), expired=True)
            hold = _read_hold(store, caller, hold.hold_id)
            continue  # a transient conflict: look again
        return _accepted(order)
    existing = store.get(caller.tenant_id, order_id)
    if existing is None:
        raise HoldNotActive(f"Hold {hold.hold_id} is changing right now; try again.")
    return _accepted(existing)


def get_order(order_id: str, caller: TenantContext, store: OrderStore) -> OrderView:
    """The order with its step history. Another customer's (or tenant's) order is indistinguishable from none."""
    order = store.get(caller.tenant_id, order_id) if ORDER_ID.fullmatch(order_id) else None
    if order is None or order.customer_id != caller.user_id:
        raise OrderNotFound(f"Order {order_id} does not exist.")
    return OrderView.of(order)


def _read_hold(store: OrderStore, caller: TenantContext, hold_id: str) -> Hold:
    return seats.get_hold(caller, hold_id, table_name=store.table_name, client=store.client)


def _callers_hold(store: OrderStore, caller: TenantContext, hold_id: str) -> Hold:
    """The caller's hold: another customer's or another tenant's hold is indistinguishable from none (404)."""
    hold = _read_hold(store, caller, hold_id)
    if hold.customer_id != caller.user_id:
        raise HoldNotFound(f"No hold {hold_id}.")
    if not hold.seats:
        raise HoldNotActive(f"Hold {hold_id} has no seats.")
    return hold


def _hold_still_usable(store: OrderStore, caller: TenantContext, hold: Hold) -> dict[str, Any]:
    """A ``ConditionCheck`` on the hold, in the order's transaction (``HOLD_STILL_USABLE``)."""
    return {
        "ConditionCheck": {
            "TableName": store.table_name,
            "Key": seats.hold_key(caller, hold.hold_id),
            "ConditionExpression": HOLD_STILL_USABLE,
            "ExpressionAttributeValues": {
                ":active": {"S": HoldStatus.ACTIVE.value},
                ":customer": {"S": caller.user_id},
                ":now": {"N": str(_now_ms())},
            },
        }
    }


def _showtime_price(store: OrderStore, caller: TenantContext, showtime_id: str) -> Money:
    item = seats.showtime_item(caller, showtime_id, table_name=store.table_name, client=store.client)
    price = item.get("price", {}).get("M")
    if not price:
        raise ShowtimeNotFound(f"Showtime {showtime_id} has no price.")
    return Money(amount=int(price["amount"]["N"]), currency=price["currency"]["S"])


def _require_usable(hold: Hold, *, expired: bool = False) -> None:
    """409 for a hold that is no longer ACTIVE or whose lease has run out (the seats may be someone else's now)."""
    if hold.status is not HoldStatus.ACTIVE:
        raise HoldNotActive(f"Hold {hold.hold_id} is {hold.status.value}: only an ACTIVE hold can be ordered.")
    if expired or hold.lease_expires_at_ms <= _now_ms():
        raise HoldExpired(f"Hold {hold.hold_id} has expired; hold the seats again.")


def _new_order(
    order_id: str, hold: Hold, request: PlaceOrderRequest, caller: TenantContext, store: OrderStore
) -> Order:
    price = _showtime_price(store, caller, hold.showtime_id)
    return Order(
        order_id=order_id,
        tenant_id=caller.tenant_id,
        status=OrderStatus.PENDING,
        hold_id=hold.hold_id,
        customer_id=caller.user_id,
        showtime_id=hold.showtime_id,
        seats=[SeatToken(seat_id=seat.seat_id, fence=seat.fence) for seat in hold.seats],
        amount=Money(amount=price.amount * len(hold.seats), currency=price.currency),
        card=request.card,
        created_at=now_iso(),
        history=[history_entry(Step.PLACE, StepStatus.DONE)],  # type: ignore[list-item]
        steps_done=frozenset({Step.PLACE.value}),
    )


def _accepted(order: Order) -> OrderAccepted:
    """The answer to POST /orders: the saga is started from the order's OrderPlaced event, not from here."""
    return OrderAccepted(order_id=order.order_id, status=order.status)


def start_placed_order(
    detail: Mapping[str, Any], env: OrdersEnv, store_for: Callable[[TenantContext], OrderStore]
) -> str | None:
    """Start the saga of the order an ``OrderPlaced`` envelope names; its execution ARN, or None when there is
    nothing to start (the order is gone or no longer PENDING). Safe to run any number of times for one event."""
    event = Envelope.model_validate(detail)
    placed = OrderPlaced.model_validate(event.data)
    store = store_for(TenantContext(tenant_id=event.tenant_id, user_id=placed.customer_id))
    order = store.get(event.tenant_id, placed.order_id)
    if order is None or order.status is not OrderStatus.PENDING:
        return None  # a redelivery after the saga finished: its execution ran already
    if order.execution_arn is not None:
        return order.execution_arn  # a redelivery after the start was recorded
    arn = start_saga(order, env.state_machine_arn)
    store.set_execution_arn(order, arn)
    return arn


def saga_input(order: Order) -> str:
    """Deterministic: Step Functions treats a same-name, same-input start of an open execution as the same one."""
    return json.dumps({"tenantId": order.tenant_id, "orderId": order.order_id}, sort_keys=True)


def start_saga(order: Order, state_machine_arn: str) -> str:
    client: Any = aws.stepfunctions()
    try:
        response = client.start_execution(
            stateMachineArn=state_machine_arn, name=order.order_id, input=saga_input(order)
        )
        return str(response["executionArn"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        # Started before and closed since (a redelivered OrderPlaced): the same execution, nothing to do.
        return execution_arn(state_machine_arn, order.order_id)


def execution_arn(state_machine_arn: str, name: str) -> str:
    prefix = state_machine_arn.replace(":stateMachine:", ":execution:", 1)
    return f"{prefix}:{name}"


def _now_ms() -> int:
    return int(time.time() * 1000)
