"""Signing cost of a webhook delivery: microseconds per Standard Webhooks signature, with the official library.

Figures, never assertions: run ``python -m bench.webhooks``. Measured:
- ``sign_1_secret_us``: one ``v1`` signature of a typical event envelope (~400 bytes), the Webhook object cached;
- ``sign_2_secrets_us``: both signatures of a rotation's overlap window;
- ``sign_uncached_us``: the same with a new ``Webhook`` per signature (base64-decoding the secret each time);
- ``sign_256kb_us``: one signature of a body at the 256 KB limit;
- ``verify_us``: the receiver's side, ``Webhook.verify`` (timestamp check + constant-time compare).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common" / "python")]

from standardwebhooks import Webhook  # noqa: E402

from marquee.webhooks.signing import new_secret, signature_header, signed_headers  # noqa: E402

ENVELOPE = json.dumps(
    {
        "id": "4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
        "type": "OrderConfirmed",
        "version": 1,
        "tenantId": "acme-cinemas",
        "occurredAt": "2026-11-22T10:00:00+00:00",
        "correlationId": "ord_0123456789abcdef0123",
        "data": {
            "orderId": "ord_0123456789abcdef0123",
            "showtimeId": "st_42",
            "seats": ["A1", "A2", "A3"],
            "amount": {"amount": 3600, "currency": "EUR"},
            "paymentId": "pay_0123456789abcdef",
        },
    }
)


def _per_call_us(fn: Any, n: int) -> float:
    fn()  # warm
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def signing_cost(n: int = 20_000) -> dict[str, float]:
    """Microseconds per operation (see the module docstring); prints them and returns them."""
    first, second = new_secret(), new_secret()
    timestamp = int(time.time())
    big = "x" * (256 * 1024)
    moment = datetime.fromtimestamp(timestamp, UTC)
    headers = signed_headers([first], msg_id="msg_bench", timestamp=timestamp, body=ENVELOPE)
    receiver = Webhook(first)
    figures = {
        "body_bytes": float(len(ENVELOPE)),
        "sign_1_secret_us": _per_call_us(
            lambda: signature_header([first], msg_id="msg_bench", timestamp=timestamp, body=ENVELOPE), n
        ),
        "sign_2_secrets_us": _per_call_us(
            lambda: signature_header([first, second], msg_id="msg_bench", timestamp=timestamp, body=ENVELOPE), n
        ),
        "sign_uncached_us": _per_call_us(lambda: Webhook(first).sign("msg_bench", moment, ENVELOPE), n),
        "sign_256kb_us": _per_call_us(
            lambda: signature_header([first], msg_id="msg_bench", timestamp=timestamp, body=big), max(50, n // 100)
        ),
        "verify_us": _per_call_us(lambda: receiver.verify(ENVELOPE, headers, json_parse=False), n),
    }
    for name, value in figures.items():
        print(f"{name:>18}: {value:10.1f}")
    return figures


if __name__ == "__main__":
    signing_cost()
