"""Operations on the shards: what each holds (tenants, items, recent writes) and a balance report with moves.

Both read every shard in full (a Scan per table, and each stream's records of the last ``window_s``): an operator's
tool, run from the CLI with the operator's role, never on a request path.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marquee.sharding.mover import Mover, movable
from marquee.sharding.ring import ShardMap
from marquee.sharding.routing import tenant_from_pk


@dataclass
class ShardStatus:
    shard: str
    table: str
    role: str  # ring | silo | spare
    items: Counter[str] = field(default_factory=Counter)  # tenant -> items
    writes: Counter[str] = field(default_factory=Counter)  # tenant -> stream records in the window

    @property
    def tenants(self) -> int:
        return len(self.items)


def status(mover: Mover, shard_map: ShardMap, *, window_s: float = 300.0) -> list[ShardStatus]:
    since = time.time() - window_s
    report: list[ShardStatus] = []
    for shard, table in shard_map.shards.items():
        role = "ring" if shard in shard_map.ring else ("silo" if shard in shard_map.silo.values() else "spare")
        row = ShardStatus(shard, table, role)
        kwargs: dict[str, Any] = {"TableName": table, "ProjectionExpression": "pk, sk"}
        while True:
            page = mover.client.scan(**kwargs)
            for item in page.get("Items", []):
                tenant = tenant_from_pk(item["pk"]["S"])
                if tenant is not None and movable(item):
                    row.items[tenant] += 1
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        for _, records in mover._records(mover._stream_arn(table), {}):  # noqa: SLF001 - same package
            for change in records:
                when = change["dynamodb"].get("ApproximateCreationDateTime")
                stamp = when.timestamp() if isinstance(when, datetime) else float(when or 0)
                tenant = tenant_from_pk(change["dynamodb"]["Keys"]["pk"]["S"])
                if tenant is not None and stamp >= since:
                    row.writes[tenant] += 1
        report.append(row)
    return report


@dataclass(frozen=True)
class Suggestion:
    tenant: str
    source: str
    target: str
    writes: int
    items: int


def balance(report: list[ShardStatus], *, tolerance: float = 0.2) -> list[Suggestion]:
    """Greedy moves between ring shards until each one's write load is within ``tolerance`` of the mean (by writes in
    the window; by items when there were none). Silo shards are never balanced."""
    ring = [r for r in report if r.role == "ring"]
    if len(ring) < 2:
        return []
    by_writes = sum(sum(r.writes.values()) for r in ring) > 0

    def weight(row: ShardStatus, tenant: str) -> int:
        return row.writes[tenant] if by_writes else row.items[tenant]

    load = {r.shard: sum(weight(r, t) for t in r.items | r.writes) for r in ring}
    tenants = {r.shard: {t: weight(r, t) for t in r.items | r.writes} for r in ring}
    mean = sum(load.values()) / len(load)
    suggestions: list[Suggestion] = []
    for _ in range(20):
        heavy = max(load, key=lambda s: load[s])
        light = min(load, key=lambda s: load[s])
        if load[heavy] <= mean * (1 + tolerance) or heavy == light:
            break
        gap = load[heavy] - load[light]
        # the tenant whose move narrows the gap most (moving it must not just swap the roles of the two shards)
        candidates = [(t, w) for t, w in tenants[heavy].items() if 0 < w < gap]
        if not candidates:
            break
        tenant, w = min(candidates, key=lambda c: abs(gap / 2 - c[1]))
        row = next(r for r in ring if r.shard == heavy)
        suggestions.append(Suggestion(tenant, heavy, light, row.writes[tenant], row.items[tenant]))
        load[heavy] -= w
        load[light] += w
        tenants[light][tenant] = tenants[heavy].pop(tenant)
    return suggestions
