"""Configuration and response model of the /me function."""

from __future__ import annotations

from datetime import datetime

from marquee.cache.env import CacheEnv
from marquee.core.env import PowertoolsEnv
from marquee.core.models import CamelModel


class MeEnv(PowertoolsEnv, CacheEnv):
    """/me reads no table: the Powertools wiring, the edge cache (the rate limiter) and the feature flags
    (marquee.core.flags.FlagsEnv, read on first use)."""


class MeResponse(CamelModel):
    """Who the verified token says the caller is."""

    tenant_id: str
    user_id: str
    username: str | None
    groups: list[str]


class FeaturesResponse(CamelModel):
    """The flags that are on for the caller; a change reaches this answer within maxAgeSeconds."""

    enabled: list[str]
    evaluated_at: datetime
    max_age_seconds: int
