"""The request guard: every REST proxy event passes it before routing, parsing or validation.

A request body is refused, in this order, with an RFC 9457 problem (``application/problem+json``):
1. over the route's size limit (the body as sent: base64 decoded) -> 413;
2. a Content-Type other than ``application/json`` (charset UTF-8 if given) -> 415: the API consumes that one type;
3. not valid base64 when flagged so, or not valid UTF-8 -> 400;
4. nested deeper than ``max_depth`` arrays/objects, decided by a linear scan before any recursive parser runs -> 400;
5. not JSON (or JSON with NaN/Infinity) -> 400, an object with a key twice -> 400;
6. a top-level value that is not an object -> 422 (every Marquee request body is an object).

Checks 2-6 apply to the methods that carry a body (POST, PUT, PATCH); any other method's body is dropped unread.
An accepted body is handed on decoded (``isBase64Encoded`` false), so nothing downstream decodes it again. An empty body
passes: a route that needs one answers 422 from its own validation.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from marquee.http.problem import PROBLEM_CONTENT_TYPE, problem_body

DEFAULT_MAX_BODY_BYTES = 256 * 1024
DEFAULT_MAX_DEPTH = 32
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

# A JSON string (escapes included) or one structural bracket; strings are matched whole so that brackets inside them
# never count. Linear: no nested quantifiers.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
JSON_MEDIA_TYPE = "application/json"


class Refused(Exception):
    """A request the guard turns away; carries its problem."""

    def __init__(self, status: HTTPStatus, slug: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail


def header(event: Mapping[str, Any], name: str) -> str | None:
    """A request header, case-insensitively, from ``headers`` or ``multiValueHeaders``."""
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted and value is not None:
            return str(value)
    for key, values in (event.get("multiValueHeaders") or {}).items():
        if key.lower() == wanted and values:
            return str(values[0])
    return None


def nesting_depth(text: str, limit: int) -> int:
    """The deepest array/object nesting of ``text`` (stops counting once past ``limit``). No recursion."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        bracket = match.group()
        if bracket in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif bracket in "]}":
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise DuplicateKey("an object has a key twice")
    return document


def strict_json(text: str) -> Any:
    """RFC 8259 JSON only: no NaN or Infinity, no key twice in one object."""
    return json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_no_duplicate_keys)


@dataclass(frozen=True)
class RequestGuard:
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH

    def check(self, event: dict[str, Any]) -> None:
        """Raise ``Refused`` for a body that must not reach the route; otherwise leave ``event`` with its body decoded."""
        body = event.get("body")
        if body is None or body == "":
            return
        raw = self._raw(body, base64_encoded=bool(event.get("isBase64Encoded")))
        if len(raw) > self.max_body_bytes:
            raise Refused(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
                f"The request body is {len(raw)} bytes; the limit is {self.max_body_bytes} bytes.",
            )
        if str(event.get("httpMethod", "")).upper() not in BODY_METHODS:
            # No route of a GET, HEAD, DELETE or OPTIONS reads a body: it is dropped, never parsed.
            event["body"] = None
            event["isBase64Encoded"] = False
            return
        self._content_type(header(event, "Content-Type"))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Refused(
                HTTPStatus.BAD_REQUEST, "invalid-encoding", "Body is not UTF-8", "The request body is not valid UTF-8."
            ) from exc
        if nesting_depth(text, self.max_depth) > self.max_depth:
            raise Refused(
                HTTPStatus.BAD_REQUEST,
                "too-deeply-nested",
                "Body nested too deeply",
                f"The request body nests arrays or objects more than {self.max_depth} levels deep.",
            )
        try:
            document = strict_json(text)
        except DuplicateKey as exc:
            raise Refused(
                HTTPStatus.BAD_REQUEST,
                "duplicate-json-key",
                "Duplicate JSON key",
                "An object in the request body has the same key more than once.",
            ) from exc
        except ValueError as exc:  # JSONDecodeError is a ValueError
            raise Refused(
                HTTPStatus.BAD_REQUEST,
                "malformed-json",
                "Malformed JSON body",
                "The request body is not valid JSON (RFC 8259: no NaN or Infinity, no key twice in an object).",
            ) from exc
        if not isinstance(document, dict):
            raise Refused(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                "validation-error",
                "Request validation failed",
                f"The request body must be a JSON object, not {_json_kind(document)}.",
            )
        event["body"] = text
        event["isBase64Encoded"] = False
        _canonical_content_type(event)  # Powertools matches "application/json" case-sensitively

    @staticmethod
    def _raw(body: str, *, base64_encoded: bool) -> bytes:
        if not base64_encoded:
            return body.encode("utf-8", errors="surrogatepass")
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Refused(
                HTTPStatus.BAD_REQUEST,
                "invalid-encoding",
                "Body is not valid base64",
                "The request body is flagged base64 but does not decode.",
            ) from exc

    @staticmethod
    def _content_type(value: str | None) -> None:
        media_type, _, params = (value or "").partition(";")
        charset = ""
        for param in params.split(";"):
            key, _, val = param.strip().partition("=")
            if key.lower() == "charset":
                charset = val.strip().strip('"').lower()
        if media_type.strip().lower() == JSON_MEDIA_TYPE and charset in ("", "utf-8", "utf8"):
            return
        sent = f"'{media_type.strip()[:100]}'" if media_type.strip() else "no Content-Type"
        raise Refused(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            f"The request sent {sent}; send the body as JSON with 'Content-Type: application/json' (UTF-8).",
        )


def _canonical_content_type(event: dict[str, Any]) -> None:
    for field, value in (("headers", JSON_MEDIA_TYPE), ("multiValueHeaders", [JSON_MEDIA_TYPE])):
        headers = event.get(field)
        if isinstance(headers, dict):
            event[field] = {k: v for k, v in headers.items() if k.lower() != "content-type"} | {"Content-Type": value}


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return "a number"


def refused_response(event: Mapping[str, Any], refused: Refused) -> dict[str, Any]:
    """The Lambda proxy response of a refused request (the route never ran)."""
    body = problem_body(
        status=refused.status,
        title=refused.title,
        detail=refused.detail,
        slug=refused.slug,
        instance=event.get("path"),
    )
    headers = {"Content-Type": PROBLEM_CONTENT_TYPE}
    return {
        "statusCode": int(refused.status),
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }
