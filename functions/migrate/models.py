"""Configuration of the migrate function."""

from __future__ import annotations

from marquee.core.env import PowertoolsEnv
from marquee.relational.client import RelationalEnv


class MigrateEnv(PowertoolsEnv, RelationalEnv):
    """The Data API target the migrations are applied to."""
