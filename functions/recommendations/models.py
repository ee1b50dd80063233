"""Configuration of the recommendations function."""

from __future__ import annotations

from marquee.cache.env import CacheEnv
from marquee.core.env import PowertoolsEnv


class RecommendationsEnv(PowertoolsEnv, CacheEnv):
    """The cache's endpoint (the signals live in Valkey); the feature flags are read only by the chaos hook."""
