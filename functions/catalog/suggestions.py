"""Seat suggestions: where to sit, for a party of N, given the seat map. Two algorithms, rolled out by feature flag
``seat_suggestions_v2`` (a MODULO_RANGE rule on the user's stable bucket: a percentage of customers get v2).

- v1 (the incumbent): the first run of N free adjacent seats, front row first, left to right.
- v2 (the new one): the run of N free adjacent seats closest to the auditorium's centre (middle rows, middle seats),
  which is what people actually pick.

Both are pure functions of the seat map, so they are tested without any AWS.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

SEAT_ID = re.compile(r"^(?P<row>[A-Z]+)(?P<number>\d+)$")
FLAG = "seat_suggestions_v2"


def _rows(free_seats: Iterable[str]) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for seat in free_seats:
        match = SEAT_ID.match(seat)
        if match:
            rows.setdefault(match["row"], []).append(int(match["number"]))
    return {row: sorted(numbers) for row, numbers in sorted(rows.items())}


def _runs(numbers: Sequence[int], party: int) -> list[list[int]]:
    """Every window of ``party`` consecutive seat numbers among ``numbers``."""
    present = set(numbers)
    return [list(range(n, n + party)) for n in numbers if all(n + k in present for k in range(party))]


def suggest_v1(free_seats: Iterable[str], party: int) -> list[str]:
    for row, numbers in _rows(free_seats).items():
        runs = _runs(numbers, party)
        if runs:
            return [f"{row}{n}" for n in runs[0]]
    return []


def suggest_v2(free_seats: Iterable[str], party: int, *, rows_in_auditorium: int, seats_per_row: int) -> list[str]:
    centre_row, centre_seat = (rows_in_auditorium - 1) / 2, (seats_per_row + 1) / 2
    best: tuple[float, list[str]] | None = None
    for row, numbers in _rows(free_seats).items():
        row_index = sum((ord(c) - 64) * 26**i for i, c in enumerate(reversed(row))) - 1
        for run in _runs(numbers, party):
            middle = (run[0] + run[-1]) / 2
            distance = abs(row_index - centre_row) * 1.5 + abs(middle - centre_seat)
            if best is None or distance < best[0]:
                best = (distance, [f"{row}{n}" for n in run])
    return best[1] if best else []
