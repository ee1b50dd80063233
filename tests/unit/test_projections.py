"""The projector's routing and naming rules, without a database (tests/integration/test_projections.py runs the SQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from functions.projector.logic import AGGREGATE_FIELD, message_group, notify_applied, route_event
from infra import constants
from marquee.booking import events
from marquee.messaging.events import envelope
from marquee.projections import queries, shards
from marquee.projections.models import PROJECTIONS
from marquee.projections.projector import PROJECTED_TYPES


def test_the_bus_rule_and_the_router_project_exactly_the_types_the_read_models_handle() -> None:
    assert set(constants.PROJECTED_EVENT_TYPES) == set(PROJECTED_TYPES) == set(AGGREGATE_FIELD)


def test_an_events_message_group_is_its_tenant_and_aggregate() -> None:
    data = events.HoldReleased(hold_id="h1", showtime_id="sht_9", seats=["A1"], reason="customer")
    event = envelope(data, tenant_id="acme", correlation_id="c")
    assert message_group(event) == "acme#sht_9"


class Sqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    def send_message(self, **kwargs: str) -> None:
        self.sent.append(kwargs)


def test_the_router_sends_projected_events_deduplicated_by_id_and_skips_the_rest() -> None:
    held = envelope(
        events.HoldCreated(hold_id="h1", showtime_id="sht_1", customer_id="c", seats=[], lease_expires_at_ms=1),
        tenant_id="acme",
        correlation_id="c",
    )
    sqs = Sqs()
    assert route_event(held.to_json(), queue_url="q", sqs=sqs) == "acme#sht_1"
    assert sqs.sent == [
        {
            "QueueUrl": "q",
            "MessageBody": held.to_json(),
            "MessageGroupId": "acme#sht_1",
            "MessageDeduplicationId": held.id,
        }
    ]
    other = held.model_copy(update={"type": "PaymentCaptured"})
    assert route_event(other.to_json(), queue_url="q", sqs=sqs) is None
    assert len(sqs.sent) == 1


def test_generation_tables_and_views_are_named_only_from_the_models() -> None:
    names = PROJECTIONS["availability"].names(3)
    assert names["seats"] == "public.rm_availability_seats_g3"
    assert names.bare("seats") == "rm_availability_seats_g3"
    assert names.view("seats") == "public.rm_availability_seats"
    on_s2 = PROJECTIONS["availability"].names(3, shards.schema_of("s2"))
    assert (
        on_s2["seats"] == "shard_s2.rm_availability_seats_g3"
        and on_s2.view("seats") == "shard_s2.rm_availability_seats"
    )
    with pytest.raises(KeyError):
        names["orders; DROP TABLE x"]
    for bad in ("s0; DROP TABLE x", "public", "S1", "s1234", ""):
        with pytest.raises(shards.UnknownShard):
            shards.schema_of(bad)


def test_a_cursor_round_trips_and_anything_else_is_a_bad_cursor() -> None:
    at = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)
    assert queries.decode_cursor(queries.encode_cursor(at.isoformat(), "sht_1")) == (at, "sht_1")
    for bad in ("", "%%%", "e30", queries.encode_cursor(at.isoformat(), "../x")):
        with pytest.raises(queries.BadCursor):
            queries.decode_cursor(bad)


class Lambda:
    def __init__(self) -> None:
        self.invoked: list[dict[str, object]] = []

    def invoke(self, **kwargs: object) -> None:
        self.invoked.append(kwargs)


def test_an_applied_event_is_passed_on_asynchronously_as_the_bus_would_deliver_it() -> None:
    held = envelope(
        events.HoldCreated(hold_id="h1", showtime_id="sht_1", customer_id="c", seats=[], lease_expires_at_ms=1),
        tenant_id="acme",
        correlation_id="c",
    )
    client = Lambda()
    notify_applied(held, function_name="invalidator", client=client)
    (call,) = client.invoked
    assert call["FunctionName"] == "invalidator" and call["InvocationType"] == "Event"
    payload = json.loads(call["Payload"])  # type: ignore[arg-type]
    assert payload["detail-type"] == "HoldCreated" and payload["detail"]["data"]["showtimeId"] == "sht_1"
