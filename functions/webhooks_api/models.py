"""Configuration, request and response models of the staff webhook API."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema

from marquee.cache.env import CacheEnv
from marquee.core.models import CamelModel, CamelRequest
from marquee.tenancy.tenant_session import TenantDataEnv
from marquee.webhooks.events import WEBHOOK_EVENT_TYPES
from marquee.webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint, EndpointStatus

MAX_EVENT_TYPES = 20
DELIVERIES_PAGE = 50


class WebhooksApiEnv(TenantDataEnv, CacheEnv):
    """Tenant-facing (staff of one tenant): the main table only through the tenant-access role (challenge 19)."""

    delivery_queue_url: str = Field(min_length=1)
    webhook_secret_prefix: str = Field(min_length=1, pattern=r"^[A-Za-z0-9/_+=.@-]+/$")
    webhook_allow_loopback: bool
    webhook_rotation_overlap_s: int = Field(ge=0, le=7 * 24 * 3600)
    webhook_secret_max_age_s: int = Field(ge=0, le=3600)


def _known_event_type(value: str) -> str:
    if value not in WEBHOOK_EVENT_TYPES:
        raise ValueError(f"unknown event type; known types: {', '.join(sorted(WEBHOOK_EVENT_TYPES))}")
    return value


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("event types must not repeat")
    return values


EventTypeName = Annotated[
    str, AfterValidator(_known_event_type), WithJsonSchema({"type": "string", "enum": sorted(WEBHOOK_EVENT_TYPES)})
]


class CreateEndpointRequest(CamelRequest):
    url: str = Field(min_length=1, max_length=2048)
    event_types: Annotated[
        list[EventTypeName],
        Field(min_length=1, max_length=MAX_EVENT_TYPES, json_schema_extra={"uniqueItems": True}),
        AfterValidator(_unique),
    ]
    description: str | None = Field(default=None, max_length=200)


class EndpointView(CamelModel):
    endpoint_id: str
    url: str
    event_types: list[str]
    description: str | None
    status: EndpointStatus
    consecutive_failures: int
    secret_version: int
    created_at: str
    disabled_at: str | None

    @classmethod
    def of(cls, endpoint: Endpoint) -> EndpointView:
        return cls(
            endpoint_id=endpoint.endpoint_id,
            url=endpoint.url,
            event_types=list(endpoint.event_types),
            description=endpoint.description,
            status=endpoint.endpoint_status,
            consecutive_failures=endpoint.consecutive_failures,
            secret_version=endpoint.secret_version,
            created_at=endpoint.created_at,
            disabled_at=endpoint.disabled_at,
        )


class EndpointCreated(EndpointView):
    """Shown once: the secret is never returned again (rotate to get a new one)."""

    secret: str = Field(repr=False)


class EndpointList(CamelModel):
    endpoints: list[EndpointView]


class SecretRotated(CamelModel):
    endpoint_id: str
    secret: str = Field(repr=False)
    secret_version: int
    previous_secret_expires_at: str | None


class AttemptView(CamelModel):
    number: int
    at: str
    outcome: str
    status_code: int | None
    error: str | None
    duration_ms: int
    signatures: int

    @classmethod
    def of(cls, attempt: Attempt) -> AttemptView:
        return cls(**attempt.model_dump())


class DeliveryView(CamelModel):
    delivery_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: list[AttemptView]
    created_at: str
    updated_at: str
    next_attempt_at: str | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryView:
        return cls(
            delivery_id=delivery.delivery_id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            status=delivery.delivery_status,
            attempts=[AttemptView.of(a) for a in delivery.attempts],
            created_at=delivery.created_at,
            updated_at=delivery.updated_at,
            next_attempt_at=delivery.next_attempt_at,
        )


class DeliveryList(CamelModel):
    endpoint_id: str
    deliveries: list[DeliveryView]


class RedeliveryAccepted(CamelModel):
    delivery_id: str
    status: DeliveryStatus
    generation: int
