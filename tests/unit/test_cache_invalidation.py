"""Which cached entries an event makes stale (marquee.cache.showtimes) and the invalidator's logic on a fake cache."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from marquee.cache import CacheKey
from marquee.cache.showtimes import LISTING_ENTITY, keys_changed_by, listing_key, showtime_key

EVENTS = Path(__file__).parents[2] / "events" / "cache_invalidator"


class FakeCache:
    def __init__(self) -> None:
        self.bumped: list[CacheKey] = []

    def invalidate(self, key: CacheKey) -> int:
        self.bumped.append(key)
        return len(self.bumped)


def logic() -> Any:
    return importlib.import_module("functions.cache_invalidator.logic")


def test_a_hold_makes_its_showtimes_seat_map_and_the_listing_stale_and_nothing_else() -> None:
    keys = keys_changed_by("HoldCreated", "t1", {"showtimeId": "sht_1", "holdId": "h"})
    assert [(k.tenant, k.entity) for k in keys] == [("t1", "showtime#sht_1"), ("t1", LISTING_ENTITY)]
    # the bump covers every view of the showtime: the generation is per entity
    assert showtime_key("t1", "sht_1", view="staff").generation_key("mq") == keys[0].generation_key("mq")


def test_listing_events_touch_the_listing_only_and_other_events_nothing() -> None:
    assert [k.entity for k in keys_changed_by("MovieChanged", "t1", {"movieId": "m"})] == [LISTING_ENTITY]
    assert keys_changed_by("PaymentCaptured", "t1", {"showtimeId": "sht_1"}) == []
    assert listing_key("t1", limit=5, cursor="abc").generation_key("mq") == CacheKey(
        "t1", LISTING_ENTITY
    ).generation_key("mq")


def test_the_sample_event_bumps_its_showtime_and_the_listing() -> None:
    detail = json.loads((EVENTS / "order_confirmed.json").read_text())["detail"]
    cache = FakeCache()
    assert logic().invalidate(detail, cache=cache) == [
        "acme-cinemas/showtime#sht_0123456789abcdef",
        "acme-cinemas/showtimes",
    ]


def test_an_event_it_cannot_key_is_ignored_not_an_error() -> None:
    cache = FakeCache()
    assert (
        logic().invalidate({"type": "HoldCreated", "tenantId": "t{1}", "data": {"showtimeId": "s"}}, cache=cache) == []
    )
    assert logic().invalidate({"type": "HoldCreated"}, cache=cache) == []
    assert cache.bumped == []
