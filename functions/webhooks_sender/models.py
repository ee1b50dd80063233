"""Configuration of the webhook sender, validated once at cold start."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, model_validator
from pydantic_settings import NoDecode

from marquee.core.env import PowertoolsEnv


def _delays(raw: object) -> object:
    """``WEBHOOK_RETRY_DELAYS_S`` is a comma-separated list of seconds: ``5,60,300``."""
    if isinstance(raw, str):
        return [int(part) for part in raw.split(",") if part.strip()]
    return raw


class SenderEnv(PowertoolsEnv):
    table_name: str = Field(min_length=1)
    delivery_queue_url: str = Field(min_length=1)
    webhook_allow_loopback: bool
    # Seconds to wait after failed attempt n (n = 1 .. max_attempts - 1). The AWS schedule is in infra/constants.py.
    webhook_retry_delays_s: Annotated[tuple[int, ...], NoDecode, BeforeValidator(_delays)]
    webhook_max_attempts: int = Field(ge=1, le=20)  # the delivery queue's maxReceiveCount
    webhook_disable_after_failures: int = Field(ge=1)
    webhook_timeout_ms: int = Field(ge=100, le=15_000)
    webhook_secret_max_age_s: int = Field(ge=0, le=3600)

    @model_validator(mode="after")
    def _schedule_matches_attempts(self) -> SenderEnv:
        if len(self.webhook_retry_delays_s) != self.webhook_max_attempts - 1:
            raise ValueError("WEBHOOK_RETRY_DELAYS_S must list WEBHOOK_MAX_ATTEMPTS - 1 delays")
        if any(d < 0 or d > 12 * 3600 for d in self.webhook_retry_delays_s):
            raise ValueError("WEBHOOK_RETRY_DELAYS_S values must be 0 to 43200 (SQS's visibility ceiling)")
        return self
