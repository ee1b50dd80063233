"""Describe the caller from the verified tenant context. Knows nothing of API Gateway."""

from __future__ import annotations

from datetime import UTC, datetime

from marquee.core.flags import enabled_features, flags_env
from marquee.tenancy.tenant import TenantContext

from .models import FeaturesResponse, MeResponse


def describe_caller(caller: TenantContext) -> MeResponse:
    return MeResponse(
        tenant_id=caller.tenant_id,
        user_id=caller.user_id,
        username=caller.username,
        groups=sorted(caller.groups),
    )


def features_for(caller: TenantContext) -> FeaturesResponse:
    """The feature flags that are on for the caller, as this function instance currently sees them (cached)."""
    return FeaturesResponse(
        enabled=enabled_features(caller),
        evaluated_at=datetime.now(UTC),
        max_age_seconds=flags_env().flags_max_age_seconds,
    )
