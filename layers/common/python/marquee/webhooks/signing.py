"""Standard Webhooks secrets and signatures: new secrets, the ``webhook-signature`` header (one ``v1`` per secret
during a rotation's overlap), the outbound headers and the stable delivery id."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets as _secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
SECRET_BYTES = 32  # the spec asks for 24 to 64 bytes
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
TOLERANCE_SECONDS = 300  # standardwebhooks' own, fixed window: a timestamp 301 s old or ahead is refused

USER_AGENT = "Marquee-Webhooks/1.0"


# ---- secrets and signatures --------------------------------------------------------------------------------------------
def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_length(secret: str) -> int:
    """The number of key bytes in ``secret`` (``whsec_`` prefix optional); ``ValueError`` if it is not base64."""
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        return len(base64.b64decode(raw, validate=True))
    except binascii.Error as exc:
        raise ValueError("the secret is not base64") from exc


@lru_cache(maxsize=256)
def standard_webhook(secret: str) -> Webhook:
    return Webhook(secret)  # decodes the base64 once per secret, not once per signature


def signature_header(secrets: Sequence[str], *, msg_id: str, timestamp: int, body: str) -> str:
    """``webhook-signature``: one ``v1,...`` per secret, space-separated (the first secret is the current one)."""
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    moment = datetime.fromtimestamp(timestamp, UTC)
    return " ".join(standard_webhook(secret).sign(msg_id, moment, body) for secret in secrets)


def signed_headers(secrets: Sequence[str], *, msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    """Every header of an outbound delivery."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, msg_id=msg_id, timestamp=timestamp, body=body),
    }


def delivery_id(endpoint_id: str, event_id: str, occurred_at: datetime) -> str:
    """Stable across retries and re-fan-outs: ``msg_`` + the event time (hex ms, so ids sort by time) + a hash."""
    digest = hashlib.sha256(f"{endpoint_id}|{event_id}".encode()).hexdigest()[:20]
    return f"msg_{int(occurred_at.timestamp() * 1000):012x}{digest}"
