"""docs/asyncapi.json (AsyncAPI 3.0, the event bus) is what the models say: regenerate with `python -m tools.asyncapi`
when an event type is added or changed. Its payloads are checked against the sample events the tests replay."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT7

from tests.unit.test_event_contracts import ROOT, _sample_envelopes
from tools import asyncapi
from tools.event_schemas import load_all_events


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(asyncapi.ASYNCAPI_FILE.read_text())
    return document


def test_the_committed_document_matches_the_models() -> None:
    assert asyncapi.main(["--check"]) == 0, "docs/asyncapi.json is stale: run `python -m tools.asyncapi`"


def test_every_event_type_is_a_message_of_the_bus_and_every_operation_names_its_messages() -> None:
    document = _document()
    assert document["asyncapi"] == "3.0.0"
    channel = document["channels"][asyncapi.CHANNEL]
    assert set(channel["messages"]) == set(document["components"]["messages"]) == set(load_all_events())
    for name, operation in document["operations"].items():
        assert operation["channel"] == {"$ref": f"#/channels/{asyncapi.CHANNEL}"}, name
        assert operation["messages"], name
        for ref in operation["messages"]:
            assert ref["$ref"].removeprefix(f"#/channels/{asyncapi.CHANNEL}/messages/") in channel["messages"], ref
    receive = {n: {r["$ref"].rsplit("/", 1)[1] for r in op["messages"]} for n, op in document["operations"].items()}
    assert {"OrderConfirmed", "OrderFailed", "PaymentRefunded"} <= receive["notifyCustomers"]
    assert {"OrderConfirmed", "EndpointDisabled"} <= receive["fanOutWebhooks"]


def test_each_sample_event_is_valid_against_its_message_payload_and_not_another_type() -> None:
    document = _document()
    registry: Registry[Any] = Registry().with_resource("urn:asyncapi", DRAFT7.create_resource(document))

    def validator(name: str) -> jsonschema.Draft7Validator:
        payload = {"$ref": f"urn:asyncapi#/components/schemas/{name}Event"}
        return jsonschema.Draft7Validator(payload, registry=registry)

    checked = 0
    for path in sorted((ROOT / "events").rglob("*.json")):
        for sample in _sample_envelopes(json.loads(path.read_text())):
            sample = {"id": "evt-1", "occurredAt": "2026-12-05T10:00:00Z", **sample}
            validator(sample["type"]).validate(sample)
            other = "OrderFailed" if sample["type"] != "OrderFailed" else "OrderConfirmed"
            assert list(validator(other).iter_errors(sample)), (path, other)
            checked += 1
    assert checked >= 4  # the samples under events/ that carry an envelope
