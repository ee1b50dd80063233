"""Configuration of the health function, validated once at cold start."""

from __future__ import annotations

from pydantic import Field, model_validator

from marquee.cache.env import CacheEnv
from marquee.core.env import PowertoolsEnv
from marquee.relational.client import RelationalEnv


class HealthEnv(PowertoolsEnv, RelationalEnv, CacheEnv):
    """Every dependency the deep health check probes, plus the per-check timeout and slow-warning threshold."""

    table_name: str = Field(min_length=1)
    queue_url: str = Field(min_length=1)
    event_bus_name: str = Field(min_length=1)
    secret_arn: str = Field(min_length=1)
    state_machine_arn: str = Field(min_length=1)
    health_check_timeout_ms: int = Field(gt=0, le=25_000)
    health_check_warn_ms: int = Field(gt=0)
    db_health_check_timeout_ms: int = Field(gt=0, le=25_000)
    cache_health_check_timeout_ms: int = Field(gt=0, le=25_000)
    # Tenant sharding (Sharding.route_main_table_functions sets them: TABLE_NAME is the main table). Unset: not sharded.
    shard_control_table_name: str | None = None
    shard_tables: str | None = None

    @property
    def shard_table_names(self) -> list[str]:
        """Every shard's table, s0 (the main table) first."""
        return [t.strip() for t in (self.shard_tables or "").split(",") if t.strip()]

    @model_validator(mode="after")
    def _warn_below_timeout(self) -> HealthEnv:
        if self.health_check_warn_ms >= self.health_check_timeout_ms:
            raise ValueError("HEALTH_CHECK_WARN_MS must be lower than HEALTH_CHECK_TIMEOUT_MS")
        if self.shard_control_table_name and not self.shard_table_names:
            raise ValueError("SHARD_TABLES must name the shard tables when SHARD_CONTROL_TABLE_NAME is set")
        return self
