"""Expand and contract, worked through on a real item (design question 2, docs/design/02-zero-downtime-deploys.md).

The change: a hold item kept its seats as a list of maps, ``seats = [{seatId, fence}, ...]`` (the **old** shape). It
now keeps them as one map from seat id to fencing token, ``seat_fences = {"A1": 3, "A2": 3}`` (the **new** shape), so
that one seat of a hold can be named in an expression (``seat_fences.#seat``: a condition on one seat's token, a
partial release) without knowing its position in a list.

Two versions of the code serve side by side during a canary, and a rollback brings the older back after the newer has
written, so the change ships as phases, each one deploy, each safe next to the one before it:

| phase | reads | writes | safe to roll back to |
|---|---|---|---|
| ``expand`` | old and new | old | the code before it (which reads only old) |
| ``migrate`` | old and new | new | ``expand`` (which reads new) |
| (backfill) | | rewrites old items as new: ``marquee migrate-items holds`` | |
| ``contract`` | new only | new | ``migrate`` |

``contract`` ships only after ``count_old`` (``marquee migrate-items holds --verify``) finds no old-shape hold; a
contract-phase reader that still meets one raises ``RetiredItemShape`` rather than guess.

The phase is a setting: functions read ``HOLD_SHAPE_PHASE`` at cold start (``HoldShapeEnv``) and call ``use_phase``; the
CDK app sets it from the ``holdShapePhase`` context (``infra/constants.py``). Everything else reads ``phase()``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from http import HTTPStatus
from typing import Any

from marquee.core.env import BaseEnv
from marquee.core.errors import MarqueeError
from marquee.dynamo.backfill import Shape


class ShapePhase(StrEnum):
    EXPAND = "expand"
    MIGRATE = "migrate"
    CONTRACT = "contract"


# The phase this repository's stack deploys (infra/constants.py HOLD_SHAPE_PHASE) and the one used when no function
# configured another (devkit tools, in-process tests).
DEFAULT_PHASE = ShapePhase.MIGRATE

OLD_ATTRIBUTE = "seats"
NEW_ATTRIBUTE = "seat_fences"
# What makes an item an old-shape hold (a Scan filter; the backfill's and the verification's).
HOLD_ENTITY = "HOLD"
IS_OLD_SHAPE_HOLD = f"entity = :hold_entity AND attribute_exists({OLD_ATTRIBUTE})"
OLD_SHAPE_VALUES = {":hold_entity": {"S": HOLD_ENTITY}}
# The backfill's rewrite applies only to the item exactly as it was read: the old list unchanged, no new map yet. A
# hold deleted meanwhile (TTL) is not re-created, and any other attribute a writer changed meanwhile is left alone
# (an UpdateItem names only the attributes it changes).
STILL_AS_READ = f"{OLD_ATTRIBUTE} = :old AND attribute_not_exists({NEW_ATTRIBUTE})"

_ROW_AND_NUMBER = re.compile(r"([A-Z]+)([0-9]+)")


class HoldShapeEnv(BaseEnv):
    """``HOLD_SHAPE_PHASE``: which phase of the change this function runs (required: no silent default)."""

    hold_shape_phase: ShapePhase


class RetiredItemShape(MarqueeError):
    """A contract-phase reader met an old-shape item: ``contract`` was deployed before the backfill finished."""

    status = HTTPStatus.INTERNAL_SERVER_ERROR
    slug = "retired-item-shape"
    title = "Retired item shape"


_state: dict[str, ShapePhase] = {"phase": DEFAULT_PHASE}


def use_phase(phase: ShapePhase | str) -> None:
    """Set the phase this process runs (a function calls it once at cold start with its ``HoldShapeEnv``)."""
    _state["phase"] = ShapePhase(phase)


def phase() -> ShapePhase:
    return _state["phase"]


def seat_order(seat_id: str) -> tuple[str, int, str]:
    """Row, then number (``A2`` before ``A10``): a map has no order, so seats read from one are sorted."""
    match = _ROW_AND_NUMBER.fullmatch(seat_id)
    return (match.group(1), int(match.group(2)), "") if match else ("", 0, seat_id)


def read_seats(item: Mapping[str, Any], *, current: ShapePhase | None = None) -> list[tuple[str, int]]:
    """(seat id, fence) of a hold item, in the phase's reading: both shapes, or in ``contract`` the new one only."""
    live = current or phase()
    if NEW_ATTRIBUTE in item:
        fences = item[NEW_ATTRIBUTE]["M"]
        return sorted(((seat, int(value["N"])) for seat, value in fences.items()), key=lambda s: seat_order(s[0]))
    if OLD_ATTRIBUTE in item and live is not ShapePhase.CONTRACT:
        return [(s["M"]["seatId"]["S"], int(s["M"]["fence"]["N"])) for s in item[OLD_ATTRIBUTE]["L"]]
    hold_id = item.get("hold_id", {}).get("S", "?")
    if OLD_ATTRIBUTE in item:
        raise RetiredItemShape(f"Hold {hold_id} still has the old seats list; run the backfill before contracting.")
    raise RetiredItemShape(f"Hold {hold_id} has no seats in either shape.")


def old_shape(seats: Sequence[tuple[str, int]]) -> dict[str, Any]:
    return {"L": [{"M": {"seatId": {"S": seat}, "fence": {"N": str(fence)}}} for seat, fence in seats]}


def new_shape(seats: Sequence[tuple[str, int]]) -> dict[str, Any]:
    return {"M": {seat: {"N": str(fence)} for seat, fence in seats}}


def write_seats(seats: Sequence[tuple[str, int]], *, current: ShapePhase | None = None) -> dict[str, Any]:
    """The seats attribute(s) of a new hold item, in the shape the phase writes."""
    if (current or phase()) is ShapePhase.EXPAND:
        return {OLD_ATTRIBUTE: old_shape(seats)}
    return {NEW_ATTRIBUTE: new_shape(seats)}


def is_new(item: Mapping[str, Any]) -> bool:
    return NEW_ATTRIBUTE in item and OLD_ATTRIBUTE not in item


def rewrite(item: Mapping[str, Any]) -> dict[str, Any]:
    """The backfill's ``UpdateItem`` arguments (without table name) that turn one old-shape hold into the new shape."""
    if NEW_ATTRIBUTE in item:  # both shapes (no phase writes both; a hand-edited item): the new one is kept
        return {
            "Key": {"pk": item["pk"], "sk": item["sk"]},
            "UpdateExpression": f"REMOVE {OLD_ATTRIBUTE}",
            "ConditionExpression": f"{OLD_ATTRIBUTE} = :old AND {NEW_ATTRIBUTE} = :new",
            "ExpressionAttributeValues": {":old": item[OLD_ATTRIBUTE], ":new": item[NEW_ATTRIBUTE]},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    seats = read_seats(item, current=ShapePhase.MIGRATE)
    return {
        "Key": {"pk": item["pk"], "sk": item["sk"]},
        "UpdateExpression": f"SET {NEW_ATTRIBUTE} = :new REMOVE {OLD_ATTRIBUTE}",
        "ConditionExpression": STILL_AS_READ,
        "ExpressionAttributeValues": {":old": item[OLD_ATTRIBUTE], ":new": new_shape(seats)},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def backfill_shape() -> Shape:
    """The hold change as ``marquee.dynamo.backfill`` migrates it."""
    return Shape(filter_expression=IS_OLD_SHAPE_HOLD, filter_values=OLD_SHAPE_VALUES, is_new=is_new, rewrite=rewrite)
