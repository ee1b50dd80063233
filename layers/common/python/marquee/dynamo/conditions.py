"""Named conditions and the error codes of a refused conditional write, shared by every store.

A domain's own conditions (``SEAT_HELD_BY_HOLD``, ``ATTEMPT_IS_FREE``, ...) stay with its store: they name its
attributes. What lives here is what every store writes the same way.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

ITEM_IS_NEW = "attribute_not_exists(pk)"

CONDITION_FAILED = "ConditionalCheckFailedException"  # a single write's condition was false
TRANSACTION_CANCELED = "TransactionCanceledException"  # a transaction was cancelled (see ``transactions``)


def error_code(exc: ClientError) -> str:
    """The AWS error code of ``exc`` (``""`` when it has none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))
