"""Configuration and payload models of the inbound payment-provider webhook."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from marquee.core.env import PowertoolsEnv
from marquee.core.models import CamelRequest
from marquee.core.money import Money
from marquee.tenancy.tenant import TenantId


class InboundEnv(PowertoolsEnv):
    table_name: str = Field(min_length=1)
    inbox_table_name: str = Field(min_length=1)
    inbound_secret_name: str = Field(min_length=1)  # the secret's name or ARN: never its value
    webhook_secret_max_age_s: int = Field(ge=0, le=3600)


Reference = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,100}$")]


class ProviderEventData(CamelRequest):
    tenant_id: TenantId
    payment_id: Reference
    provider_reference: Reference = Field(description="The provider's refund or dispute id")
    amount: Money
    reason: str | None = Field(default=None, max_length=200)


class ProviderEvent(CamelRequest):
    """What the payment provider POSTs: ``refund.succeeded`` (an asynchronous refund) or ``chargeback.created``."""

    type: Literal["refund.succeeded", "chargeback.created"]
    data: ProviderEventData


class InboundAccepted(CamelRequest):
    status: Literal["recorded", "duplicate"]
    webhook_id: str
    event_id: str | None
