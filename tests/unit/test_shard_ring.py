"""The shard map's ring: virtual nodes spread tenants evenly, a new shard takes about 1/N of them, and overrides win."""

from __future__ import annotations

from collections import Counter

import pytest

from marquee.sharding.ring import ShardMap

TENANTS = [f"chain-{i}" for i in range(2000)]


def _map(n: int, **extra: object) -> ShardMap:
    shards = {f"s{i}": f"table-{i}" for i in range(n)}
    return ShardMap(version=1, shards=shards, ring=tuple(shards), home="s0", **extra)  # type: ignore[arg-type]


def test_virtual_nodes_spread_tenants_within_a_quarter_of_the_mean() -> None:
    counts = Counter(_map(3).shard_of(t) for t in TENANTS)
    mean = len(TENANTS) / 3
    assert set(counts) == {"s0", "s1", "s2"}
    assert all(abs(c - mean) / mean < 0.25 for c in counts.values()), counts


def test_adding_a_shard_to_the_ring_moves_only_the_tenants_it_takes() -> None:
    before, after = _map(3), _map(4)
    moved = [t for t in TENANTS if before.shard_of(t) != after.shard_of(t)]
    assert all(after.shard_of(t) == "s3" for t in moved)  # nobody moves between the old shards
    assert 0.15 < len(moved) / len(TENANTS) < 0.35  # about 1/4


def test_a_silo_override_beats_a_placement_which_beats_the_ring() -> None:
    shards = {"s0": "a", "s1": "b", "s2": "premium"}
    shard_map = ShardMap(
        version=1,
        shards=shards,
        ring=("s0", "s1"),
        home="s0",
        silo={"vip": "s2"},
        placements={"vip": "s1", "moved": "s1"},
    )
    assert shard_map.shard_of("vip") == "s2" and shard_map.table_of("vip") == "premium"
    assert shard_map.shard_of("moved") == "s1"
    assert shard_map.table_of(None) == "a"  # keys without a tenant go home
    assert not any(shard_map.hashed(t) == "s2" for t in TENANTS)  # no hashed tenant lands on a silo shard


def test_a_map_naming_an_unknown_shard_or_a_silo_on_the_ring_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown shard"):
        _map(2, placements={"x": "s9"})
    with pytest.raises(ValueError, match="silo shard"):
        _map(2, silo={"x": "s1"})
