"""Unit tests: no network, no moto. AWS clients may be built (that needs no network) but never called."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from marquee.core import aws

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


@pytest.fixture(autouse=True)
def offline_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and region, no endpoint override, and no cached client leaking between tests."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    aws.clear_clients()
    yield
    aws.clear_clients()


def load_event(relative: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / relative).read_text())
