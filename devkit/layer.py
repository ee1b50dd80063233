"""The layer's ``marquee`` package, for devkit code that runs the layer's own code (the CLI's environment does not
install it; a Lambda gets it from the layer). Call ``use_layer()`` before importing ``marquee``."""

from __future__ import annotations

import sys
from pathlib import Path

LAYER = Path(__file__).resolve().parents[1] / "layers" / "common" / "python"


def use_layer() -> None:
    if str(LAYER) not in sys.path:
        sys.path.append(str(LAYER))
