"""Configuration of the cache invalidator."""

from __future__ import annotations

from marquee.cache.env import CacheEnv
from marquee.core.env import PowertoolsEnv


class InvalidatorEnv(PowertoolsEnv, CacheEnv):
    """The cache's endpoint only: this function reads no table and calls no AWS API."""
