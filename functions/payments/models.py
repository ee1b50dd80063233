"""Configuration, request/response models and request errors of the payments function."""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus

from pydantic import Field

from marquee.core.errors import MarqueeError
from marquee.core.models import CamelRequest
from marquee.core.money import Money
from marquee.payments.config import PaymentsEnv
from marquee.payments.models import CardLast4, CardNumber, OrderId, PaymentResult, PaymentStatus, ProviderName
from marquee.tenancy.tenant_session import TenantDataEnv

MAX_BODY_BYTES = 256 * 1024
MAX_IDEMPOTENCY_KEY_LENGTH = 255
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"


class PaymentsFunctionEnv(TenantDataEnv, PaymentsEnv):
    """Payments and their outbox through the tenant-access role (challenge 19); idempotency records, breakers and
    provider secrets through the function's own role (their keys carry no tenant prefix)."""

    idempotency_table_name: str = Field(min_length=1)
    payments_idempotency_ttl_s: int = Field(gt=0)


class PaymentRequest(CamelRequest):
    """``POST /payments`` body. Money is strict: integer minor units, ISO 4217, > 0 (marquee.core.money)."""

    amount: Money
    card: CardNumber = Field(repr=False)
    order_id: OrderId | None = None


class PaymentResponse(CamelRequest):
    payment_id: str
    status: PaymentStatus
    amount: Money
    provider: ProviderName
    provider_charge_id: str
    order_id: str | None
    card_last4: CardLast4
    created_at: datetime

    @classmethod
    def of(cls, result: PaymentResult) -> PaymentResponse:
        return cls.model_validate(result.model_dump())


class MalformedJson(MarqueeError):
    status = HTTPStatus.BAD_REQUEST
    slug = "malformed-json"
    title = "Malformed JSON body"


class DuplicateJsonKey(MalformedJson):
    slug = "duplicate-json-key"
    title = "Duplicate key in JSON body"
