"""``ApiResolver``: Powertools' REST resolver with Marquee's one hardened request path built in.

Every API function builds its app with ``ApiResolver(...)`` and nothing else, so every route, present and future, gets:
- the request guard (``guard.py``: size 413, content type 415, encoding 400, nesting 400, top-level shape 422) before
  routing, parsing or validation;
- request validation (pydantic, unknown fields refused by the models) mapped to 422 problems that never echo the input;
- every error as ``application/problem+json`` (``marquee.http.problem``), a 500 only for a real bug, logged with its
  correlation id, which the caller gets too;
- a response check: whatever a route returns leaves as a well-formed Lambda proxy response (string body, string
  headers), or as a logged 500, never as something API Gateway would turn into a 502;
- maintenance mode (``maintenance.py``, docs/design/09-api-gateway.md): after the guard and before the rate limiter
  and the route, the ``maintenance_mode`` feature flag, evaluated for the function's service, the caller's tenant and
  the route, can answer 503 problem+json with ``Retry-After`` without touching any backend (switched at run time
  with `marquee maintenance on|off`; ``maintenance=False`` turns the check off);
- with ``rate_limit=`` (a ``marquee.ratelimit.RequestLimiter``), a rate-limit decision after the guard and before the
  route: a refusal is a 429 problem with ``Retry-After``; every answer carries ``RateLimit-Policy`` and ``RateLimit``
  (docs/patterns/01-rate-limiting.md);
- a request id end to end (docs/design/09-api-gateway.md): the caller's ``X-Request-Id`` when it is a plausible id
  (1-128 of ``A-Za-z0-9._:-``), otherwise API Gateway's request id. It is in every log line of the request
  (``request_id``), in every answer's ``X-Request-Id`` header, and in every problem body (``requestId``), refusals by
  the guard and the rate limiter included. The aggregator passes it to its backends (marquee.aggregation), and the
  domain events the request writes carry it as ``requestId`` (``marquee.core.request``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging.exceptions import OrphanedChildLoggerError
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core.request import bound_request_id
from marquee.http.guard import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_DEPTH,
    Refused,
    RequestGuard,
    header,
    refused_response,
)
from marquee.http.maintenance import Maintenance
from marquee.http.problem import PROBLEM_CONTENT_TYPE, problem_body, register_problem_handlers

if TYPE_CHECKING:
    from marquee.ratelimit.http import RequestLimiter

logger = Logger(child=True)

REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def correlation_id(event: Mapping[str, Any]) -> str | None:
    """The id a caller can quote (API Gateway's request id, also Powertools' correlation id for REST events)."""
    request_context = event.get("requestContext")
    if isinstance(request_context, Mapping):
        value = request_context.get("requestId")
        return str(value) if value else None
    return None


def request_id(event: Mapping[str, Any]) -> str | None:
    """The request's id: the caller's ``X-Request-Id`` if it is a plausible id, else API Gateway's request id."""
    sent = header(event, REQUEST_ID_HEADER)
    if sent is not None and _REQUEST_ID.match(sent):
        return sent
    return correlation_id(event)


def stamp_request_id(response: dict[str, Any], request_id_value: str | None) -> None:
    """Put the request id on a proxy response: the ``X-Request-Id`` header, and ``requestId`` in a problem body."""
    if not request_id_value:
        return
    for field in ("headers", "multiValueHeaders"):
        headers = response.get(field)
        if isinstance(headers, dict):
            headers[REQUEST_ID_HEADER] = [request_id_value] if field == "multiValueHeaders" else request_id_value
    if "headers" not in response and "multiValueHeaders" not in response:
        response["headers"] = {REQUEST_ID_HEADER: request_id_value}
    content_types = [
        *(response.get("multiValueHeaders") or {}).get("Content-Type", []),
        (response.get("headers") or {}).get("Content-Type"),
    ]
    if PROBLEM_CONTENT_TYPE in content_types and isinstance(response.get("body"), str):
        try:
            body = json.loads(response["body"])
        except ValueError:
            return
        if isinstance(body, dict) and "requestId" not in body:
            body["requestId"] = request_id_value
            response["body"] = json.dumps(body)


def malformed_response_problem(response: Any) -> str | None:
    """Why ``response`` is not a well-formed Lambda proxy response, or None if it is."""
    if not isinstance(response, Mapping):
        return f"the response is a {type(response).__name__}, not an object"
    if not isinstance(response.get("statusCode"), int):
        return "statusCode is not an integer"
    body = response.get("body")
    if body is not None and not isinstance(body, str):
        return f"body is a {type(body).__name__}, not a string"
    for field in ("headers", "multiValueHeaders"):
        headers = response.get(field) or {}
        if not isinstance(headers, Mapping):
            return f"{field} is not an object"
        for key, value in headers.items():
            values = value if field == "multiValueHeaders" else [value]
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                return f"header {key!r} is not a string"
    return None


def internal_error_response(event: Mapping[str, Any]) -> dict[str, Any]:
    body = problem_body(
        status=HTTPStatus.INTERNAL_SERVER_ERROR,
        title="Internal error",
        detail="An unexpected error occurred. It has been logged.",
        slug="internal-error",
        instance=event.get("path"),
        correlationId=correlation_id(event),
    )
    headers = {"Content-Type": PROBLEM_CONTENT_TYPE}
    return {
        "statusCode": int(HTTPStatus.INTERNAL_SERVER_ERROR),
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


class ApiResolver(APIGatewayRestResolver):
    """The REST resolver every Marquee API function uses (validation on, problem handlers registered, guard first)."""

    def __init__(
        self,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_depth: int = DEFAULT_MAX_DEPTH,
        rate_limit: RequestLimiter | None = None,
        maintenance: Maintenance | Literal[False] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("enable_validation", True)
        super().__init__(**kwargs)
        self.guard = RequestGuard(max_body_bytes=max_body_bytes, max_depth=max_depth)
        self.rate_limit = rate_limit
        # None: the function's own (its service name, the feature flags); False: no maintenance check (tests)
        self.maintenance = Maintenance() if maintenance is None else maintenance or None
        register_problem_handlers(self)

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        request = dict(event)  # the guard hands the body on decoded; the caller's event stays as it was
        rid = request_id(request)
        try:
            logger.append_keys(request_id=rid)  # the service's logger (the handler's Logger()): every line carries it
        except OrphanedChildLoggerError:
            pass  # no service logger in this process (a bare resolver in a test): nothing to stamp
        with bound_request_id(rid):  # the domain events the request writes carry it (marquee.messaging.events)
            response = self._guarded(request, context)
        stamp_request_id(response, rid)
        return response

    def _guarded(self, request: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            self.guard.check(request)
        except Refused as refused:
            return refused_response(request, refused)
        down = self.maintenance.check(request) if self.maintenance is not None else None
        if down is not None:
            return down
        limited = self.rate_limit.check(request) if self.rate_limit is not None else None
        if limited is not None and not limited.allowed:
            return limited.refusal(request)
        response = super().resolve(request, context)
        if limited is not None and isinstance(response, dict):
            limited.decorate(response)
        problem = malformed_response_problem(response)
        if problem is not None:
            logger.error(
                "A route returned a malformed proxy response",
                extra={"problem": problem, "correlation_id": correlation_id(request), "path": request.get("path")},
            )
            return internal_error_response(request)
        return response
