"""Seats and fencing (challenge 3): hold, convert and release seats with conditional transactions.

Every function takes the caller's ``TenantContext`` and builds every key from it. The item layout, conditions and
events are the contract in docs/booking-data-model.md ("Seats and fencing"):

- a seat is **free** when ``seat_state = AVAILABLE``, it has no ``sold_to``, and it has no ``holder`` or its lease has
  expired (``lease_expires_at < now``): no sweeper, the condition reads the expiry;
- **hold**: read the seats (consistent), then ONE TransactWriteItems: per seat ``free AND fence = :seen`` ->
  ``SET holder, lease_expires_at, fence = :seen + 1``, plus the hold item and its ``HoldCreated`` outbox event. The new
  fence of each seat is the hold's fencing token for it;
- **convert** (the saga's ReserveSeats): per seat ``holder = :hold AND fence = :token AND no sold_to`` ->
  ``SET sold_to = :order``; a fence that moved on raises ``HoldExpired``;
- **release**: the seats the hold still owns lose ``holder`` and ``lease_expires_at``; after conversion, the seats sold
  to the order lose ``sold_to`` too. Both idempotent.

``extra_items`` lets a caller (the saga) add its own TransactWriteItems entries (an order update, its events) to the
same transaction: the seat change and the caller's change commit together or not at all.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from marquee.booking import hold_shape
from marquee.booking.errors import (
    ConflictError,
    HoldExpired,
    HoldNotActive,
    HoldNotFound,
    SeatsTaken,
    ShowtimeNotFound,
    UnknownSeats,
)
from marquee.booking.events import HeldSeatData, HoldCreated, HoldReleased, SeatsReleased, SeatsReserved
from marquee.core import aws
from marquee.dynamo.conditions import ITEM_IS_NEW
from marquee.dynamo.transactions import cancellation_reasons, is_cancelled
from marquee.messaging.events import EventData, envelope
from marquee.messaging.outbox import outbox_put
from marquee.tenancy.tenant import TenantContext

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

META = "META"
SEAT_PREFIX = "SEAT#"
AVAILABLE = "AVAILABLE"
UNAVAILABLE = "UNAVAILABLE"
MAX_SEATS_PER_HOLD = 10  # 10 seats + hold + outbox (+ the saga's extras) stays far below TransactWriteItems' 100 items
# A hold item outlives its lease by a day (GET /holds shows it as EXPIRED), then TTL deletes it. Converted holds keep.
HOLD_TTL_GRACE_SECONDS = 24 * 3600
RELEASE_ATTEMPTS = 5

# ---- named conditions (STYLE.md §4) --------------------------------------------------------------------------------
SEAT_IS_FREE_AT_FENCE = (
    "seat_state = :available AND attribute_not_exists(sold_to) "
    "AND (attribute_not_exists(holder) OR lease_expires_at < :now) AND fence = :seen"
)
SEAT_HELD_BY_HOLD = "holder = :hold AND fence = :token AND attribute_not_exists(sold_to)"
SEAT_SOLD_TO_ORDER = "sold_to = :order"
HOLD_IS_ACTIVE = "hold_status = :active"
HOLD_IS_CONVERTED_TO_ORDER = "hold_status = :converted AND order_id = :order"


class HoldStatus(StrEnum):
    ACTIVE = "ACTIVE"
    RELEASED = "RELEASED"
    CONVERTED = "CONVERTED"


class SeatState(StrEnum):
    FREE = "free"
    HELD = "held"
    SOLD = "sold"
    UNAVAILABLE = "unavailable"


class HeldSeat(BaseModel):
    model_config = ConfigDict(frozen=True)

    seat_id: str
    fence: int


class Hold(BaseModel):
    """The hold item of the main table (``TENANT#t#HOLD#{holdId}`` / ``META``), as a domain object."""

    model_config = ConfigDict(frozen=True)

    hold_id: str
    tenant_id: str
    showtime_id: str
    customer_id: str
    seats: list[HeldSeat]
    lease_expires_at_ms: int
    status: HoldStatus
    created_at_ms: int
    order_id: str | None = None

    def expired(self, now_ms: int) -> bool:
        return self.status is HoldStatus.ACTIVE and self.lease_expires_at_ms <= now_ms

    @property
    def seat_ids(self) -> list[str]:
        return [s.seat_id for s in self.seats]


class Seat(BaseModel):
    """A seat item (``TENANT#t#SHOWTIME#{id}`` / ``SEAT#{seatId}``) and its state computed at ``now``."""

    model_config = ConfigDict(frozen=True)

    seat_id: str
    seat_state: str = AVAILABLE
    fence: int = 0
    holder: str | None = None
    lease_expires_at_ms: int | None = None
    sold_to: str | None = None

    def state(self, now_ms: int) -> SeatState:
        if self.seat_state != AVAILABLE:
            return SeatState.UNAVAILABLE
        if self.sold_to:
            return SeatState.SOLD
        if self.holder and (self.lease_expires_at_ms or 0) >= now_ms:
            return SeatState.HELD
        return SeatState.FREE

    def owned_by(self, hold_id: str, token: int) -> bool:
        return self.holder == hold_id and self.fence == token and not self.sold_to


class ReleaseResult(BaseModel):
    hold: Hold
    released_seats: list[str] = Field(default_factory=list)
    changed: bool = True  # False when the work had been done already (an idempotent repeat)


# ---- keys and item mapping -------------------------------------------------------------------------------------------
def now_ms() -> int:
    return int(time.time() * 1000)


def showtime_pk(tenant: TenantContext, showtime_id: str) -> str:
    return tenant.key("SHOWTIME", showtime_id)


def seat_key(tenant: TenantContext, showtime_id: str, seat_id: str) -> dict[str, Any]:
    return {"pk": {"S": showtime_pk(tenant, showtime_id)}, "sk": {"S": f"{SEAT_PREFIX}{seat_id}"}}


def hold_key(tenant: TenantContext, hold_id: str) -> dict[str, Any]:
    return {"pk": {"S": tenant.key("HOLD", hold_id)}, "sk": {"S": META}}


def new_hold_id() -> str:
    return f"hld_{uuid.uuid4().hex[:20]}"


def seat_from_item(item: Mapping[str, Any]) -> Seat:
    return Seat(
        seat_id=item["sk"]["S"].removeprefix(SEAT_PREFIX),
        seat_state=item.get("seat_state", {}).get("S", AVAILABLE),
        fence=int(item.get("fence", {}).get("N", "0")),
        holder=item.get("holder", {}).get("S"),
        lease_expires_at_ms=int(item["lease_expires_at"]["N"]) if "lease_expires_at" in item else None,
        sold_to=item.get("sold_to", {}).get("S"),
    )


def seat_item(tenant: TenantContext, showtime_id: str, seat_id: str, *, available: bool) -> dict[str, Any]:
    """A new seat item, as the catalog writes it when a showtime is created."""
    return {
        **seat_key(tenant, showtime_id, seat_id),
        "seat_state": {"S": AVAILABLE if available else UNAVAILABLE},
        "fence": {"N": "0"},
    }


def hold_from_item(tenant: TenantContext, item: Mapping[str, Any]) -> Hold:
    """The hold; its seats in whichever shape the live phase reads (``marquee.booking.hold_shape``)."""
    return Hold(
        hold_id=item["hold_id"]["S"],
        tenant_id=tenant.tenant_id,
        showtime_id=item["showtime_id"]["S"],
        customer_id=item["customer_id"]["S"],
        seats=[HeldSeat(seat_id=seat, fence=fence) for seat, fence in hold_shape.read_seats(item)],
        lease_expires_at_ms=int(item["lease_expires_at_ms"]["N"]),
        status=HoldStatus(item["hold_status"]["S"]),
        created_at_ms=int(item["created_at_ms"]["N"]),
        order_id=item.get("order_id", {}).get("S"),
    )


def _hold_item(tenant: TenantContext, hold: Hold) -> dict[str, Any]:
    return {
        **hold_key(tenant, hold.hold_id),
        "entity": {"S": "HOLD"},
        "hold_id": {"S": hold.hold_id},
        "showtime_id": {"S": hold.showtime_id},
        "customer_id": {"S": hold.customer_id},
        **hold_shape.write_seats([(s.seat_id, s.fence) for s in hold.seats]),
        "lease_expires_at_ms": {"N": str(hold.lease_expires_at_ms)},
        "hold_status": {"S": hold.status.value},
        "created_at_ms": {"N": str(hold.created_at_ms)},
        "expires_at": {"N": str(hold.lease_expires_at_ms // 1000 + HOLD_TTL_GRACE_SECONDS)},
    }


def _client(client: DynamoDBClient | None) -> DynamoDBClient:
    return client if client is not None else aws.dynamodb()


def _event_put(
    table_name: str, tenant: TenantContext, data: EventData, correlation_id: str | None, fallback: str
) -> dict[str, Any]:
    event = envelope(data, tenant_id=tenant.tenant_id, correlation_id=correlation_id or fallback)
    return outbox_put(table_name, event)


# ---- reads -----------------------------------------------------------------------------------------------------------
def get_hold(tenant: TenantContext, hold_id: str, *, table_name: str, client: DynamoDBClient | None = None) -> Hold:
    """The hold, read consistently; ``HoldNotFound`` if it is not in this tenant."""
    item = (
        _client(client).get_item(TableName=table_name, Key=hold_key(tenant, hold_id), ConsistentRead=True).get("Item")
    )
    if not item:
        raise HoldNotFound(f"No hold {hold_id}.")
    return hold_from_item(tenant, item)


def read_seats(
    tenant: TenantContext,
    showtime_id: str,
    seat_ids: Sequence[str],
    *,
    table_name: str,
    client: DynamoDBClient | None = None,
) -> dict[str, Seat]:
    """The named seats of a showtime (consistent). Missing seats are absent from the result."""
    ddb = _client(client)
    found: dict[str, Seat] = {}
    for start in range(0, len(seat_ids), 100):
        keys = [seat_key(tenant, showtime_id, s) for s in seat_ids[start : start + 100]]
        request: dict[str, Any] = {table_name: {"Keys": keys, "ConsistentRead": True}}
        while request:
            response = ddb.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table_name, []):
                seat = seat_from_item(item)
                found[seat.seat_id] = seat
            request = response.get("UnprocessedKeys") or {}  # type: ignore[assignment]
    return found


def showtime_item(
    tenant: TenantContext, showtime_id: str, *, table_name: str, client: DynamoDBClient | None = None
) -> dict[str, Any]:
    item = (
        _client(client)
        .get_item(TableName=table_name, Key={"pk": {"S": showtime_pk(tenant, showtime_id)}, "sk": {"S": META}})
        .get("Item")
    )
    if not item or "deletedAt" in item:  # a soft-deleted showtime takes no new holds (challenge 8)
        raise ShowtimeNotFound(f"No showtime {showtime_id}.")
    return item


# ---- hold ------------------------------------------------------------------------------------------------------------
def create_hold(
    tenant: TenantContext,
    *,
    showtime_id: str,
    seat_ids: Sequence[str],
    lease_seconds: int,
    table_name: str,
    correlation_id: str | None = None,
    client: DynamoDBClient | None = None,
    at_ms: int | None = None,
    hold_id: str | None = None,
) -> Hold:
    """Hold ``seat_ids`` of the showtime for the caller (``tenant.user_id``), all or none.

    Raises ``UnknownSeats`` (seats not of this showtime), ``SeatsTaken`` (listing every seat that is not free; nothing
    is written). The caller validates the list (non-empty, unique, at most ``MAX_SEATS_PER_HOLD``) and the showtime.
    """
    ddb = _client(client)
    now = at_ms if at_ms is not None else now_ms()
    seats = read_seats(tenant, showtime_id, seat_ids, table_name=table_name, client=ddb)
    unknown = [s for s in seat_ids if s not in seats]
    if unknown:
        raise UnknownSeats(unknown)
    not_free = [s for s in seat_ids if seats[s].state(now) is not SeatState.FREE]
    if not_free:
        raise SeatsTaken(not_free)

    hold = Hold(
        hold_id=hold_id or new_hold_id(),
        tenant_id=tenant.tenant_id,
        showtime_id=showtime_id,
        customer_id=tenant.user_id,
        seats=[HeldSeat(seat_id=s, fence=seats[s].fence + 1) for s in seat_ids],
        lease_expires_at_ms=now + lease_seconds * 1000,
        status=HoldStatus.ACTIVE,
        created_at_ms=now,
    )
    items: list[Any] = [
        {
            "Update": {
                "TableName": table_name,
                "Key": seat_key(tenant, showtime_id, held.seat_id),
                "ConditionExpression": SEAT_IS_FREE_AT_FENCE,
                "UpdateExpression": "SET holder = :hold, lease_expires_at = :exp, fence = :next",
                "ExpressionAttributeValues": {
                    ":available": {"S": AVAILABLE},
                    ":now": {"N": str(now)},
                    ":seen": {"N": str(held.fence - 1)},
                    ":next": {"N": str(held.fence)},
                    ":hold": {"S": hold.hold_id},
                    ":exp": {"N": str(hold.lease_expires_at_ms)},
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        for held in hold.seats
    ]
    items.append(
        {"Put": {"TableName": table_name, "Item": _hold_item(tenant, hold), "ConditionExpression": ITEM_IS_NEW}}
    )
    created = HoldCreated(
        hold_id=hold.hold_id,
        showtime_id=showtime_id,
        customer_id=hold.customer_id,
        seats=[HeldSeatData(seat_id=s.seat_id, fence=s.fence) for s in hold.seats],
        lease_expires_at_ms=hold.lease_expires_at_ms,
    )
    items.append(_event_put(table_name, tenant, created, correlation_id, hold.hold_id))
    try:
        ddb.transact_write_items(TransactItems=items)
    except ClientError as exc:
        if not is_cancelled(exc):
            raise
        reasons = cancellation_reasons(exc)
        taken = [
            held.seat_id
            for held, reason in zip(hold.seats, reasons, strict=False)
            if reason.get("Code") not in (None, "None")
        ]
        # A seat whose condition failed (taken meanwhile) or that was in a concurrent transaction: nothing was written.
        raise SeatsTaken(taken or list(seat_ids)) from exc
    return hold


# ---- convert (the saga's ReserveSeats) -------------------------------------------------------------------------------
def convert_hold(
    tenant: TenantContext,
    hold_id: str,
    order_id: str,
    *,
    table_name: str,
    correlation_id: str | None = None,
    extra_items: Sequence[Mapping[str, Any]] = (),
    client: DynamoDBClient | None = None,
) -> Hold:
    """Sell the hold's seats to ``order_id`` in one transaction (+ ``SeatsReserved`` + ``extra_items``).

    Idempotent: a hold already converted to this order is returned as is. Raises ``HoldNotFound``, and ``HoldExpired``
    when any seat's fence moved on (another hold took it after this lease expired) or the hold was released or
    converted to another order. Nothing is written when it raises.
    """
    ddb = _client(client)
    hold = get_hold(tenant, hold_id, table_name=table_name, client=ddb)
    if hold.status is HoldStatus.CONVERTED and hold.order_id == order_id:
        return hold
    if hold.status is not HoldStatus.ACTIVE:
        raise HoldExpired(f"Hold {hold_id} is {hold.status.value.lower()}: its seats cannot be sold.")

    items: list[Any] = [
        {
            "Update": {
                "TableName": table_name,
                "Key": seat_key(tenant, hold.showtime_id, seat.seat_id),
                "ConditionExpression": SEAT_HELD_BY_HOLD,
                "UpdateExpression": "SET sold_to = :order",
                "ExpressionAttributeValues": {
                    ":hold": {"S": hold_id},
                    ":token": {"N": str(seat.fence)},
                    ":order": {"S": order_id},
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        for seat in hold.seats
    ]
    items.append(
        {
            "Update": {
                "TableName": table_name,
                "Key": hold_key(tenant, hold_id),
                "ConditionExpression": HOLD_IS_ACTIVE,
                "UpdateExpression": "SET hold_status = :converted, order_id = :order REMOVE expires_at",
                "ExpressionAttributeValues": {
                    ":active": {"S": HoldStatus.ACTIVE.value},
                    ":converted": {"S": HoldStatus.CONVERTED.value},
                    ":order": {"S": order_id},
                },
            }
        }
    )
    reserved = SeatsReserved(
        hold_id=hold_id,
        order_id=order_id,
        showtime_id=hold.showtime_id,
        seats=hold.seat_ids,
        fences=[HeldSeatData(seat_id=s.seat_id, fence=s.fence) for s in hold.seats],
    )
    items.append(_event_put(table_name, tenant, reserved, correlation_id, order_id))
    items.extend(dict(i) for i in extra_items)
    try:
        ddb.transact_write_items(TransactItems=items)
    except ClientError as exc:
        if not is_cancelled(exc):
            raise
        current = get_hold(tenant, hold_id, table_name=table_name, client=ddb)
        if current.status is HoldStatus.CONVERTED and current.order_id == order_id:
            return current  # a concurrent retry converted it: the work is done
        reasons = cancellation_reasons(exc)
        lost = [s.seat_id for s, r in zip(hold.seats, reasons, strict=False) if r.get("Code") not in (None, "None")]
        hold_failed = len(reasons) > len(hold.seats) and reasons[len(hold.seats)].get("Code") not in (None, "None")
        if lost or hold_failed:
            detail = f"Seats {', '.join(lost)} are no longer held by {hold_id}." if lost else f"Hold {hold_id} changed."
            raise HoldExpired(detail) from exc
        raise ConflictError(f"The transaction converting {hold_id} was cancelled by another item.") from exc
    return current_after(hold, HoldStatus.CONVERTED, order_id)


def current_after(hold: Hold, status: HoldStatus, order_id: str | None) -> Hold:
    return hold.model_copy(update={"status": status, "order_id": order_id})


# ---- release ---------------------------------------------------------------------------------------------------------
def release_hold(
    tenant: TenantContext,
    hold_id: str,
    *,
    table_name: str,
    reason: str = "released",
    owner_id: str | None = None,
    correlation_id: str | None = None,
    extra_items: Sequence[Mapping[str, Any]] = (),
    client: DynamoDBClient | None = None,
) -> ReleaseResult:
    """Give back the seats the hold still owns (+ ``HoldReleased`` + ``extra_items``), and mark it RELEASED.

    ``owner_id`` (DELETE /holds/{id}): a hold of another customer is ``HoldNotFound``. Idempotent: an already released
    hold is returned with ``changed=False`` and nothing is written. A converted hold is ``HoldNotActive`` (use
    ``release_sold`` to compensate an order). Seats taken over by another hold are left alone.
    """
    ddb = _client(client)
    for _attempt in range(RELEASE_ATTEMPTS):
        hold = get_hold(tenant, hold_id, table_name=table_name, client=ddb)
        if owner_id is not None and hold.customer_id != owner_id:
            raise HoldNotFound(f"No hold {hold_id}.")
        if hold.status is HoldStatus.RELEASED:
            return ReleaseResult(hold=hold, changed=False)
        if hold.status is HoldStatus.CONVERTED:
            raise HoldNotActive(f"Hold {hold_id} became order {hold.order_id}: cancel the order instead.")
        seats = read_seats(tenant, hold.showtime_id, hold.seat_ids, table_name=table_name, client=ddb)
        owned = [h for h in hold.seats if h.seat_id in seats and seats[h.seat_id].owned_by(hold_id, h.fence)]
        items: list[Any] = [_release_seat(tenant, table_name, hold, s) for s in owned]
        items.append(_hold_status_update(tenant, table_name, hold_id, HOLD_IS_ACTIVE, HoldStatus.RELEASED))
        released = HoldReleased(
            hold_id=hold_id,
            showtime_id=hold.showtime_id,
            seats=[s.seat_id for s in owned],
            reason=reason,
            fences=[HeldSeatData(seat_id=s.seat_id, fence=s.fence) for s in owned],
        )
        items.append(_event_put(table_name, tenant, released, correlation_id, hold_id))
        items.extend(dict(i) for i in extra_items)
        try:
            ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if not is_cancelled(exc):
                raise
            continue  # something moved (a concurrent release, a takeover): read again and decide again
        return ReleaseResult(
            hold=current_after(hold, HoldStatus.RELEASED, None), released_seats=[s.seat_id for s in owned]
        )
    raise ConflictError(f"Hold {hold_id} kept changing during {RELEASE_ATTEMPTS} release attempts.")


def release_sold(
    tenant: TenantContext,
    hold_id: str,
    order_id: str,
    *,
    table_name: str,
    correlation_id: str | None = None,
    extra_items: Sequence[Mapping[str, Any]] = (),
    client: DynamoDBClient | None = None,
) -> ReleaseResult:
    """Compensation (the saga's ReleaseSeats): give back the seats of ``order_id``, whatever stage the hold reached.

    - hold CONVERTED to this order: seats with ``sold_to = order`` lose ``sold_to``, ``holder`` and the lease; the
      hold becomes RELEASED; ``SeatsReleased`` is written;
    - hold still ACTIVE (ReserveSeats never ran or failed): as ``release_hold`` (reason ``order-failed``);
    - hold RELEASED, or converted to another order: nothing to do (``changed=False``).
    Idempotent; never raises ``HoldExpired``. Raises ``HoldNotFound`` for an unknown hold.
    """
    ddb = _client(client)
    for _attempt in range(RELEASE_ATTEMPTS):
        hold = get_hold(tenant, hold_id, table_name=table_name, client=ddb)
        if hold.status is HoldStatus.ACTIVE:
            return release_hold(
                tenant,
                hold_id,
                table_name=table_name,
                reason="order-failed",
                correlation_id=correlation_id,
                extra_items=extra_items,
                client=ddb,
            )
        if hold.status is HoldStatus.RELEASED or hold.order_id != order_id:
            return ReleaseResult(hold=hold, changed=False)
        seats = read_seats(tenant, hold.showtime_id, hold.seat_ids, table_name=table_name, client=ddb)
        sold = [h for h in hold.seats if h.seat_id in seats and seats[h.seat_id].sold_to == order_id]
        items: list[Any] = [
            {
                "Update": {
                    "TableName": table_name,
                    "Key": seat_key(tenant, hold.showtime_id, s.seat_id),
                    "ConditionExpression": SEAT_SOLD_TO_ORDER,
                    "UpdateExpression": "REMOVE sold_to, holder, lease_expires_at",
                    "ExpressionAttributeValues": {":order": {"S": order_id}},
                }
            }
            for s in sold
        ]
        items.append(
            _hold_status_update(
                tenant, table_name, hold_id, HOLD_IS_CONVERTED_TO_ORDER, HoldStatus.RELEASED, order_id=order_id
            )
        )
        event = SeatsReleased(
            hold_id=hold_id,
            order_id=order_id,
            showtime_id=hold.showtime_id,
            seats=[s.seat_id for s in sold],
            fences=[HeldSeatData(seat_id=s.seat_id, fence=s.fence) for s in sold],
        )
        items.append(_event_put(table_name, tenant, event, correlation_id, order_id))
        items.extend(dict(i) for i in extra_items)
        try:
            ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if not is_cancelled(exc):
                raise
            continue
        return ReleaseResult(
            hold=current_after(hold, HoldStatus.RELEASED, order_id), released_seats=[s.seat_id for s in sold]
        )
    raise ConflictError(f"Hold {hold_id} kept changing during {RELEASE_ATTEMPTS} release attempts.")


def _release_seat(tenant: TenantContext, table_name: str, hold: Hold, seat: HeldSeat) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table_name,
            "Key": seat_key(tenant, hold.showtime_id, seat.seat_id),
            "ConditionExpression": SEAT_HELD_BY_HOLD,
            "UpdateExpression": "REMOVE holder, lease_expires_at",
            "ExpressionAttributeValues": {":hold": {"S": hold.hold_id}, ":token": {"N": str(seat.fence)}},
        }
    }


def _hold_status_update(
    tenant: TenantContext,
    table_name: str,
    hold_id: str,
    condition: str,
    status: HoldStatus,
    *,
    order_id: str | None = None,
) -> dict[str, Any]:
    values: dict[str, Any] = {":status": {"S": status.value}}
    if condition == HOLD_IS_ACTIVE:
        values[":active"] = {"S": HoldStatus.ACTIVE.value}
    else:
        values[":converted"] = {"S": HoldStatus.CONVERTED.value}
        values[":order"] = {"S": order_id or ""}
    return {
        "Update": {
            "TableName": table_name,
            "Key": hold_key(tenant, hold_id),
            "ConditionExpression": condition,
            "UpdateExpression": "SET hold_status = :status",
            "ExpressionAttributeValues": values,
        }
    }


def seat_ids_of(items: Iterable[Mapping[str, Any]]) -> list[str]:
    """Seat ids of raw seat items (a query over a showtime partition)."""
    return [i["sk"]["S"].removeprefix(SEAT_PREFIX) for i in items if i["sk"]["S"].startswith(SEAT_PREFIX)]
