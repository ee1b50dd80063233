"""The access trail's reads (compliance officers) and the tenant's security settings. Knows nothing of API Gateway."""

from __future__ import annotations

from datetime import UTC, datetime

from marquee.audit.rules import AccessState, SecuritySettings
from marquee.audit.trail import TrailBucket
from marquee.booking.errors import NotFound
from marquee.tenancy.tenant import TenantContext

from .models import AccessPage, SecuritySettingsResponse

COMPLIANCE = "compliance"


def access_page(
    customer_id: str, *, limit: int, cursor: str | None, tenant: TenantContext, trail: TrailBucket
) -> AccessPage:
    tenant.require_group(COMPLIANCE)
    items, next_cursor = trail.page(tenant, customer_id, limit=limit, cursor=cursor)
    return AccessPage(items=items, next_cursor=next_cursor)


def get_settings(*, tenant: TenantContext, state: AccessState) -> SecuritySettingsResponse:
    tenant.require_group(COMPLIANCE)
    found = state.settings_record(tenant.tenant_id)
    if found is None:
        raise NotFound("No security settings yet.")
    settings, updated_at, updated_by = found
    return SecuritySettingsResponse(**settings.model_dump(), updated_at=updated_at, updated_by=updated_by)


def put_settings(
    request: SecuritySettings, *, tenant: TenantContext, state: AccessState, at: datetime | None = None
) -> SecuritySettingsResponse:
    tenant.require_group(COMPLIANCE)
    moment = at or datetime.now(UTC)
    by = tenant.username or tenant.user_id
    state.put_settings(tenant.tenant_id, request, by=by, at=moment)
    return SecuritySettingsResponse(**request.model_dump(), updated_at=moment, updated_by=by)
