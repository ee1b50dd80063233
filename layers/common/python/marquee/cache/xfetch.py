"""XFetch: probabilistic early recomputation (Vattani, Chierichetti, Lowenstein, "Optimal Probabilistic Cache Stampede
Prevention", VLDB 2015).

A value that took ``delta`` seconds to compute and expires at ``expiry`` is recomputed early by a reader at ``now`` when

    now - delta * beta * ln(rand()) >= expiry,        rand() uniform in (0, 1]

``-ln(rand())`` is exponentially distributed, so the chance of an early recomputation is ``exp(-(expiry - now) /
(delta * beta))``: negligible far from expiry, rising to 1 at it, and earlier for values that are slow to compute.
``beta`` > 1 favours earlier recomputation, < 1 later; 0 turns XFetch off. The paper shows this exponential gap is
optimal: one reader recomputes shortly before expiry, instead of every reader at once just after it.
"""

from __future__ import annotations

import math
from collections.abc import Callable


def should_recompute(now: float, delta: float, expiry: float, beta: float, rand: Callable[[], float]) -> bool:
    """Is this read the one that recomputes early? ``rand`` returns a float in [0, 1) (``random.Random.random``)."""
    if beta <= 0 or delta <= 0:
        return now >= expiry
    r = 1.0 - rand()  # (0, 1]: ln is defined
    return now - delta * beta * math.log(r) >= expiry


def probability(remaining: float, delta: float, beta: float) -> float:
    """The chance that one read ``remaining`` seconds before expiry recomputes early: ``exp(-remaining/(delta*beta))``."""
    if remaining <= 0:
        return 1.0
    if beta <= 0 or delta <= 0:
        return 0.0
    return math.exp(-remaining / (delta * beta))
