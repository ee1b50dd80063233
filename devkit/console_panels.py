"""Marquee's pages in the local cloud's console (localcloud/extensions.py, ``console_panels`` and ``console_api``).

``devkit.simulators:Simulators`` adds them. Each panel is an ES module in ``devkit/console/`` (no framework, no CDN),
drawn by the console and fed by this module's JSON, at ``/_localcloud/console/api/x/marquee/...``:
- ``GET seats?showtime=[&tenant=]``: a showtime's seat items, each seat free, held, sold or unavailable now (the
  rule of ``marquee.booking.seats.Seat.state``); ``GET showtimes``: showtimes seen on the bus lately;
- ``GET order?order=[&tenant=]``: an order's journey: the order, its hold, its saga execution, the payment and what
  each provider was asked under the saga's key, the breakers now, its events and where they went, its notifications
  and webhook deliveries; ``GET orders``: orders seen on the bus lately;
- ``GET flags``, ``POST flags {"name", "default"}``: the feature flags, and a flag's default changed as
  ``marquee flags set`` does it (a new AppConfig version, deployed); the console's token and origin checks guard it;
- ``GET maintenance``, ``POST maintenance {"service", "on", "tenant"?, "writesOnly"?, "retryAfterS"?, "detail"?}``:
  the scopes in maintenance and the API's services, and a scope switched on or off as `marquee maintenance on|off`
  does it (the ``maintenance_mode`` flag, marquee.http.maintenance); guarded like the flags;
- ``GET breakers``: every circuit breaker's record and its transitions (the ops table).

The data is read the way any client would, with boto3 against the cloud's own endpoint (the stack's outputs name the
tables), except the bus events, which come from the console's activity recorder, and the payment providers' ledgers,
which are the simulators' own.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devkit.state import STACK_NAME
from localcloud.aws import client_errors, local_client

if TYPE_CHECKING:
    from localcloud.server import LocalCloud

PANELS_DIR = Path(__file__).parent / "console"
PANELS = (
    ("seat-map", "Seat map", "seat_map.js"),
    ("order-journey", "Order journey", "order_journey.js"),
    ("flags", "Feature flags", "flags.js"),
    ("breakers", "Breakers", "breakers.js"),
)
ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
SEAT_ID = re.compile(r"^([A-Z]+)(\d+)$")
ORDER_EVENTS = ("OrderPlaced", "OrderConfirmed", "OrderFailed")
SHOWTIME_EVENTS = ("ShowtimeScheduled", "HoldCreated", "HoldReleased", "SeatsReserved", "SeatsReleased")
OUTPUTS_TTL_S = 10.0
Answer = tuple[int, Any]


class _NotFound(Exception):
    pass


class MarqueeConsole:
    """The JSON behind Marquee's panels, answered in the cloud's process. ``providers`` gives the simulated payment
    providers by name (their ledgers answer "what was the provider asked")."""

    def __init__(self, cloud: LocalCloud, providers: Callable[[], Mapping[str, Any]] = dict) -> None:
        self.cloud = cloud
        self.endpoint = cloud.settings.endpoint_url
        self.providers = providers
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._tables: tuple[float, dict[str, str]] = (0.0, {})
        self._tenants: dict[str, str] = {}  # showtime or order id -> tenant
        self._cached_flags_client: Any = None

    # ---- the extension's hooks ---------------------------------------------------------------------------------
    @staticmethod
    def panels() -> list[dict[str, Any]]:
        return [{"id": pid, "title": title, "script": str(PANELS_DIR / name)} for pid, title, name in PANELS]

    def api(self, method: str, path: str, query: Mapping[str, str], body: dict[str, Any] | None) -> Answer | None:
        if not path.startswith("/marquee/"):
            return None
        route = (method if method != "HEAD" else "GET", path[len("/marquee/") :])
        handlers: dict[tuple[str, str], Callable[[], Any]] = {
            ("GET", "showtimes"): lambda: {"showtimes": self.recent(SHOWTIME_EVENTS, "showtimeId")},
            ("GET", "seats"): lambda: self.seats(_id(query, "showtime"), query.get("tenant") or None),
            ("GET", "orders"): lambda: {"orders": self.recent(ORDER_EVENTS, "orderId")},
            ("GET", "order"): lambda: self.order(_id(query, "order"), query.get("tenant") or None),
            ("GET", "flags"): self.flags,
            ("POST", "flags"): lambda: self.set_flag(body or {}),
            ("GET", "maintenance"): self.maintenance,
            ("POST", "maintenance"): lambda: self.set_maintenance(body or {}),
            ("GET", "breakers"): self.breakers,
        }
        handler = handlers.get(route)
        if handler is None:
            return None
        try:
            return 200, handler()
        except ValueError as exc:
            return 400, {"detail": str(exc)}
        except _NotFound as exc:
            return 404, {"detail": str(exc)}
        except client_errors() as exc:
            return 503, {"detail": f"the stack could not be read: {exc}"}

    # ---- plumbing ------------------------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = local_client(service, self.endpoint)
            return self._clients[service]

    def tables(self) -> dict[str, str]:
        """The main and ops tables' names, from the stack (looked up again after 10 s: a redeploy may rename them)."""
        at, found = self._tables
        if found and time.monotonic() - at < OUTPUTS_TTL_S:
            return found
        cfn = self.client("cloudformation")
        try:
            resources = cfn.list_stack_resources(StackName=STACK_NAME)["StackResourceSummaries"]
        except client_errors() as exc:
            raise _NotFound(f"no {STACK_NAME} stack: deploy it first (`marquee deploy`)") from exc
        found = {}
        for resource in resources:
            if resource["ResourceType"] != "AWS::DynamoDB::Table":
                continue
            logical = resource["LogicalResourceId"]
            if logical.startswith("PlatformTable"):
                found["main"] = resource["PhysicalResourceId"]
            elif logical.startswith("PlatformOpsTable"):
                found["ops"] = resource["PhysicalResourceId"]
        self._tables = (time.monotonic(), found)
        return found

    def table(self, which: str) -> str:
        name = self.tables().get(which)
        if not name:
            raise _NotFound(f"the {STACK_NAME} stack has no {which} table")
        return name

    def query(self, pk: str, prefix: str | None = None, *, newest_first: bool = False, limit: int = 1000) -> list[Any]:
        values = {":pk": {"S": pk}}
        condition = "pk = :pk"
        if prefix:
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = {"S": prefix}
        items: list[Any] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table("main"),
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
        }
        while len(items) < limit:
            page = self.client("dynamodb").query(**kwargs, Limit=limit - len(items))
            items.extend(_plain(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return items

    def get(self, pk: str, sk: str = "META") -> dict[str, Any] | None:
        item = (
            self.client("dynamodb")
            .get_item(TableName=self.table("main"), Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
            .get("Item")
        )
        return _plain(item) if item else None

    def bus_events(self) -> list[dict[str, Any]]:
        """The recorder's recent bus events with their envelopes parsed, newest first."""
        found = []
        for event in self.cloud.activity.events(limit=2000):
            try:
                envelope = json.loads(event.get("detail") or "{}")
            except ValueError:
                continue
            if isinstance(envelope, dict) and isinstance(envelope.get("data"), dict):
                found.append({**event, "envelope": envelope})
        return found

    def recent(self, types: tuple[str, ...], key: str) -> list[dict[str, Any]]:
        """Ids (``key`` in the events' data) seen lately in events of ``types``, newest first, with their tenant."""
        seen: dict[str, dict[str, Any]] = {}
        for event in self.bus_events():
            envelope = event["envelope"]
            value = envelope["data"].get(key)
            if envelope.get("type") in types and isinstance(value, str) and value not in seen:
                tenant = str(envelope.get("tenantId"))
                self._tenants[value] = tenant
                seen[value] = {"id": value, "tenant": tenant, "lastEvent": envelope["type"], "at": event["time"]}
            if len(seen) >= 25:
                break
        return list(seen.values())

    def tenant_of(self, kind: str, entity_id: str) -> str:
        """The tenant of a showtime or order: from the bus, else from one scan of the main table (then kept)."""
        if entity_id in self._tenants:
            return self._tenants[entity_id]
        for event in self.bus_events():
            data = event["envelope"]["data"]
            if entity_id in (data.get("showtimeId"), data.get("orderId")):
                self._tenants[entity_id] = str(event["envelope"].get("tenantId"))
                return self._tenants[entity_id]
        from devkit.race import find_tenant

        found = find_tenant(self.client("dynamodb"), self.table("main"), kind, entity_id)
        if found is None:
            raise _NotFound(f"no {kind.lower()} {entity_id}")
        self._tenants[entity_id] = found
        return found

    # ---- seat map ------------------------------------------------------------------------------------------------
    def seats(self, showtime: str, tenant: str | None) -> dict[str, Any]:
        tenant = tenant or self.tenant_of("SHOWTIME", showtime)
        pk = f"TENANT#{tenant}#SHOWTIME#{showtime}"
        items = self.query(pk, "SEAT#")
        if not items:
            raise _NotFound(f"no seats for showtime {showtime} of tenant {tenant}")
        now_ms = int(time.time() * 1000)
        seats = []
        for item in items:
            seat_id = str(item["sk"])[len("SEAT#") :]
            match = SEAT_ID.match(seat_id)
            seats.append(
                {
                    "seatId": seat_id,
                    "row": match.group(1) if match else seat_id,
                    "number": int(match.group(2)) if match else 0,
                    "state": seat_state(item, now_ms),
                    "fence": int(item.get("fence", 0)),
                    "holder": item.get("holder"),
                    "leaseExpiresAtMs": item.get("lease_expires_at"),
                    "soldTo": item.get("sold_to"),
                }
            )
        seats.sort(key=lambda s: (len(s["row"]), s["row"], s["number"]))
        counts: dict[str, int] = {}
        for seat in seats:
            counts[seat["state"]] = counts.get(seat["state"], 0) + 1
        return {"tenant": tenant, "showtimeId": showtime, "atMs": now_ms, "counts": counts, "seats": seats}

    # ---- an order's journey --------------------------------------------------------------------------------------
    def order(self, order_id: str, tenant: str | None) -> dict[str, Any]:
        tenant = tenant or self.tenant_of("ORDER", order_id)
        order = self.get(f"TENANT#{tenant}#ORDER#{order_id}")
        if order is None:
            raise _NotFound(f"no order {order_id} for tenant {tenant}")
        hold_id, customer = order.get("holdId"), str(order.get("customerId"))
        # The saga's keys (functions/order_saga/logic.py) and the ids the payments service derives from them.
        payment_id = order.get("paymentId") or derived_id("pay", tenant, customer, f"order:{order_id}")
        refund_key = derived_id("ref", tenant, customer, f"refund:{order_id}")
        hold = self.get(f"TENANT#{tenant}#HOLD#{hold_id}") if hold_id else None
        payment_items = self.query(f"TENANT#{tenant}#PAYMENT#{payment_id}") if payment_id else []
        payment = next((i for i in payment_items if i.get("sk") == "META"), None)
        ids = {order_id, hold_id, payment_id} - {None}
        events = []
        for event in self.bus_events():
            envelope = event["envelope"]
            data = envelope["data"]
            if envelope.get("tenantId") == tenant and ids & {
                data.get("orderId"),
                data.get("holdId"),
                data.get("paymentId"),
            }:
                events.append(
                    {
                        "id": envelope.get("id"),
                        "type": envelope.get("type"),
                        "occurredAt": envelope.get("occurredAt"),
                        "time": event["time"],
                        "rules": event["rules"],
                    }
                )
        events.sort(key=lambda e: str(e["occurredAt"]))
        event_ids = {e["id"] for e in events}
        return {
            "tenant": tenant,
            "order": _order_view(order),
            "hold": _strip(hold),
            "executionArn": order.get("executionArn"),
            "payment": _strip(payment),
            "chargeAttempts": self.charge_attempts({"charge": payment_id, "refund": refund_key}),
            "breakers": [b for b in self.breakers()["breakers"] if str(b["name"]).startswith("payments-")],
            "events": events,
            "notifications": self.notifications(tenant, order.get("customerId"), event_ids),
            "webhooks": self.webhook_deliveries(tenant, event_ids),
        }

    def charge_attempts(self, keys: Mapping[str, str]) -> list[dict[str, Any]]:
        """What each simulated provider was asked under the payment's provider keys (by kind: charge, refund)."""
        attempts = []
        for name, provider in self.providers().items():
            ledger = getattr(provider, "ledger_for", None)
            if callable(ledger):
                for kind, key in keys.items():
                    entry = ledger(key)
                    if entry["requests"]:
                        attempts.append({"provider": name, "kind": kind, "key": key, **entry})
        return attempts

    def notifications(self, tenant: str, customer: str | None, event_ids: set[str]) -> list[dict[str, Any]]:
        if not customer or not event_ids:
            return []
        found = []
        for item in self.query(f"TENANT#{tenant}#NOTIFICATIONS#{customer}", newest_first=True, limit=200):
            try:
                entry = json.loads(item.get("entry") or "{}")
            except ValueError:
                continue
            if entry.get("eventId") in event_ids:
                found.append(entry)
        return sorted(found, key=lambda e: e.get("atMs", 0))

    def webhook_deliveries(self, tenant: str, event_ids: set[str]) -> list[dict[str, Any]]:
        if not event_ids:
            return []
        found = []
        for endpoint in self.query(f"TENANT#{tenant}#WEBHOOKS", "ENDPOINT#"):
            endpoint_id = str(endpoint["sk"])[len("ENDPOINT#") :]
            for item in self.query(f"TENANT#{tenant}#WEBHOOK#{endpoint_id}", "DELIVERY#", newest_first=True, limit=200):
                if item.get("event_id") in event_ids:
                    found.append(
                        {
                            "endpointId": endpoint_id,
                            "url": endpoint.get("url"),
                            "eventType": item.get("event_type"),
                            "status": item.get("delivery_status"),
                            "attempts": item.get("attempts") or [],
                        }
                    )
        return found

    # ---- flags ---------------------------------------------------------------------------------------------------
    def _flags_client(self) -> Any:
        """One FlagsClient per panel (two boto3 clients and three id lookups each: most of a page's time when built
        per request); a redeployed stack's new ids are looked up again after any failure."""
        from devkit.flags import FlagsClient

        client = getattr(self, "_cached_flags_client", None)
        if client is None:
            client = FlagsClient(self.endpoint)
            self._cached_flags_client = client
        return client

    def flags(self) -> dict[str, Any]:
        from devkit.flags import FlagError

        try:
            try:
                version, flags = self._flags_client().current()
            except Exception:  # noqa: BLE001 - stale ids after a redeploy: look them up once more
                self._cached_flags_client = None
                version, flags = self._flags_client().current()
        except FlagError as exc:
            raise _NotFound(str(exc)) from exc
        return {"version": version, "flags": flags}

    def set_flag(self, body: dict[str, Any]) -> dict[str, Any]:
        from devkit.flags import FlagError, FlagsClient, set_flag

        name, default = body.get("name"), body.get("default")
        if not isinstance(name, str) or not isinstance(default, bool):
            raise ValueError('send {"name": <flag>, "default": true|false}')
        try:
            client = FlagsClient(self.endpoint)
            _, flags = client.current()
            if name not in flags:
                raise _NotFound(f"no flag {name}")
            version = client.deploy(set_flag(flags, name, default=default, tenants=None, percent=None))
        except FlagError as exc:
            raise ValueError(str(exc)) from exc
        return {"version": version, "name": name, "default": default}

    # ---- maintenance mode ------------------------------------------------------------------------------------------
    def _api_services(self) -> list[str]:
        from devkit.maintenance import api_services, deployed_api_id

        api_id = deployed_api_id(self.endpoint)
        if api_id is None:
            raise _NotFound(f"no {STACK_NAME} stack: deploy it first (`marquee deploy`)")
        return sorted(api_services(self.endpoint, api_id))

    def maintenance(self) -> dict[str, Any]:
        from devkit.maintenance import status

        flags = self.flags()
        return {"version": flags["version"], "scopes": status(flags["flags"]), "services": self._api_services()}

    def set_maintenance(self, body: dict[str, Any]) -> dict[str, Any]:
        from devkit.flags import FlagError
        from devkit.maintenance import MaintenanceError, status, switch

        try:
            client = self._flags_client()
            _, flags = client.current()
            known = self._api_services() if body.get("on") is True else None
            updated = switch(flags, body, known_services=known)
            version = client.deploy(updated)
        except (FlagError, MaintenanceError) as exc:
            raise ValueError(str(exc)) from exc
        return {"version": version, "scopes": status(updated)}

    # ---- breakers ------------------------------------------------------------------------------------------------
    def breakers(self) -> dict[str, Any]:
        ops = self.table("ops")
        ddb = self.client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": ops,
            "FilterExpression": "begins_with(pk, :breaker)",
            "ExpressionAttributeValues": {":breaker": {"S": "BREAKER#"}},
            "ConsistentRead": True,
        }
        by_name: dict[str, dict[str, Any]] = {}
        while True:
            page = ddb.scan(**kwargs)
            for raw in page.get("Items", []):
                item = _plain(raw)
                name = str(item["pk"])[len("BREAKER#") :]
                breaker = by_name.setdefault(name, {"name": name, "state": "CLOSED", "transitions": []})
                if item["sk"] == "STATE":
                    breaker.update(
                        state=item.get("state"),
                        version=item.get("version"),
                        failures=item.get("failures"),
                        openedAtMs=item.get("opened_at_ms") or None,
                        probeLeaseUntilMs=item.get("probe_lease_until_ms") or None,
                    )
                elif str(item["sk"]).startswith("TRANSITION#"):
                    breaker["transitions"].append(
                        {
                            "from": item.get("from_state"),
                            "to": item.get("to_state"),
                            "atMs": item.get("at_ms"),
                            "reason": item.get("reason"),
                        }
                    )
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        for breaker in by_name.values():
            breaker["transitions"].sort(key=lambda t: t["atMs"] or 0)
        return {"nowMs": int(time.time() * 1000), "breakers": sorted(by_name.values(), key=lambda b: b["name"])}


def derived_id(prefix: str, tenant: str, client: str, key: str) -> str:
    """An id the payments service derives from an idempotency key (``marquee.payments.service._derived_id``): the
    payment id (``pay``) is the charge's key at the provider, the refund id (``ref``) the refund's."""
    return f"{prefix}_{hashlib.sha256(f'{tenant}|{client}|{key}'.encode()).hexdigest()[:24]}"


def seat_state(item: Mapping[str, Any], now_ms: int) -> str:
    """free, held, sold or unavailable at ``now_ms`` (the rule of ``marquee.booking.seats.Seat.state``)."""
    if item.get("seat_state", "AVAILABLE") != "AVAILABLE":
        return "unavailable"
    if item.get("sold_to"):
        return "sold"
    if item.get("holder") and int(item.get("lease_expires_at") or 0) >= now_ms:
        return "held"
    return "free"


def _id(query: Mapping[str, str], name: str) -> str:
    value = query.get(name, "")
    if not ID.match(value):
        raise ValueError(f"{name} is an id of letters, digits and _.:- (1 to 128)")
    return value


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {key: _numbers(deserializer.deserialize(value)) for key, value in item.items()}


def _numbers(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, (list, set, tuple)):
        return [_numbers(v) for v in value]
    return value


def _strip(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {k: v for k, v in item.items() if k not in ("pk", "sk", "expires_at")}


def _order_view(order: dict[str, Any]) -> dict[str, Any]:
    view = _strip(order) or {}
    history = view.get("history")
    if isinstance(history, str):
        try:
            view["history"] = json.loads(history)
        except ValueError:
            pass
    return view
