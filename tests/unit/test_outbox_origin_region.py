"""Outbox items carry the region that took the write (multi-region: each region's relay publishes only its own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from marquee.core import aws
from marquee.messaging.events import Envelope
from marquee.messaging.outbox import ORIGIN_REGION_ATTRIBUTE, outbox_put


def event() -> Envelope:
    return Envelope.model_validate(
        {
            "id": "evt-1",
            "type": "MovieCreated",
            "version": 1,
            "tenantId": "t1",
            "occurredAt": "2026-12-05T10:00:00Z",
            "correlationId": "c1",
            "data": {},
        }
    )


def test_an_outbox_item_carries_the_region_of_the_function_that_wrote_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # Lambda sets it (and AWS_REGION) to the function's region
    aws.clear_clients()
    try:
        item = outbox_put("table", event())["Put"]["Item"]
    finally:
        aws.clear_clients()
    assert item[ORIGIN_REGION_ATTRIBUTE] == {"S": "eu-west-1"}


def test_an_explicit_region_is_stamped_as_given() -> None:
    assert outbox_put("table", event(), region="ap-south-1")["Put"]["Item"][ORIGIN_REGION_ATTRIBUTE] == {
        "S": "ap-south-1"
    }


def test_a_writer_without_any_region_writes_no_origin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A tool outside Lambda: the item carries no region, so every relay's second filter (no origin_region) takes it."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    aws.clear_clients()
    try:
        item = outbox_put("table", event())["Put"]["Item"]
    finally:
        aws.clear_clients()
    assert ORIGIN_REGION_ATTRIBUTE not in item
    assert set(item) == {"pk", "sk", "envelope", "event_type", "expires_at"}
