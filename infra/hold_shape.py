"""Which phase of the hold item's shape change the stack deploys (expand and contract, design question 2).

``cdk deploy -c marquee:holdShapePhase=expand|migrate|contract`` (``marquee deploy --hold-shape-phase``); without it,
``constants.HOLD_SHAPE_PHASE``. Every
function that reads or writes hold items gets it as ``HOLD_SHAPE_PHASE`` (``marquee.booking.hold_shape``): the holds
function, the orders function and the saga's steps. A contract deploy is safe only once
``marquee migrate-items holds --verify`` finds no old-shape hold (it exits 1 while any remains); ``marquee deploy``
refuses a contract deploy until then.
"""

from __future__ import annotations

from constructs import Construct

from infra import constants

PHASES = ("expand", "migrate", "contract")


def phase_of(scope: Construct) -> str:
    phase = scope.node.try_get_context(constants.HOLD_SHAPE_PHASE_CONTEXT_KEY) or constants.HOLD_SHAPE_PHASE
    if phase not in PHASES:
        raise ValueError(
            f"context {constants.HOLD_SHAPE_PHASE_CONTEXT_KEY}={phase!r}; expected one of {', '.join(PHASES)}"
        )
    return str(phase)


def environment(scope: Construct) -> dict[str, str]:
    return {"HOLD_SHAPE_PHASE": phase_of(scope)}
