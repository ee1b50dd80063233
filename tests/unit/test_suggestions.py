"""Seat suggestions v1 (front row first) and v2 (centre first), pure functions of the free seats (functions/catalog)."""

from __future__ import annotations

from functions.catalog.suggestions import suggest_v1, suggest_v2  # only the catalog function uses them

ALL = [f"{row}{n}" for row in "ABCDE" for n in range(1, 11)]


def test_v1_takes_the_first_adjacent_run_front_row_first() -> None:
    assert suggest_v1(ALL, 2) == ["A1", "A2"]
    assert suggest_v1([s for s in ALL if s not in ("A2", "A5")], 3) == ["A6", "A7", "A8"]


def test_v2_takes_the_adjacent_run_closest_to_the_centre() -> None:
    assert suggest_v2(ALL, 2, rows_in_auditorium=5, seats_per_row=10) == ["C5", "C6"]
    taken_centre = [s for s in ALL if s not in ("C5", "C6")]
    # the middle of the next row beats the edge of the centre row; rows B and D tie and B comes first
    assert suggest_v2(taken_centre, 2, rows_in_auditorium=5, seats_per_row=10) == ["B5", "B6"]


def test_no_run_long_enough_means_no_suggestion() -> None:
    alternate = [f"A{n}" for n in range(1, 11, 2)]
    assert suggest_v1(alternate, 2) == []
    assert suggest_v2(alternate, 2, rows_in_auditorium=1, seats_per_row=10) == []
