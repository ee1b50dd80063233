"""GCRA's arithmetic (marquee.ratelimit.gcra.decide): redis-cell's reference table, case for case.

redis-cell's own test (src/cell/mod.rs, ``it_rate_limits``): limit 5 (max_burst 4), 1 per second; each row is
(ms after start, quantity, remaining, reset_after ms, retry_after ms, limited). The same table runs against the Lua
script on a real Valkey in tests/integration/test_ratelimit.py.
"""

from __future__ import annotations

import pytest

from marquee.ratelimit import Limit, decide

START_US = 1_700_000_000_000_000
REDIS_CELL_LIMIT = Limit(count=1, period_s=1, burst=4)
REDIS_CELL_TABLE = [
    (0, 6, 5, 0, -1, True),  # a request larger than the maximum can never be made
    (0, 1, 4, 1000, -1, False),
    (0, 1, 3, 2000, -1, False),
    (0, 1, 2, 3000, -1, False),
    (0, 1, 1, 4000, -1, False),
    (0, 1, 0, 5000, -1, False),
    (0, 1, 0, 5000, 1000, True),
    (3000, 1, 2, 3000, -1, False),
    (3100, 1, 1, 3900, -1, False),
    (4000, 1, 1, 4000, -1, False),
    (8000, 1, 4, 1000, -1, False),
    (9500, 1, 4, 1000, -1, False),
    (9500, 0, 4, 1000, -1, False),  # quantity 0 peeks
    (9500, 2, 2, 3000, -1, False),  # a larger request uses more of the limit
    (9500, 5, 2, 3000, 3000, True),  # and cannot exceed it
]


def test_redis_cell_reference_table_is_reproduced_case_for_case() -> None:
    tat: int | None = None
    for number, (at_ms, quantity, remaining, reset_ms, retry_ms, limited) in enumerate(REDIS_CELL_TABLE):
        decision, stored = decide(tat, START_US + at_ms * 1000, REDIS_CELL_LIMIT, quantity)
        if stored is not None:
            tat = stored
        expected_retry = -1 if retry_ms < 0 else retry_ms * 1000
        assert (decision.allowed, decision.limit, decision.remaining, decision.reset_after_us) == (
            not limited,
            5,
            remaining,
            reset_ms * 1000,
        ), f"case {number}"
        assert decision.retry_after_us == expected_retry, f"case {number}"


def test_redis_cell_readme_example_15_burst_30_per_60s() -> None:
    # CL.THROTTLE user123 15 30 60 -> 0 (allowed), 16 (limit), 15 (remaining), -1 (retry), 2 (reset, seconds)
    decision, _ = decide(None, START_US, Limit(count=30, period_s=60, burst=15))
    assert decision.allowed and decision.limit == 16 and decision.remaining == 15
    assert decision.retry_after_us == -1
    assert decision.reset_after_us == 2_000_000


def test_emission_interval_rounds_up_so_rounding_never_admits_more() -> None:
    limit = Limit(count=3, period_s=1, burst=0)
    assert limit.emission_interval_us == 333_334
    assert limit.emission_interval_us * 3 >= 1_000_000


@pytest.mark.parametrize("args", [(0, 1, 0), (1, 0, 0), (1, 1, -1)])
def test_a_limit_that_cannot_work_is_refused(args: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError):
        Limit(*args)
