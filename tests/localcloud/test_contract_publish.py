"""`marquee contracts publish` (devkit/contracts.py) on the local cloud's schema registry: every registered event type
gets a schema in ``marquee-events``, a second publish of the same schemas makes no version, a changed schema makes
exactly one, and what is published validates the events the code really emits."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from typing import Any

import jsonschema

from devkit import contracts


def test_publish_creates_each_schema_once_and_versions_only_changes(aws: Callable[[str], Any]) -> None:
    client = aws("schemas")
    registry = f"marquee-events-{uuid.uuid4().hex[:6]}"
    documents = contracts.current_event_schemas()

    first = contracts.publish(client, documents, registry=registry)
    assert first.keys() == documents.keys()
    assert {entry["action"] for entry in first.values()} == {"created"}
    assert {entry["version"] for entry in first.values()} == {"1"}

    again = contracts.publish(client, documents, registry=registry)
    assert {(entry["action"], entry["version"]) for entry in again.values()} == {("unchanged", "1")}

    changed = copy.deepcopy(documents)
    changed["OrderConfirmed"]["properties"]["note"] = {"type": "string"}
    third = contracts.publish(client, changed, registry=registry)
    assert third["OrderConfirmed"] == {"action": "updated", "version": "2"}
    assert {entry["action"] for name, entry in third.items() if name != "OrderConfirmed"} == {"unchanged"}
    versions = client.list_schema_versions(RegistryName=registry, SchemaName="OrderConfirmed")["SchemaVersions"]
    assert [v["SchemaVersion"] for v in versions] == ["1", "2"]


def test_the_published_schema_validates_a_real_event(aws: Callable[[str], Any]) -> None:
    from marquee.booking.orders import OrderConfirmed
    from marquee.core.money import Money
    from marquee.messaging.events import envelope

    client = aws("schemas")
    registry = f"marquee-events-{uuid.uuid4().hex[:6]}"
    contracts.publish(client, contracts.current_event_schemas(), registry=registry)
    described = client.describe_schema(RegistryName=registry, SchemaName="OrderConfirmed")
    assert described["Type"] == "JSONSchemaDraft4"
    schema = json.loads(described["Content"])
    data = OrderConfirmed(
        order_id="ord_1",
        customer_id="cus_1",
        showtime_id="sho_1",
        seat_ids=["A1"],
        amount=Money(amount=1200, currency="EUR"),
        payment_id="pay_1",
    )
    event = json.loads(envelope(data, tenant_id="acme", correlation_id="c-1").to_json())
    jsonschema.Draft4Validator(schema).validate(event)
    for broken in ({**event, "type": "OrderFailed"}, {**event, "data": {**event["data"], "orderId": 7}}):
        assert list(jsonschema.Draft4Validator(schema).iter_errors(broken))
