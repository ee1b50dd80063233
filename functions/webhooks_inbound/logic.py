"""Inbound provider webhooks: verify (signature, timestamp), then record once and emit through the outbox.

Order matters: nothing is parsed or stored before the signature is verified, so an unsigned request costs one HMAC.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Literal

from pydantic import ValidationError

from marquee.core.errors import MarqueeError
from marquee.messaging.events import envelope
from marquee.webhooks.events import ChargebackReported, RefundReported
from marquee.webhooks.inbound import verify_inbound
from marquee.webhooks.store import WebhookStore

from .models import InboundAccepted, ProviderEvent

KINDS: dict[str, tuple[Literal["REFUND", "CHARGEBACK"], type[RefundReported] | type[ChargebackReported]]] = {
    "refund.succeeded": ("REFUND", RefundReported),
    "chargeback.created": ("CHARGEBACK", ChargebackReported),
}


class InvalidProviderEvent(MarqueeError):
    """Correctly signed, but not a provider event this endpoint understands."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    slug = "invalid-provider-event"
    title = "Invalid provider event"


def receive_payment_event(
    body: str,
    headers: Mapping[str, str],
    *,
    signing_secret: Callable[[], str],
    store: WebhookStore,
    now: float | None = None,
) -> InboundAccepted:
    webhook_id = verify_inbound(signing_secret(), body, headers)
    try:
        payload = ProviderEvent.model_validate_json(body)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors()})
        raise InvalidProviderEvent(f"The provider event is invalid at: {', '.join(fields)}.") from exc
    kind, event_model = KINDS[payload.type]
    data = payload.data
    event = envelope(
        event_model(
            payment_id=data.payment_id,
            provider_reference=data.provider_reference,
            amount=data.amount,
            reason=data.reason,
            webhook_id=webhook_id,
        ),
        tenant_id=data.tenant_id,
        correlation_id=webhook_id,
    )
    recorded = store.record_provider_event(
        tenant_id=data.tenant_id,
        payment_id=data.payment_id,
        kind=kind,
        webhook_id=webhook_id,
        event=event,
        record={
            "provider_reference": data.provider_reference,
            "amount": data.amount.amount,
            "currency": data.amount.currency,
            "reason": data.reason,
            "provider_event_type": payload.type,
        },
        now=now if now is not None else time.time(),
    )
    return InboundAccepted(
        status="duplicate" if recorded.duplicate else "recorded", webhook_id=webhook_id, event_id=recorded.event_id
    )
