"""Orders (challenge 11, the saga): the order item, its events and its data access (docs/booking-data-model.md).

- The order id is deterministic: ``ord_`` + the first 20 hex digits of sha256(tenant|holdId). A retried
  ``POST /orders`` computes the same id, and the conditional put (``ORDER_IS_NEW``) makes it the same order.
- Every saga step records itself in the order's ``history`` with ONE conditional update: the step name goes into the
  ``steps_done`` string set under ``STEP_NOT_RECORDED``. A re-run of a step (a Step Functions retry after a killed
  worker) finds its name there and does nothing twice.
- Each state change writes its outbox event in the same ``TransactWriteItems`` (OrderPlaced, OrderConfirmed,
  OrderFailed here; SeatsReserved and SeatsReleased are written by ``marquee.booking.seats``). Event ids are derived from
  (tenant, order, event type), so a re-run cannot write a second event either.

Only this module (the DAL) touches boto3 for orders.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import Field

from marquee.core.errors import MarqueeError
from marquee.core.models import CamelModel
from marquee.core.money import Money
from marquee.dynamo.conditions import CONDITION_FAILED, error_code
from marquee.dynamo.items import attribute, from_item, plain, to_attributes
from marquee.dynamo.store import TableStore
from marquee.dynamo.transactions import cancellation_reasons, is_cancelled
from marquee.messaging.events import Envelope, EventData, envelope, register
from marquee.messaging.outbox import outbox_put
from marquee.tenancy.tenant import tenant_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

ORDER_ID_PREFIX = "ord_"
ORDER_SK = "META"
EVENT_ID_NAMESPACE = uuid.UUID("6f1d7c2e-8a53-4f4b-9a43-5b0f3c1e2d11")

# Named conditions (STYLE.md §4).
ORDER_IS_NEW = "attribute_not_exists(pk)"
STEP_NOT_RECORDED = "attribute_not_exists(steps_done) OR NOT contains(steps_done, :step)"
ORDER_IS_PENDING = "#status = :pending"
# Forward steps may act only while no compensation has begun: a step that Step Functions gave up on (States.Timeout)
# can still be running, and must not charge, sell or confirm after the saga started undoing the order.
NOT_COMPENSATING = "attribute_not_exists(compensating)"


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    FAILED = "FAILED"


class Step(StrEnum):
    """The saga's steps, as recorded in an order's history (and named in the state machine)."""

    PLACE = "PlaceOrder"
    RESERVE = "ReserveSeats"
    CHARGE = "ChargePayment"
    CONFIRM = "ConfirmOrder"
    REFUND = "RefundPayment"
    RELEASE = "ReleaseSeats"
    MARK_FAILED = "MarkFailed"


class StepStatus(StrEnum):
    DONE = "DONE"
    SKIPPED = "SKIPPED"  # a compensation with nothing to undo (no charge to refund, say)


class OrderError(MarqueeError):
    """Base of the order errors."""


class OrderNotFound(OrderError):
    status = HTTPStatus.NOT_FOUND
    slug = "order-not-found"
    title = "Order not found"


class ChargeMayBeInFlight(OrderError):
    """Transient: a charge attempt began less than its function's timeout ago and may still capture; look again."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    slug = "charge-may-be-in-flight"
    title = "Charge may be in flight"


class OrderStateConflict(OrderError):
    """A step met the order in a state it cannot act on (e.g. confirming a FAILED order): a saga bug if ever seen."""

    status = HTTPStatus.CONFLICT
    slug = "order-state-conflict"
    title = "Order state conflict"


class SeatToken(CamelModel):
    """A held seat and its fencing token (the fence value the hold wrote)."""

    seat_id: str
    fence: int


class HistoryEntry(CamelModel):
    step: Step
    status: StepStatus
    at: str
    detail: str | None = None


class Order(CamelModel):
    order_id: str
    tenant_id: str
    status: OrderStatus
    hold_id: str
    customer_id: str
    showtime_id: str
    seats: list[SeatToken]
    amount: Money
    card: str = Field(repr=False)  # sandbox shortcut: a test card number (a real system stores a provider token)
    payment_id: str | None = None
    reason: str | None = None
    execution_arn: str | None = None
    compensating: bool = False
    charge_started_at_ms: int | None = None
    created_at: str
    history: list[HistoryEntry] = Field(default_factory=list)
    steps_done: frozenset[str] = Field(default_factory=frozenset)

    @property
    def card_last4(self) -> str:
        return self.card[-4:]

    def did(self, step: Step) -> bool:
        return step.value in self.steps_done


# ---- events -------------------------------------------------------------------------------------------------------------
@register
class OrderPlaced(EventData):
    event_type = "OrderPlaced"
    order_id: str
    hold_id: str
    customer_id: str
    showtime_id: str
    seat_ids: list[str]
    amount: Money


@register
class OrderConfirmed(EventData):
    event_type = "OrderConfirmed"
    order_id: str
    customer_id: str
    showtime_id: str
    seat_ids: list[str]
    amount: Money
    payment_id: str


@register
class OrderFailed(EventData):
    event_type = "OrderFailed"
    order_id: str
    customer_id: str
    reason: str


# ---- pure helpers -------------------------------------------------------------------------------------------------------
def order_id_for(tenant_id: str, hold_id: str) -> str:
    """Deterministic per (tenant, hold): a retried POST /orders is the same order."""
    return ORDER_ID_PREFIX + hashlib.sha256(f"{tenant_id}|{hold_id}".encode()).hexdigest()[:20]


def order_key(tenant_id: str, order_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": tenant_key(tenant_id, "ORDER", order_id)}, "sk": {"S": ORDER_SK}}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def order_event(order: Order, data: EventData) -> Envelope:
    """The order's event of ``data``'s type; its id is fixed per (tenant, order, type), so a re-run cannot repeat it."""
    event_id = str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{order.tenant_id}|{order.order_id}|{data.event_type}"))
    return envelope(data, tenant_id=order.tenant_id, correlation_id=order.order_id, event_id=event_id)


def order_from_item(item: Mapping[str, Any]) -> Order:
    values = plain(from_item(item))
    values.pop("pk", None)
    values.pop("sk", None)
    return Order.model_validate(values)


def order_to_item(order: Order) -> dict[str, Any]:
    values = order.model_dump(
        by_alias=True, mode="json", exclude_none=True, exclude={"steps_done", "compensating", "charge_started_at_ms"}
    )
    item = {**order_key(order.tenant_id, order.order_id), **to_attributes(values)}
    if order.steps_done:
        item["steps_done"] = {"SS": sorted(order.steps_done)}
    return item


def history_entry(step: Step, status: StepStatus = StepStatus.DONE, detail: str | None = None) -> dict[str, Any]:
    return HistoryEntry(step=step, status=status, at=now_iso(), detail=detail).model_dump(
        by_alias=True, mode="json", exclude_none=True
    )


# ---- data access ------------------------------------------------------------------------------------------------------
class TransactionCancelled(Exception):
    """A TransactWriteItems was cancelled; ``reasons`` has one code per item (``"None"`` for items that passed)."""

    def __init__(self, reasons: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(", ".join(str(r.get("Code")) for r in reasons))
        self.reasons = list(reasons)

    def failed_at(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index].get("Code") == "ConditionalCheckFailed"

    @property
    def conflicted(self) -> bool:
        """Cancelled by a concurrent transaction on the same item (transient: retry)."""
        return any(r.get("Code") == "TransactionConflict" for r in self.reasons)


class OrderStore(TableStore):
    """The order item and the transactions that change it."""

    def get(self, tenant_id: str, order_id: str) -> Order | None:
        response = self.client.get_item(
            TableName=self.table_name, Key=order_key(tenant_id, order_id), ConsistentRead=True
        )
        item = response.get("Item")
        return order_from_item(item) if item else None

    def require(self, tenant_id: str, order_id: str) -> Order:
        order = self.get(tenant_id, order_id)
        if order is None:
            raise OrderNotFound(f"Order {order_id} does not exist.")
        return order

    def put_new(self, order: Order) -> dict[str, Any]:
        """The ``Put`` of a new order; fails (``ORDER_IS_NEW``) if the order already exists."""
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": order_to_item(order),
                "ConditionExpression": ORDER_IS_NEW,
            }
        }

    def record_step(
        self,
        order: Order,
        step: Step,
        *,
        status: StepStatus = StepStatus.DONE,
        detail: str | None = None,
        set_values: Mapping[str, Any] | None = None,
        require_pending: bool = False,
        forward: bool = False,
    ) -> dict[str, Any]:
        """The ``Update`` that appends ``step`` to the history once (``STEP_NOT_RECORDED``), with extra ``SET``s."""
        names = {"#history": "history"}
        values: dict[str, Any] = {
            ":step": {"S": step.value},
            ":steps": {"SS": [step.value]},
            ":entry": {"L": [attribute(history_entry(step, status, detail))]},
        }
        sets = ["#history = list_append(#history, :entry)"]
        for index, (name, value) in enumerate((set_values or {}).items()):
            names[f"#s{index}"] = name
            values[f":s{index}"] = attribute(value)
            sets.append(f"#s{index} = :s{index}")
        condition = f"({STEP_NOT_RECORDED})"
        if require_pending:
            names["#status"] = "status"
            values[":pending"] = {"S": OrderStatus.PENDING.value}
            condition += f" AND {ORDER_IS_PENDING}"
        if forward:
            condition += f" AND {NOT_COMPENSATING}"
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": order_key(order.tenant_id, order.order_id),
                "UpdateExpression": "SET " + ", ".join(sets) + " ADD steps_done :steps",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def claim_charge(self, order: Order, now_ms: int) -> bool:
        """Before each charge attempt: note its start, only while the order is PENDING and not compensating."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=order_key(order.tenant_id, order.order_id),
                UpdateExpression="SET chargeStartedAtMs = :now",
                ConditionExpression=f"{ORDER_IS_PENDING} AND {NOT_COMPENSATING}",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":now": {"N": str(now_ms)}, ":pending": {"S": OrderStatus.PENDING.value}},
            )
        except ClientError as exc:
            if error_code(exc) == CONDITION_FAILED:
                return False
            raise
        return True

    def begin_compensation(self, order: Order) -> Order:
        """Close the door on forward steps (``compensating``), once; returns the order as it is now."""
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=order_key(order.tenant_id, order.order_id),
                UpdateExpression="SET compensating = :true",
                ConditionExpression=ORDER_IS_PENDING,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":true": {"BOOL": True}, ":pending": {"S": OrderStatus.PENDING.value}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if error_code(exc) == CONDITION_FAILED:
                return self.require(order.tenant_id, order.order_id)  # CONFIRMED or FAILED already
            raise
        return order_from_item(response["Attributes"])

    def outbox(self, order: Order, data: EventData) -> dict[str, Any]:
        return outbox_put(self.table_name, order_event(order, data), now=time.time())

    def set_execution_arn(self, order: Order, execution_arn: str) -> None:
        self.client.update_item(
            TableName=self.table_name,
            Key=order_key(order.tenant_id, order.order_id),
            UpdateExpression="SET executionArn = if_not_exists(executionArn, :arn)",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":arn": {"S": execution_arn}},
        )

    def transact(self, items: Iterable[Mapping[str, Any]]) -> None:
        """One ``TransactWriteItems``; ``TransactionCancelled`` (with the per-item reasons) when a condition failed."""
        try:
            self.client.transact_write_items(TransactItems=list(items))  # type: ignore[arg-type]
        except ClientError as exc:
            if is_cancelled(exc):
                raise TransactionCancelled(cancellation_reasons(exc)) from exc
            raise
