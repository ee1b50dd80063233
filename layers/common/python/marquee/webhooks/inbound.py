"""Inbound provider webhooks: verification with the endpoint's secret, and the raw body as the provider sent it."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from standardwebhooks import WebhookVerificationError

from marquee.webhooks.errors import InvalidSignature
from marquee.webhooks.signing import standard_webhook

MAX_BODY_BYTES = 256 * 1024


def verify_inbound(secret: str, body: str, headers: Mapping[str, str]) -> str:
    """Verify a Standard Webhooks request with ``secret``; return its ``webhook-id`` or raise ``InvalidSignature``.

    The library refuses missing headers, timestamps more than 5 minutes old or ahead, and bodies whose every ``v1``
    signature differs (``hmac.compare_digest``). A malformed signature list makes it raise ``ValueError`` or a base64
    error, which are refusals too.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        standard_webhook(secret).verify(body, lowered, json_parse=False)
    except (WebhookVerificationError, ValueError, binascii.Error) as exc:
        raise InvalidSignature("The webhook signature, timestamp or headers are invalid.") from exc
    return lowered["webhook-id"]


def body_bytes(event: Mapping[str, Any]) -> bytes:
    """The body of an API Gateway proxy event as sent (base64 bodies decoded)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return str(body).encode("utf-8")
