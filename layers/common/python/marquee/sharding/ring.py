"""The shard map: a consistent-hash ring with virtual nodes, silo overrides and per-tenant placements.

A tenant's shard is, in order: its silo override (a premium tenant on a dedicated shard), its placement (where the
mover last put it), else its point on the ring. Silo shards are never on the ring, so no hashed tenant lands on them.
Adding a shard to the ring moves only the tenants whose points now fall to it (about 1/N of them); a placement pins a
tenant wherever it is until a move says otherwise.
"""

from __future__ import annotations

import bisect
import hashlib
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_VNODES = 64


def point(text: str) -> int:
    """A 64-bit ring position (the first 8 bytes of SHA-256: stable across processes and Python versions)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


class Moving(BaseModel):
    """A move in progress: writes to ``source`` carry the fence check until the map flips."""

    model_config = ConfigDict(frozen=True)

    move_id: str
    source: str
    target: str


class ShardMap(BaseModel):
    """One version of the shard map, stored as a single item in the control table."""

    model_config = ConfigDict(frozen=True)

    version: int = Field(ge=0)
    shards: dict[str, str]  # shard id -> table name
    ring: tuple[str, ...]  # the shards on the ring (the others take silo tenants only)
    home: str  # where keys without a tenant go
    vnodes: int = Field(default=DEFAULT_VNODES, ge=1, le=1024)
    silo: dict[str, str] = Field(default_factory=dict)  # tenant -> dedicated shard
    placements: dict[str, str] = Field(default_factory=dict)  # tenant -> shard, set by completed moves
    moving: dict[str, Moving] = Field(default_factory=dict)  # tenant -> move in progress

    @model_validator(mode="after")
    def _consistent(self) -> ShardMap:
        known = set(self.shards)
        if not self.ring or not set(self.ring) <= known or self.home not in known:
            raise ValueError("ring and home must name known shards, and the ring cannot be empty")
        for tenant, shard in {**self.silo, **self.placements}.items():
            if shard not in known:
                raise ValueError(f"tenant {tenant} is placed on unknown shard {shard}")
        if set(self.silo.values()) & set(self.ring):
            raise ValueError("a silo shard cannot also be on the ring")
        return self

    @cached_property
    def _points(self) -> tuple[list[int], list[str]]:
        pairs = sorted((point(f"{shard}#vnode#{i}"), shard) for shard in self.ring for i in range(self.vnodes))
        return [p for p, _ in pairs], [s for _, s in pairs]

    def hashed(self, tenant_id: str) -> str:
        """The tenant's shard on the ring alone (no overrides): the first virtual node clockwise of its point."""
        points, owners = self._points
        index = bisect.bisect_right(points, point(f"tenant#{tenant_id}")) % len(points)
        return owners[index]

    def shard_of(self, tenant_id: str) -> str:
        return self.silo.get(tenant_id) or self.placements.get(tenant_id) or self.hashed(tenant_id)

    def table_of(self, tenant_id: str | None) -> str:
        return self.shards[self.shard_of(tenant_id) if tenant_id is not None else self.home]

    def to_item_json(self) -> str:
        return self.model_dump_json()
