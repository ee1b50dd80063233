"""The one event envelope every domain event travels in (DESIGN.md): id, type, version, tenantId, occurredAt,
correlationId, data, and ``requestId``: the id of the API request that caused the write (``X-Request-Id`` or API
Gateway's, docs/design/09-api-gateway.md), or null when no request did (a saga step, a consumer, a schedule). It was
added later and is optional: an event without it reads as null. Each event type is a pydantic model of its ``data``,
registered here with its version, so that its JSON Schema can be published and consumers can validate. Consumers
dedupe on ``id``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from marquee.core.models import CamelRequest
from marquee.core.request import current_request_id
from marquee.tenancy.tenant import TenantId


class EventData(CamelRequest):
    """Base of every event's ``data`` (camelCase, unknown fields refused). Subclasses set ``event_type`` and ``version``."""

    event_type: ClassVar[str]
    version: ClassVar[int] = 1


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    type: str
    version: int
    tenant_id: TenantId = Field(alias="tenantId")
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC), alias="occurredAt")
    correlation_id: str = Field(alias="correlationId")
    data: dict[str, Any]
    request_id: str | None = Field(
        default=None,
        alias="requestId",
        max_length=128,
        title="Request id",
        description="The id of the API request that caused the write (its X-Request-Id), null if none did.",
    )

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


EVENT_TYPES: dict[str, type[EventData]] = {}


def register(model: type[EventData]) -> type[EventData]:
    """Class decorator: make an event type known (schemas, validation in consumers)."""
    EVENT_TYPES[model.event_type] = model
    return model


def envelope(
    data: EventData,
    *,
    tenant_id: str,
    correlation_id: str,
    event_id: str | None = None,
    request_id: str | None = None,
) -> Envelope:
    """Wrap validated ``data`` in the envelope. Pass ``event_id`` only to make an event's id deterministic;
    ``request_id`` defaults to the API request being served (``marquee.core.request``), if any."""
    fields: dict[str, Any] = {
        "type": data.event_type,
        "version": data.version,
        "tenantId": tenant_id,
        "correlationId": correlation_id,
        "data": data.model_dump(mode="json", by_alias=True),
        "requestId": request_id if request_id is not None else current_request_id(),
    }
    if event_id is not None:
        fields["id"] = event_id
    return Envelope(**fields)


def json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of every registered event's data, by type (published under docs/ and used by tests)."""
    return {name: model.model_json_schema(by_alias=True) for name, model in sorted(EVENT_TYPES.items())}
