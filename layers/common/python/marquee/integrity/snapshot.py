"""What the stores hold, read for one reconciler run.

The main table is read with ONE paginated Scan per shard table (tenant sharding, challenge 9: each tenant's items from
the shard the map places it on), filtered on the server to the items the checks compare (orders,
payments, charge attempts, and seats that are sold): everything else (catalog, holds, outbox, audit) stays on the
server. It is a platform read across tenants, like the outbox relay's stream, done with the reconciler's own role
(read-only on the table). Its cost grows with the table: docs/design/08-cross-service-integrity.md gives the figures
and what to do past them (parallel scan segments, or an export to S3 queried with Athena).

The providers' ledgers are read BEFORE the table: a charge made before the ledger read whose payment was written
after it is then found by the scan, never reported as a charge without a payment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from marquee.booking.orders import Order, order_from_item
from marquee.booking.seats import SEAT_PREFIX
from marquee.payments.models import ProviderName
from marquee.payments.provider import LedgerCharge
from marquee.payments.store import Attempt, PaymentStore, StoredPayment, attempt_from_item
from marquee.sharding.routing import scan_targets, tenant_from_pk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

_KEY = re.compile(r"^TENANT#(?P<tenant>[^#]+)#(?P<kind>ORDER|PAYMENT|SHOWTIME)#(?P<id>[^#]+)$")
SCAN_FILTER = (
    "(sk = :meta AND (contains(pk, :order) OR contains(pk, :payment))) OR sk = :attempt"
    " OR (begins_with(sk, :seat) AND attribute_exists(sold_to))"
)


@dataclass(frozen=True)
class SoldSeat:
    tenant_id: str
    showtime_id: str
    seat_id: str
    order_id: str


@dataclass(frozen=True)
class PendingAttempt:
    tenant_id: str
    payment_id: str
    attempt: Attempt


@dataclass
class Snapshot:
    orders: dict[tuple[str, str], Order] = field(default_factory=dict)  # (tenant, order id)
    payments: dict[tuple[str, str], StoredPayment] = field(default_factory=dict)  # (tenant, payment id)
    attempts: dict[tuple[str, str], PendingAttempt] = field(default_factory=dict)  # (tenant, payment id)
    sold_seats: dict[tuple[str, str, str], SoldSeat] = field(default_factory=dict)  # (tenant, showtime, seat)
    ledgers: dict[ProviderName, list[LedgerCharge]] = field(default_factory=dict)  # only the providers that answered
    malformed: list[tuple[str, str, str, str]] = field(default_factory=list)  # (tenant, kind, id, what is wrong)

    def counts(self) -> dict[str, int]:
        return {
            "orders": len(self.orders),
            "payments": len(self.payments),
            "attempts": len(self.attempts),
            "soldSeats": len(self.sold_seats),
            "charges": sum(len(charges) for charges in self.ledgers.values()),
        }


def scan_items(client: DynamoDBClient, table_name: str, *, page_size: int = 1000) -> Iterator[dict[str, Any]]:
    """Every compared item of the logical table ``table_name``: of each shard, the tenants it holds."""
    for table, holds in scan_targets(client, table_name):
        for item in _scan_table(client, table, page_size=page_size):
            if holds(tenant_from_pk(item["pk"]["S"])):
                yield item


def _scan_table(client: DynamoDBClient, table_name: str, *, page_size: int) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "FilterExpression": SCAN_FILTER,
        "ExpressionAttributeValues": {
            ":meta": {"S": "META"},
            ":attempt": {"S": "ATTEMPT"},
            ":order": {"S": "#ORDER#"},
            ":payment": {"S": "#PAYMENT#"},
            ":seat": {"S": SEAT_PREFIX},
        },
        "Limit": page_size,
        "ConsistentRead": True,
    }
    while True:
        page = client.scan(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def add_item(snapshot: Snapshot, item: dict[str, Any]) -> None:
    """File one scanned item under what it is (anything unrecognised is ignored)."""
    match = _KEY.match(item["pk"]["S"])
    if match is None:
        return
    tenant, kind, ident = match["tenant"], match["kind"], match["id"]
    try:
        _file(snapshot, item, tenant, kind, ident)
    except (KeyError, ValueError, TypeError) as exc:  # a partial item: reported as drift, never a crashed run
        snapshot.malformed.append((tenant, kind, ident, f"{type(exc).__name__}: {exc}"[:200]))


def _file(snapshot: Snapshot, item: dict[str, Any], tenant: str, kind: str, ident: str) -> None:
    sk = item["sk"]["S"]
    if kind == "ORDER" and sk == "META":
        snapshot.orders[(tenant, ident)] = order_from_item(item)
    elif kind == "PAYMENT" and sk == "META":
        snapshot.payments[(tenant, ident)] = PaymentStore._payment(tenant, ident, item)  # noqa: SLF001 - its parser
    elif kind == "PAYMENT" and sk == "ATTEMPT":
        snapshot.attempts[(tenant, ident)] = PendingAttempt(tenant, ident, attempt_from_item(item))
    elif kind == "SHOWTIME" and sk.startswith(SEAT_PREFIX) and "sold_to" in item:
        seat_id = sk.removeprefix(SEAT_PREFIX)
        snapshot.sold_seats[(tenant, ident, seat_id)] = SoldSeat(tenant, ident, seat_id, item["sold_to"]["S"])
