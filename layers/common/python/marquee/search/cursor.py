"""The opaque keyset cursor of search results: where the last page ended, and for which query.

A cursor is base64url (no padding) of a small JSON object: ``v`` (1), ``m`` (the mode: ``f`` full text, ``t`` trigram
fallback), ``s`` (the last hit's integer score), ``d`` (its document id) and ``h`` (a fingerprint of the query and
filters). The next page is ``score < s OR (score = s AND doc_id > d)`` in ``score DESC, doc_id`` order, so no OFFSET is
ever scanned. A cursor for another query, or anything that is not one, is a 400 (``BadCursor``); it carries no tenant
(the tenant always comes from the token), so a cursor from another tenant positions nothing of theirs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Literal

from marquee.search.errors import BadCursor

Mode = Literal["f", "t"]
MAX_ENCODED = 300
_DOC_ID = re.compile(r"^[a-z]{3}_[0-9a-z]{1,40}$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class Cursor:
    mode: Mode
    score: int
    doc_id: str
    fingerprint: str


def fingerprint(*parts: object) -> str:
    """A short digest of what a cursor is valid for (the normalized query and its filters)."""
    return hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).hexdigest()[:16]


def encode(cursor: Cursor) -> str:
    raw = json.dumps(
        {"v": 1, "m": cursor.mode, "s": cursor.score, "d": cursor.doc_id, "h": cursor.fingerprint},
        separators=(",", ":"),
    ).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(text: str, *, expected_fingerprint: str) -> Cursor:
    """The cursor ``text`` names, for the query whose fingerprint is given; ``BadCursor`` otherwise."""
    if not text or len(text) > MAX_ENCODED or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise BadCursor("The cursor is not one this API issued.")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadCursor("The cursor is not one this API issued.") from exc
    if not isinstance(data, dict) or set(data) != {"v", "m", "s", "d", "h"} or data["v"] != 1:
        raise BadCursor("The cursor is not one this API issued.")
    mode, score, doc_id, digest = data["m"], data["s"], data["d"], data["h"]
    if (
        mode not in ("f", "t")
        or not isinstance(score, int)
        or isinstance(score, bool)
        or not 0 <= score < 2**53
        or not isinstance(doc_id, str)
        or not _DOC_ID.match(doc_id)
        or not isinstance(digest, str)
        or not _FINGERPRINT.match(digest)
    ):
        raise BadCursor("The cursor is not one this API issued.")
    if digest != expected_fingerprint:
        raise BadCursor("The cursor belongs to another query or other filters; start again without it.")
    return Cursor(mode=mode, score=score, doc_id=doc_id, fingerprint=digest)
