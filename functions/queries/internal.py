"""The read side's internal entry points (challenge 17): what the aggregator (functions/overview) asks for by a direct
invoke. Both read a read model only, for the caller's tenant (and, for orders, the caller).

- ``availability``: one showtime of the listing with its free, held and sold counts, or None if the model has none.
- ``my-orders``: the caller's orders for one showtime, newest first (at most 20).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marquee.aggregation import InternalRouter
from marquee.projections import queries
from marquee.relational.client import data_api
from marquee.tenancy.tenant import TenantContext

from .models import OrderSummary, QueriesEnv, ShowtimeListing

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def router(env: QueriesEnv) -> InternalRouter:
    internal = InternalRouter(chaos_service="queries")

    def showtime_id(params: Mapping[str, Any]) -> str | None:
        value = str(params.get("showtimeId") or "")
        return value if _ID.match(value) else None

    @internal.op("availability")
    def availability(tenant: TenantContext, params: Mapping[str, Any]) -> dict[str, Any] | None:
        wanted = showtime_id(params)
        row = queries.showtime(data_api(env), tenant.tenant_id, wanted) if wanted else None
        return ShowtimeListing.model_validate(row).model_dump(mode="json", by_alias=True) if row else None

    @internal.op("my-orders")
    def my_orders(tenant: TenantContext, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        wanted = showtime_id(params)
        rows = (
            queries.customer_orders_for_showtime(data_api(env), tenant.tenant_id, tenant.user_id, wanted)
            if wanted
            else []
        )
        return [OrderSummary.model_validate(row).model_dump(mode="json", by_alias=True) for row in rows]

    return internal
