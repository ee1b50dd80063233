"""A booking world for the integrity reconciler's tests (and the bench): showtimes, orders driven through the saga's
real step handlers against the in-process providers, and the reconciler wired to the same tables and providers."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import requests

from marquee.booking import seats
from marquee.booking.orders import Order, OrderPlaced, OrderStatus, OrderStore, SeatToken, order_id_for
from marquee.core.money import Money
from marquee.integrity import IntegrityReport, ReconcilerDeps, reconcile
from marquee.integrity.store import ReportStore
from marquee.payments.config import default_deps
from marquee.tenancy.tenant import TenantContext

from ..conftest import LambdaContext
from .conftest import API_KEYS, SETTINGS, PaymentsWorld

TENANT = "acme-cinemas"
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_SLOW = "4000000000000119"
FUTURE = "2030-01-01T20:00:00Z"


@dataclass
class IntegrityWorld:
    payments: PaymentsWorld
    saga: ModuleType
    table: str = SETTINGS["TABLE_NAME"]

    def showtime(self, seat_ids: list[str]) -> str:
        showtime_id = f"sh_{uuid.uuid4().hex[:8]}"
        tenant = TenantContext(tenant_id=TENANT, user_id="seeder")
        ddb = self.payments.ddb
        ddb.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": seats.showtime_pk(tenant, showtime_id)},
                "sk": {"S": seats.META},
                "price": {"M": {"amount": {"N": "1100"}, "currency": {"S": "EUR"}}},
                "startsAt": {"S": FUTURE},
            },
        )
        for seat in seat_ids:
            ddb.put_item(TableName=self.table, Item=seats.seat_item(tenant, showtime_id, seat, available=True))
        return showtime_id

    def place(self, customer: str, showtime_id: str, seat_ids: list[str], card: str) -> str:
        """POST /orders' write (order PENDING + OrderPlaced), for a new hold of ``seat_ids``."""
        who = TenantContext(tenant_id=TENANT, user_id=customer)
        hold = seats.create_hold(
            who, showtime_id=showtime_id, seat_ids=seat_ids, lease_seconds=600, table_name=self.table
        )
        order = Order(
            order_id=order_id_for(TENANT, hold.hold_id),
            tenant_id=TENANT,
            status=OrderStatus.PENDING,
            hold_id=hold.hold_id,
            customer_id=customer,
            showtime_id=showtime_id,
            seats=[SeatToken(seat_id=s.seat_id, fence=s.fence) for s in hold.seats],
            amount=Money(amount=1100 * len(seat_ids), currency="EUR"),
            card=card,
            created_at=datetime.now(UTC).isoformat(),
        )
        store = OrderStore(self.table)
        placed = OrderPlaced(
            order_id=order.order_id,
            hold_id=order.hold_id,
            customer_id=customer,
            showtime_id=showtime_id,
            seat_ids=seat_ids,
            amount=order.amount,
        )
        store.transact([store.put_new(order), store.outbox(order, placed)])
        return order.order_id

    def step(self, name: str, order_id: str, **extra: Any) -> dict[str, Any]:
        result: dict[str, Any] = getattr(self.saga, name)(
            {"tenantId": TENANT, "orderId": order_id, **extra}, LambdaContext()
        )
        return result

    def compensate(self, order_id: str, error: str) -> None:
        self.step("refund_payment", order_id)
        self.step("release_seats", order_id)
        cause = json.dumps({"errorType": error, "errorMessage": error})
        self.step("mark_failed", order_id, error={"Error": error, "Cause": cause})

    def order(self, customer: str, seat_ids: list[str], card: str = CARD_OK) -> str:
        """A whole saga: CONFIRMED with a good card; FAILED (compensated) with a declined one."""
        order_id = self.place(customer, self.showtime(seat_ids), seat_ids, card)
        self.step("reserve_seats", order_id)
        try:
            self.step("charge_payment", order_id)
        except Exception as exc:  # noqa: BLE001 - the state machine's Catch: the error's class name
            self.compensate(order_id, type(exc).__name__)
            return order_id
        self.step("confirm_order", order_id)
        return order_id

    def reconcile(self, grace_seconds: int = 0) -> IntegrityReport:
        return reconcile(
            ReconcilerDeps(
                table_name=self.table,
                client=self.payments.ddb,
                payments=default_deps(),
                reports=ReportStore(SETTINGS["OPS_TABLE_NAME"], client=self.payments.ddb),
                grace=timedelta(seconds=grace_seconds),
            )
        )

    def stray_charge(self, provider: str = "primary") -> dict[str, Any]:
        """A charge made at the provider that nothing of ours asked for (a charge without an order)."""
        answer = requests.post(
            f"{self.payments.providers[provider].url}/v1/charges",
            json={"amount": 999, "currency": "EUR", "card": CARD_OK, "description": "nobody's"},
            headers={"Authorization": f"Bearer {API_KEYS[provider]}", "Idempotency-Key": f"stray-{uuid.uuid4().hex}"},
            timeout=5,
        )
        assert answer.status_code == 201, answer.text
        charge: dict[str, Any] = answer.json()
        return charge

    def item(self, pk: str, sk: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.payments.ddb.get_item(
            TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        ).get("Item")
        return found
