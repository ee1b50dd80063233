"""Configuration, request and response models of the access-audit functions (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from marquee.audit.access import AccessRecord
from marquee.audit.rules import SecuritySettings
from marquee.core.env import PowertoolsEnv
from marquee.core.models import CamelRequest


class AuditEnv(PowertoolsEnv):
    trail_bucket_name: str = Field(min_length=1)
    audit_table_name: str = Field(min_length=1)


class WriterEnv(AuditEnv):
    alert_queue_url: str = Field(min_length=1, description="The notifications pipeline's email FIFO queue")


class AccessPage(CamelRequest):
    """One page of a customer's access trail, oldest first."""

    items: list[AccessRecord]
    next_cursor: str | None = None


class SecuritySettingsResponse(SecuritySettings):
    updated_at: datetime
    updated_by: str
