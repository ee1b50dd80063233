"""Configuration and response model of the /me function."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from marquee.core.env import PowertoolsEnv


class MeEnv(PowertoolsEnv):
    """/me reads no table: the Powertools wiring, and the feature flags (marquee.core.flags.FlagsEnv, read on first use)."""


class MeResponse(BaseModel):
    """Who the verified token says the caller is."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    tenant_id: str
    user_id: str
    username: str | None
    groups: list[str]


class FeaturesResponse(BaseModel):
    """The flags that are on for the caller; a change reaches this answer within maxAgeSeconds."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    enabled: list[str]
    evaluated_at: datetime
    max_age_seconds: int
