"""Cache keys: tenant first, one hash slot per entity, and a generation in every data key.

``CacheKey(tenant, entity, item)`` names one cached value. Every key of one ``(tenant, entity)`` carries the same hash
tag, ``{<tenant>/<entity>}``, so they live in one slot of a Valkey cluster (ElastiCache Serverless is one) and a Lua
script may touch several of them:

- ``<ns>:{t1/catalog}:gen``: the entity's generation counter (absent = 0);
- ``<ns>:{t1/catalog}:g<gen>:<item>``: the value, written under the generation read *before* the origin was read;
- ``<ns>:{t1/catalog}:g<gen>:<item>:lock``: the single-flight lease of that value.

Invalidation is ``INCR gen``: readers then look under the next generation, so a value computed from the old state can
still be written (a slow loader finishing after the change) but is never read again. That closes the
delete-then-stale-set race that ``DEL key`` leaves open; the old entries simply expire.
"""

from __future__ import annotations

from dataclasses import dataclass

_FORBIDDEN = set("{}")


@dataclass(frozen=True)
class CacheKey:
    tenant: str
    entity: str  # the unit of invalidation: "catalog", "showtime#42", ...
    item: str = ""  # one value of it: "page=1", "seatmap", ...

    def __post_init__(self) -> None:
        for name in ("tenant", "entity", "item"):
            value = getattr(self, name)
            if _FORBIDDEN & set(value):
                raise ValueError(f"CacheKey.{name} may not contain braces (they delimit the hash tag): {value!r}")
        if not self.tenant or not self.entity:
            raise ValueError("CacheKey needs a tenant and an entity")

    def slot(self, namespace: str) -> str:
        return f"{namespace}:{{{self.tenant}/{self.entity}}}"

    def generation_key(self, namespace: str) -> str:
        return f"{self.slot(namespace)}:gen"

    def data_key(self, namespace: str, generation: int) -> str:
        return f"{self.slot(namespace)}:g{generation}:{self.item}"

    @staticmethod
    def lock_key(data_key: str) -> str:
        return f"{data_key}:lock"
