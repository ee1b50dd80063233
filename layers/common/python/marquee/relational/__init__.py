"""A small typed client of the RDS Data API (Aurora PostgreSQL), and versioned migrations run through it."""

from marquee.relational.client import DataApi, RelationalEnv, Transaction
from marquee.relational.errors import (
    DatabaseUnavailable,
    RelationalError,
    SqlError,
    StatementTimeout,
)

__all__ = [
    "DataApi",
    "DatabaseUnavailable",
    "RelationalEnv",
    "RelationalError",
    "SqlError",
    "StatementTimeout",
    "Transaction",
]
