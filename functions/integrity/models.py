"""Configuration of the integrity reconciler, and the on-demand invocation it accepts."""

from __future__ import annotations

from pydantic import Field

from marquee.core.env import PowertoolsEnv
from marquee.core.models import CamelRequest


class IntegrityEnv(PowertoolsEnv):
    table_name: str = Field(min_length=1)
    ops_table_name: str = Field(min_length=1)
    # Younger orders, payments, charges and attempts may be mid-saga: skipped. Longer than a saga's worst case.
    integrity_grace_seconds: int = Field(ge=0, le=86400)


class RunRequest(CamelRequest):
    """An on-demand run (``marquee invoke``, an operator) may narrow the grace period; the schedule sends none."""

    grace_seconds: int | None = Field(default=None, ge=0, le=86400)
