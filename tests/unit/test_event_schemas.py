"""The committed event schemas (docs/events/*.schema.json) match the registered pydantic models."""

from __future__ import annotations

import json

from tools.event_schemas import SCHEMA_DIR, load_all_events, render

BOOKING_EVENTS = ("HoldCreated", "HoldReleased", "SeatsReserved", "SeatsReleased")


def test_every_committed_schema_matches_its_model() -> None:
    documents = load_all_events()
    files = sorted(SCHEMA_DIR.glob("*.schema.json"))
    assert files
    for path in files:
        name = path.name.removesuffix(".schema.json")
        assert name in documents, f"{path.name} describes no registered event"
        assert path.read_text() == render(documents[name]), f"{path.name} is stale: run `python -m tools.event_schemas`"


def test_seat_events_are_published_and_refuse_unknown_fields() -> None:
    for name in BOOKING_EVENTS:
        schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
        assert schema["additionalProperties"] is False
        assert "holdId" in schema["required"]
