"""Helpers for the order saga's e2e tests and its benchmark: seed showtimes and holds, place orders, wait for them.

Showtimes and their seats are written straight into DynamoDB, and holds are made with ``marquee.booking.seats.create_hold``
(the same code the holds function runs), so the saga tests do not depend on the catalog API's shape. Orders always go
through the front door with a real Cognito token.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import requests

from devkit.functions import functions_by_service
from devkit.identity import token_for
from localcloud.aws import local_client
from marquee.booking import seats
from marquee.tenancy.tenant import TenantContext

CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_SLOW = "4000000000000119"
CARD_FAILS_AFTER_CHARGE = "4000000000009995"
PRICE = {"amount": 1250, "currency": "EUR"}
STARTS_LATER = "2030-01-01T20:00:00Z"
STARTED = "2020-01-01T20:00:00Z"  # a showtime that has begun: ConfirmOrder refuses it after the charge
TERMINAL = ("CONFIRMED", "FAILED")
SAGA_STEP_SERVICES = (
    "order-saga-reserve-seats",
    "order-saga-charge-payment",
    "order-saga-confirm-order",
    "order-saga-refund-payment",
    "order-saga-release-seats",
    "order-saga-mark-failed",
)


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


@dataclass
class Customer:
    tenant: str
    token: str
    context: TenantContext


class SagaWorld:
    """One deployed stack, seen by the saga tests: tokens, DynamoDB seeding, the API and the state machine."""

    def __init__(self, endpoint: str, outputs: dict[str, Any]) -> None:
        self.endpoint = endpoint
        self.outputs = outputs
        self.table = outputs["TableName"]
        self.api = f"{endpoint}/_aws/execute-api/{outputs['ApiId']}/{outputs['StageName']}"
        self.ddb = local_client("dynamodb", endpoint)
        self.sfn = local_client("stepfunctions", endpoint)
        self.http = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=64)
        self.http.mount("http://", adapter)

    def customer(self, tenant: str, user: str) -> Customer:
        token = token_for(self.endpoint, tenant=tenant, user=user, group="customer", outputs=self.outputs)
        claims = claims_of(token)
        return Customer(tenant, token, TenantContext(tenant_id=tenant, user_id=claims["sub"]))

    def showtime(
        self,
        tenant: str,
        *,
        rows: int = 10,
        per_row: int = 10,
        lease_seconds: int = 300,
        starts_at: str = STARTS_LATER,
    ) -> tuple[str, list[str]]:
        """A showtime with ``rows`` x ``per_row`` free seats; returns its id and seat ids.

        ``starts_at=STARTED`` makes one that has begun: holds and orders on it are taken (seeded straight into the
        table), and the saga captures the payment, then ConfirmOrder refuses it (sales close at the start), so the
        order is refunded and its seats released: a failure after the charge, on every run."""
        showtime_id = f"sh_{uuid.uuid4().hex[:12]}"
        context = TenantContext(tenant_id=tenant, user_id="seeder")
        seat_ids = [f"{chr(ord('A') + r)}{n}" for r in range(rows) for n in range(1, per_row + 1)]
        items = [
            {
                "pk": {"S": seats.showtime_pk(context, showtime_id)},
                "sk": {"S": seats.META},
                "price": {"M": {"amount": {"N": str(PRICE["amount"])}, "currency": {"S": PRICE["currency"]}}},
                "holdLeaseSeconds": {"N": str(lease_seconds)},
                "startsAt": {"S": starts_at},
            },
            *(seats.seat_item(context, showtime_id, seat, available=True) for seat in seat_ids),
        ]
        for start in range(0, len(items), 25):
            batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            self.ddb.batch_write_item(RequestItems={self.table: batch})
        return showtime_id, seat_ids

    def hold(self, customer: Customer, showtime_id: str, seat_ids: list[str], lease_seconds: int = 300) -> str:
        hold = seats.create_hold(
            customer.context,
            showtime_id=showtime_id,
            seat_ids=seat_ids,
            lease_seconds=lease_seconds,
            table_name=self.table,
            client=self.ddb,
        )
        return hold.hold_id

    def place(self, customer: Customer, hold_id: str, card: str = CARD_OK) -> requests.Response:
        return self.http.post(
            f"{self.api}/orders",
            json={"holdId": hold_id, "card": card},
            headers={"Authorization": customer.token},
            timeout=180,  # under a 300-order burst on 2 cores, requests queue for a worker
        )

    def order(self, customer: Customer, order_id: str) -> requests.Response:
        return self.http.get(f"{self.api}/orders/{order_id}", headers={"Authorization": customer.token}, timeout=30)

    def wait_order(self, customer: Customer, order_id: str, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body: dict[str, Any] = self.order(customer, order_id).json()
            if body.get("status") in TERMINAL or time.monotonic() > deadline:
                return body
            time.sleep(0.2)

    def seat(self, tenant: str, showtime_id: str, seat_id: str) -> seats.Seat:
        context = TenantContext(tenant_id=tenant, user_id="reader")
        return seats.read_seats(context, showtime_id, [seat_id], table_name=self.table, client=self.ddb)[seat_id]

    def seats_of(self, tenant: str, showtime_id: str) -> list[seats.Seat]:
        context = TenantContext(tenant_id=tenant, user_id="reader")
        found: list[seats.Seat] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :seat)",
            "ExpressionAttributeValues": {
                ":pk": {"S": seats.showtime_pk(context, showtime_id)},
                ":seat": {"S": seats.SEAT_PREFIX},
            },
            "ConsistentRead": True,
        }
        while True:
            page = self.ddb.query(**kwargs)
            found.extend(seats.seat_from_item(item) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def items_with(self, marker: str) -> list[dict[str, Any]]:
        """Every main-table item whose pk contains ``marker`` (e.g. ``#PAYMENT#``): a scan, for assertions only."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": "contains(pk, :marker)",
            "ExpressionAttributeValues": {":marker": {"S": marker}},
            "ConsistentRead": True,
        }
        while True:
            page = self.ddb.scan(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def executions(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"stateMachineArn": self.outputs["OrderSagaArn"], "maxResults": 1000}
        while True:
            page = self.sfn.list_executions(**kwargs)
            found.extend(page["executions"])
            if not page.get("nextToken"):
                return found
            kwargs["nextToken"] = page["nextToken"]

    def step_function_names(self) -> dict[str, str]:
        """Service name (``order-saga-reserve-seats``) -> deployed function name."""
        return {s: n for s, n in functions_by_service(self.endpoint).items() if s in SAGA_STEP_SERVICES}

    def busy_workers(self) -> dict[str, int]:
        """Deployed function name -> workers in the middle of an invocation (the local cloud's stats)."""
        workers = self.http.get(f"{self.endpoint}/_localcloud/stats", timeout=10).json()["workers"]
        return {name: int(counts.get("busy", 0)) for name, counts in workers.items()}

    def kill_busy(self, function_name: str, limit: int | None = None) -> int:
        query = f"?limit={limit}" if limit else ""
        response = self.http.post(f"{self.endpoint}/_localcloud/chaos/kill/{function_name}{query}", timeout=10)
        return int(response.json()["killed"])

    def provider_url(self, name: str = "primary") -> str:
        secrets = local_client("secretsmanager", self.endpoint)
        return str(json.loads(secrets.get_secret_value(SecretId=f"marquee/payments/{name}")["SecretString"])["url"])

    def provider_config(self, name: str = "primary", **config: Any) -> dict[str, Any]:
        response = self.http.post(f"{self.provider_url(name)}/_admin/config", json=config, timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def provider_stats(self, name: str = "primary") -> dict[str, Any]:
        response = self.http.get(f"{self.provider_url(name)}/_admin/stats", timeout=10)
        response.raise_for_status()
        return dict(response.json())
