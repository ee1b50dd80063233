"""Read-side queries: each one reads a read model only (marquee.projections.queries). Knows nothing of API Gateway."""

from __future__ import annotations

from datetime import date

from marquee.cache import CacheAside
from marquee.cache.showtimes import listing_key
from marquee.projections import queries
from marquee.relational.client import data_api
from marquee.tenancy.tenant import TenantContext

from .models import OrderHistory, QueriesEnv, SalesReport, ShowtimePage

STAFF = "staff"


def list_showtimes(
    *, tenant: TenantContext, env: QueriesEnv, limit: int, cursor: str | None, cache: CacheAside | None = None
) -> ShowtimePage:
    """Cache-aside when ``cache`` is given: one entry per page, 5 s, invalidated by the listing's events."""

    def load() -> dict:
        page = queries.showtimes(data_api(env), tenant.tenant_id, limit=limit, cursor=cursor)
        listing = ShowtimePage.model_validate({"items": page.items, "next_cursor": page.next_cursor})
        return listing.model_dump(mode="json", by_alias=True)

    value = load() if cache is None else cache.get(listing_key(tenant.tenant_id, limit=limit, cursor=cursor), load)
    return ShowtimePage.model_validate(value)


def my_orders(*, tenant: TenantContext, env: QueriesEnv, limit: int, cursor: str | None) -> OrderHistory:
    page = queries.customer_orders(data_api(env), tenant.tenant_id, tenant.user_id, limit=limit, cursor=cursor)
    return OrderHistory.model_validate({"items": page.items, "next_cursor": page.next_cursor})


def sales_report(*, tenant: TenantContext, env: QueriesEnv, from_day: date, to_day: date) -> SalesReport:
    tenant.require_group(STAFF)
    rows = queries.sales(data_api(env), tenant.tenant_id, from_day=from_day, to_day=to_day)
    return SalesReport.model_validate({"from": from_day, "to": to_day, "rows": rows})
