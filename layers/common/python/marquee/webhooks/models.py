"""The webhook capability's stored items and queue message: endpoints, deliveries with their attempts."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from marquee.core.models import CamelModel


# ---- stored items -----------------------------------------------------------------------------------------------------
class EndpointStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"  # enqueued, not attempted yet (or redelivery requested)
    RETRYING = "RETRYING"  # failed, another attempt is scheduled
    SUCCEEDED = "SUCCEEDED"
    EXHAUSTED = "EXHAUSTED"  # every attempt failed; the message went to the DLQ
    SKIPPED = "SKIPPED"  # the endpoint was disabled or deleted before the attempt


class Endpoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    endpoint_id: str
    tenant_id: str
    url: str
    event_types: tuple[str, ...]
    description: str | None = None
    endpoint_status: EndpointStatus = EndpointStatus.ACTIVE
    secret_name: str
    secret_version: int = 1
    consecutive_failures: int = 0
    created_at: str
    updated_at: str
    disabled_at: str | None = None

    def subscribes_to(self, event_type: str) -> bool:
        return self.endpoint_status is EndpointStatus.ACTIVE and event_type in self.event_types


class Attempt(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int
    at: str
    outcome: Literal["success", "failure"]
    status_code: int | None = None
    error: str | None = None
    error_type: str | None = Field(default=None, description="The exception's type, for an error of the sender itself")
    duration_ms: int
    signatures: int = Field(description="How many signatures the attempt carried (2 during a rotation overlap)")


class Delivery(BaseModel):
    model_config = ConfigDict(frozen=True)

    delivery_id: str
    endpoint_id: str
    tenant_id: str
    event_id: str
    event_type: str
    delivery_status: DeliveryStatus = DeliveryStatus.PENDING
    generation: int = 0
    body: str = Field(repr=False)
    attempts: tuple[Attempt, ...] = ()
    created_at: str
    updated_at: str
    next_attempt_at: str | None = None


class DeliveryMessage(CamelModel):
    """The delivery queue's message body: which delivery to attempt (the payload stays in the table)."""

    tenant_id: str
    endpoint_id: str
    delivery_id: str
    generation: int = 0


def now_iso(now: float | None = None) -> str:
    return datetime.fromtimestamp(now if now is not None else time.time(), UTC).isoformat(timespec="milliseconds")


class ProviderEventRecorded(BaseModel):
    model_config = ConfigDict(frozen=True)

    duplicate: bool
    event_id: str | None = None
