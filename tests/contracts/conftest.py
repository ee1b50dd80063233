"""Consumer-driven contracts with Pact (message pacts, specification V4): the consumers' tests write
tests/contracts/pacts/ and the producers' tests verify those files. Everything runs offline: the Pact FFI ships in the
pact-python-ffi wheel, and its usage tracking is switched off here."""

from __future__ import annotations

import os
from pathlib import Path

os.environ["PACT_DO_NOT_TRACK"] = "true"  # no network: the FFI would try to report anonymous usage

PACT_DIR = Path(__file__).resolve().parent / "pacts"
