"""The current contracts do not break the released ones (docs/contracts/released/), and the checker behind that gate
(devkit/contracts.py) catches each kind of breaking change while letting compatible changes through.

When the gate fails: keep the released shape (make the new field optional, keep the old one, add a new event type
for the new shape and publish both), or, once a deprecation window is over, `marquee contracts release
--accept-breaking` (docs/design/06-contract-governance.md).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from devkit import contracts
from devkit.contracts import (
    RELEASED_EVENTS_DIR,
    RELEASED_OPENAPI_FILE,
    event_breaks,
    openapi_breaks,
    read_event_schemas,
)

Doc = dict[str, Any]


def test_current_contracts_do_not_break_the_released_ones() -> None:
    breaks = contracts.all_breaks()
    assert not breaks, (
        "a change breaks a released contract (docs/contracts/released/):\n  "
        + "\n  ".join(breaks)
        + "\nShip it compatibly (docs/design/06-contract-governance.md), or release it after the deprecation window."
    )


def test_the_released_snapshot_is_well_formed() -> None:
    released = read_event_schemas(RELEASED_EVENTS_DIR)
    assert {"OrderConfirmed", "OrderFailed", "PaymentRefunded"} <= released.keys()
    for name, schema in released.items():
        assert schema["x-event-type"] == name
        assert isinstance(schema["x-event-version"], int)
    assert json.loads(RELEASED_OPENAPI_FILE.read_text())["paths"]


# ---- events -----------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def released_events() -> dict[str, Doc]:
    return read_event_schemas(RELEASED_EVENTS_DIR)


def _event_change(released: dict[str, Doc], name: str, change: Callable[[Doc], None]) -> list[str]:
    current = copy.deepcopy(released)
    change(current[name])
    return event_breaks(released, current)


def _add_optional(schema: Doc) -> None:
    schema["properties"]["seatCount"] = {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}


def _add_required(schema: Doc) -> None:
    _add_optional(schema)
    schema["required"].append("seatCount")


def _narrow_currency(schema: Doc) -> None:
    schema["$defs"]["Money"]["properties"]["currency"]["enum"].remove("EUR")


def _widen_currency(schema: Doc) -> None:
    schema["$defs"]["Money"]["properties"]["currency"]["enum"].append("XYZ")


EVENT_BREAKS: list[tuple[str, str, Callable[[Doc], None], str]] = [
    ("removed field", "OrderConfirmed", lambda s: s["properties"].pop("paymentId"), "data.paymentId: field removed"),
    (
        "changed type",
        "OrderConfirmed",
        lambda s: s["properties"]["orderId"].update(type="integer"),
        "data.orderId: type changed from string to integer",
    ),
    (
        "newly required field",
        "OrderConfirmed",
        _add_required,
        "data.seatCount: newly required",
    ),
    (
        "nullable field (readers get null)",
        "OrderConfirmed",
        lambda s: s["properties"].update(orderId={"anyOf": [{"type": "string"}, {"type": "null"}]}),
        "data.orderId: type changed from string to null | string",
    ),
    (
        "required field made optional",
        "OrderConfirmed",
        lambda s: s["required"].remove("customerId"),
        "data.customerId: no longer required",
    ),
    ("narrowed enum, nested in a $ref", "OrderConfirmed", _narrow_currency, "data.amount.currency: enum narrowed"),
    (
        "tightened bound",
        "OrderConfirmed",
        lambda s: s["$defs"]["Money"]["properties"]["amount"].update(maximum=100),
        "data.amount.amount: maximum tightened",
    ),
    ("version bump", "OrderConfirmed", lambda s: s.update({"x-event-version": 2}), "version 1 is no longer published"),
]


@pytest.mark.parametrize(("kind", "name", "change", "expected"), EVENT_BREAKS, ids=[k for k, *_ in EVENT_BREAKS])
def test_each_breaking_event_change_is_caught_with_a_clear_message(
    released_events: dict[str, Doc], kind: str, name: str, change: Callable[[Doc], None], expected: str
) -> None:
    breaks = _event_change(released_events, name, change)
    assert any(expected in b for b in breaks), (kind, breaks)
    assert all(b.startswith(name) for b in breaks), breaks


def test_a_removed_event_type_is_breaking(released_events: dict[str, Doc]) -> None:
    current = {k: v for k, v in released_events.items() if k != "PaymentRefunded"}
    assert event_breaks(released_events, current) == [
        "PaymentRefunded: event type removed (its consumers and stored events still name it)"
    ]


EVENT_COMPATIBLE: list[tuple[str, str, Callable[[Doc], None]]] = [
    ("optional field added", "OrderConfirmed", _add_optional),
    ("description changed", "OrderConfirmed", lambda s: s.update(description="Now documented")),
    ("enum widened", "OrderConfirmed", _widen_currency),
    ("bound loosened", "OrderConfirmed", lambda s: s["$defs"]["Money"]["properties"]["amount"].pop("maximum")),
]


@pytest.mark.parametrize(("kind", "name", "change"), EVENT_COMPATIBLE, ids=[k for k, *_ in EVENT_COMPATIBLE])
def test_compatible_event_changes_pass(
    released_events: dict[str, Doc], kind: str, name: str, change: Callable[[Doc], None]
) -> None:
    assert _event_change(released_events, name, change) == [], kind


def test_a_new_event_type_is_compatible(released_events: dict[str, Doc]) -> None:
    current = copy.deepcopy(released_events)
    current["ExampleHappened"] = {
        "x-event-type": "ExampleHappened",
        "x-event-version": 1,
        "type": "object",
        "properties": {"cinemaId": {"type": "string"}},
        "required": ["cinemaId"],
    }
    assert event_breaks(released_events, current) == []


# ---- the HTTP API -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def released_api() -> Doc:
    document: Doc = json.loads(RELEASED_OPENAPI_FILE.read_text())
    return document


def _api_change(released: Doc, change: Callable[[Doc], None]) -> list[str]:
    current = copy.deepcopy(released)
    change(current)
    return openapi_breaks(released, current)


def _schemas(document: Doc) -> Doc:
    schemas: Doc = document["components"]["schemas"]
    return schemas


def _component(document: Doc, ref_holder: Doc) -> Doc:
    """The component a ``{"$ref": ...}`` names (by reference into the document, so a change to it sticks)."""
    component: Doc = _schemas(document)[ref_holder["$ref"].rsplit("/", 1)[1]]
    return component


def _showtime_page(document: Doc) -> Doc:
    """GET /showtimes' 200 body schema, whatever its component is called."""
    return _component(
        document, document["paths"]["/showtimes"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    )


def _showtime_request(document: Doc) -> Doc:
    """POST /showtimes' request body schema."""
    body = document["paths"]["/showtimes"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return _component(document, body)


def _showtime_item(document: Doc) -> Doc:
    return _component(document, _showtime_page(document)["properties"]["items"]["items"])


def _require_param(document: Doc) -> None:
    for parameter in document["paths"]["/showtimes"]["get"]["parameters"]:
        if parameter["name"] == "limit":
            parameter["required"] = True


def _add_required_param(document: Doc) -> None:
    document["paths"]["/showtimes"]["get"]["parameters"].append(
        {"name": "city", "in": "query", "required": True, "schema": {"type": "string"}}
    )


def _add_optional_param(document: Doc) -> None:
    document["paths"]["/showtimes"]["get"]["parameters"].append(
        {"name": "city", "in": "query", "required": False, "schema": {"type": "string"}}
    )


def _add_response_field(document: Doc) -> None:
    item = _showtime_item(document)
    item["properties"]["seatsAvailableLater"] = {"type": "integer", "minimum": 0}
    item["required"].append("seatsAvailableLater")


def _add_route(document: Doc) -> None:
    document["paths"]["/example/new-route"] = copy.deepcopy(document["paths"]["/showtimes"])
    document["paths"]["/example/new-route"].pop("post", None)


API_BREAKS: list[tuple[str, Callable[[Doc], None], str]] = [
    ("removed path", lambda d: d["paths"].pop("/showtimes"), "GET /showtimes: operation removed"),
    ("removed operation", lambda d: d["paths"]["/showtimes"].pop("post"), "POST /showtimes: operation removed"),
    (
        "removed response code",
        lambda d: d["paths"]["/showtimes"]["post"]["responses"].pop("201"),
        "POST /showtimes: response 201 removed",
    ),
    ("parameter newly required", _require_param, "GET /showtimes query parameter limit: newly required"),
    ("new required parameter", _add_required_param, "GET /showtimes query parameter city: newly required"),
    (
        "request field newly required",
        lambda d: _showtime_request(d)["required"].append("holdLeaseSeconds"),
        "POST /showtimes body.holdLeaseSeconds: newly required",
    ),
    (
        "request field type changed",
        lambda d: _showtime_request(d)["properties"]["startsAt"].update(type="integer"),
        "POST /showtimes body.startsAt: type changed from string to integer",
    ),
    (
        "parameter type changed",
        lambda d: d["paths"]["/showtimes"]["get"]["parameters"][0]["schema"].update(type="string"),
        "GET /showtimes query parameter limit: type changed from integer to string",
    ),
    (
        "response field removed",
        lambda d: _showtime_page(d)["properties"].pop("nextCursor"),
        "GET /showtimes 200 body.nextCursor: field removed",
    ),
    (
        "response field type changed",
        lambda d: _showtime_page(d)["properties"].update(nextCursor={"type": "integer"}),
        "GET /showtimes 200 body.nextCursor: type changed from null | string to integer",
    ),
    (
        "request enum narrowed",
        lambda d: _schemas(d)["Money"]["properties"]["currency"]["enum"].remove("EUR"),
        "POST /showtimes body.price.currency: enum narrowed",
    ),
]


@pytest.mark.parametrize(("kind", "change", "expected"), API_BREAKS, ids=[k for k, *_ in API_BREAKS])
def test_each_breaking_api_change_is_caught_with_a_clear_message(
    released_api: Doc, kind: str, change: Callable[[Doc], None], expected: str
) -> None:
    breaks = _api_change(released_api, change)
    assert any(b.startswith(expected) for b in breaks), (kind, breaks)


API_COMPATIBLE: list[tuple[str, Callable[[Doc], None]]] = [
    ("new route", _add_route),
    ("new optional query parameter", _add_optional_param),
    ("new response field (availability counts)", _add_response_field),
    (
        "new response code",
        lambda d: d["paths"]["/showtimes"]["get"]["responses"].update({"304": {"description": "Not modified"}}),
    ),
    ("request field made optional", lambda d: _showtime_request(d)["required"].remove("startsAt")),
    ("request bound loosened", lambda d: _showtime_request(d)["properties"]["movieId"].pop("pattern")),
]


@pytest.mark.parametrize(("kind", "change"), API_COMPATIBLE, ids=[k for k, *_ in API_COMPATIBLE])
def test_compatible_api_changes_pass(released_api: Doc, kind: str, change: Callable[[Doc], None]) -> None:
    assert _api_change(released_api, change) == [], kind


def test_release_refuses_a_breaking_change_unless_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contracts, "all_breaks", lambda: ["OrderConfirmed data.paymentId: field removed"])
    with pytest.raises(contracts.BreakingChange, match="paymentId: field removed"):
        contracts.release()
