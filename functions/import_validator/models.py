"""Configuration and task models of the import validator (the coordinator and its range validators)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from marquee.core.models import CamelRequest
from marquee.tenancy.tenant_session import TenantDataEnv

MIB = 1024 * 1024


class ValidatorEnv(TenantDataEnv):
    imports_bucket: str = Field(min_length=3)
    range_bytes: int = Field(ge=MIB, description="A file bigger than this is validated by several range validators")
    max_parallel_ranges: int = Field(ge=1, le=64)
    range_function_name: str = Field(
        min_length=1, description="This function itself: where range tasks and publishing handoffs go"
    )
    default_hold_lease_seconds: int = Field(ge=30, le=3600)
    max_errors_per_field: int = Field(ge=1, le=10_000)


class RangeTask(CamelRequest):
    """One range validator's work: the lines that start in ``[start, end)`` of the object."""

    task: Literal["range"] = "range"
    tenant_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    import_id: str = Field(pattern=r"^imp_[0-9a-f]{32}$")
    bucket: str
    key: str
    kind: Literal["showtimes", "movies", "cinemas"]
    format: Literal["csv", "ndjson"]
    start: int = Field(ge=0)
    end: int = Field(ge=1)
