"""The e2e drills that mostly wait out real timeouts run only when asked (`make drills`, `make chaos`): a consumer's
killed batch comes back after its queue's 60 s visibility timeout; a slow card's charge outcome stays unknown until
the saga gives up. `make test` runs everything else, inside its 10 minutes on 2 cores."""

from __future__ import annotations

import os

import pytest

LONG_DRILLS = os.environ.get("MARQUEE_LONG_DRILLS") == "1"


def long_drill(why: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not LONG_DRILLS, reason=f"a long drill ({why}): run it with `make drills`")
