"""Errors of the relational store, mapped from the RDS Data API's error codes (botocore's ``rds-data`` model).

The Data API reports a PostgreSQL error as ``DatabaseErrorException`` whose message ends in ``SQLState: <code>``; that
five-character code is the only structured part AWS gives, so ``sqlstate`` reads it (a documented format, not free text).
"""

from __future__ import annotations

import re
from http import HTTPStatus

from botocore.exceptions import ClientError

from marquee.core.errors import MarqueeError

_SQLSTATE = re.compile(r"SQLState: ([0-9A-Z]{5})")

# The cluster is there but cannot answer now (paused Serverless v2 resuming, failover, throttled secret): retry later.
UNAVAILABLE_CODES = frozenset(
    {
        "DatabaseNotFoundException",
        "DatabaseUnavailableException",
        "DatabaseResumingException",
        "ServiceUnavailableError",
        "InternalServerErrorException",
        "HttpEndpointNotEnabledException",
        "SecretsErrorException",
        "InvalidSecretException",
        "ThrottlingException",
    }
)


class RelationalError(MarqueeError):
    """A relational call failed for a reason that is the system's, not the caller's (a 5xx)."""


class DatabaseUnavailable(RelationalError):
    status = HTTPStatus.SERVICE_UNAVAILABLE
    slug = "database-unavailable"
    title = "Database unavailable"


class StatementTimeout(RelationalError):
    status = HTTPStatus.SERVICE_UNAVAILABLE
    slug = "database-timeout"
    title = "Database statement timed out"


class SqlError(RelationalError):
    """PostgreSQL refused a statement; ``sqlstate`` is its code (``23505`` unique violation, ``57014`` cancelled...)."""

    slug = "database-error"
    title = "Database error"

    def __init__(self, detail: str, *, sqlstate: str | None) -> None:
        super().__init__(detail)
        self.sqlstate = sqlstate


class TransactionLost(RelationalError):
    """The transaction id is unknown to the Data API (ended, expired after 3 minutes idle, or aborted by an error)."""

    slug = "transaction-lost"
    title = "Transaction lost"


def sqlstate(message: str) -> str | None:
    match = _SQLSTATE.search(message)
    return match.group(1) if match else None


def from_client_error(exc: ClientError) -> RelationalError:
    """The kernel error for a Data API ``ClientError`` (the caller raises it ``from`` the original)."""
    code = exc.response.get("Error", {}).get("Code", "")
    message = str(exc.response.get("Error", {}).get("Message", ""))
    if code in UNAVAILABLE_CODES:
        return DatabaseUnavailable(f"The database cannot answer now ({code}).")
    if code == "StatementTimeoutException":
        return StatementTimeout("The statement ran past the Data API's 45 s limit.")
    if code == "TransactionNotFoundException":
        return TransactionLost("The transaction ended before this call.")
    state = sqlstate(message)
    if state == "57014":  # query_canceled: statement_timeout
        return StatementTimeout("The statement ran past its statement_timeout.")
    return SqlError(f"The database refused the statement ({code}, SQLState {state}).", sqlstate=state)
