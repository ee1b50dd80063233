"""TransactWriteItems helpers: was a transaction cancelled, and why (one reason per item, in request order)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from marquee.dynamo.conditions import TRANSACTION_CANCELED, error_code


def is_cancelled(exc: ClientError) -> bool:
    return error_code(exc) == TRANSACTION_CANCELED


def cancellation_reasons(exc: ClientError) -> list[dict[str, Any]]:
    """``CancellationReasons``: ``{"Code": "None" | "ConditionalCheckFailed" | "TransactionConflict" | ...}`` per item."""
    reasons: list[dict[str, Any]] = exc.response.get("CancellationReasons") or []  # type: ignore[assignment]
    return reasons
