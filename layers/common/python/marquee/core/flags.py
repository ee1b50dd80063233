"""Feature flags (challenge 13): Powertools feature flags on its AppConfig store, unchanged.

The flags live in AppConfig (application/environment/profile named by the FLAGS_* variables). A function caches them
for FLAGS_MAX_AGE_SECONDS, so a change made with `marquee flags set` reaches every running function within that time.
Rules see the caller's context: ``tenant``, ``user_id``, ``groups`` and ``user_bucket`` (0-99, stable per user, for
percentage rollouts with MODULO_RANGE).
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.feature_flags import AppConfigStore, FeatureFlags
from pydantic import Field

from marquee.core.env import BaseEnv, load_env
from marquee.tenancy.tenant import TenantContext


class FlagsEnv(BaseEnv):
    flags_application: str = Field(min_length=1)
    flags_environment: str = Field(min_length=1)
    flags_profile: str = Field(min_length=1)
    flags_max_age_seconds: int = Field(ge=0, le=3600)


@cache
def flags_env() -> FlagsEnv:
    return load_env(FlagsEnv)


@cache
def feature_flags() -> FeatureFlags:
    env = flags_env()
    store = AppConfigStore(
        environment=env.flags_environment,
        application=env.flags_application,
        name=env.flags_profile,
        max_age=env.flags_max_age_seconds,
    )
    return FeatureFlags(store=store)


def user_bucket(user_id: str) -> int:
    """A stable 0-99 bucket per user: the same user is always in or out of a percentage rollout."""
    return int.from_bytes(hashlib.sha256(user_id.encode()).digest()[:8], "big") % 100


def flag_context(caller: TenantContext) -> dict[str, Any]:
    return {
        "tenant": caller.tenant_id,
        "user_id": caller.user_id,
        "groups": sorted(caller.groups),
        "user_bucket": user_bucket(caller.user_id),
    }


def is_enabled(name: str, caller: TenantContext, *, default: bool = False) -> bool:
    value = feature_flags().evaluate(name=name, context=flag_context(caller), default=default)
    return bool(value)


def enabled_features(caller: TenantContext) -> list[str]:
    """The names of every flag that is on for this caller."""
    return sorted(feature_flags().get_enabled_features(context=flag_context(caller)))


def clear_cache() -> None:
    feature_flags.cache_clear()
    flags_env.cache_clear()
