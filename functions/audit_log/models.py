"""Configuration of the audit log consumer."""

from __future__ import annotations

from pydantic import Field

from marquee.core.env import PowertoolsEnv

CONSUMER = "audit-log"


class AuditEnv(PowertoolsEnv):
    table_name: str = Field(min_length=1)
    inbox_table_name: str = Field(min_length=1)
    inbox_ttl_days: int = Field(ge=1, le=365)
