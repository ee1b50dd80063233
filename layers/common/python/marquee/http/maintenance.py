"""Maintenance mode (design question 9): a service, or one tenant's use of it, answers 503 while it is down, switched
at run time through a feature flag, with no deploy.

The flag ``maintenance_mode`` is a non-boolean Powertools feature flag (default ``false``) evaluated, before a route
runs and before any backend is touched (the rate limiter's Valkey included), with this context:

- ``service``: the function's service name (``POWERTOOLS_SERVICE_NAME``: ``payments``, ``holds``, ``catalog``, ...);
- ``tenant``: the tenant from the claims API Gateway's authorizer verified (``-`` on public routes);
- ``route_class``: ``read`` (GET, HEAD, OPTIONS) or ``write``, so that a service can be made read-only;
- ``route``: the resource template (``/showtimes/{showtimeId}/holds``).

A rule's value switches the mode on: ``true`` (Retry-After 300 s) or ``{"retryAfterS": 120, "detail": "..."}``.
The answer is ``503 application/problem+json`` (``urn:marquee:problem:maintenance``) with ``Retry-After`` and
``Cache-Control: no-store``; the request id is stamped on it like on every answer. Functions cache the flags for
FLAGS_MAX_AGE_SECONDS, so a switch reaches running functions within that. `marquee maintenance on|off|status`
(devkit/maintenance.py) writes the rules.

Failure: a flag store that cannot be read, or a value that does not validate, never takes a service down: the mode is
off, the problem is logged (at most once a minute), and the store is not asked again for ``UNREADABLE_BACKOFF_S``
(an AppConfig outage must not add a failing call to every request).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from marquee.core.logs import Logger
from marquee.http.problem import PROBLEM_CONTENT_TYPE, problem_body

logger = Logger(child=True)  # masked: logs through the function's Logger (marquee.core.logs)

FLAG = "maintenance_mode"
DEFAULT_RETRY_AFTER_S = 300
UNREADABLE_BACKOFF_S = 5.0
PUBLIC_TENANT = "-"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Evaluate = Callable[[str, Mapping[str, Any], Any], Any]


class Notice(BaseModel):
    """The flag's value when the mode is on (``true`` is a notice with the defaults)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    retry_after_s: int = Field(default=DEFAULT_RETRY_AFTER_S, ge=1, le=86_400)
    detail: str | None = Field(default=None, min_length=1, max_length=500)


def notice_of(value: Any) -> Notice | None:
    """The notice a flag value means: None when the mode is off (``false``, ``null``); ValidationError if malformed."""
    if value is None or value is False:
        return None
    if value is True:
        return Notice()
    return Notice.model_validate(value)


def context_of(event: Mapping[str, Any], service: str) -> dict[str, Any]:
    """The flag's evaluation context for a proxy event (the tenant only from verified claims, never from headers)."""
    request_context = _mapping(event.get("requestContext"))
    claims = _mapping(_mapping(request_context.get("authorizer")).get("claims"))
    tenant = str(claims.get("custom:tenant_id") or "").strip() or PUBLIC_TENANT
    method = str(event.get("httpMethod") or "GET").upper()
    return {
        "service": service,
        "tenant": tenant,
        "route_class": "read" if method in READ_METHODS else "write",
        "route": str(event.get("resource") or event.get("path") or ""),
    }


def maintenance_response(event: Mapping[str, Any], service: str, notice: Notice) -> dict[str, Any]:
    retry = notice.retry_after_s
    body = problem_body(
        status=HTTPStatus.SERVICE_UNAVAILABLE,
        title="Service under maintenance",
        detail=notice.detail or f"The {service} service is under maintenance; retry after {retry} s.",
        slug="maintenance",
        instance=event.get("path"),
    )
    headers = {"Content-Type": PROBLEM_CONTENT_TYPE, "Retry-After": str(retry), "Cache-Control": "no-store"}
    return {
        "statusCode": int(HTTPStatus.SERVICE_UNAVAILABLE),
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


class Maintenance:
    """What ``ApiResolver`` asks before every route: is this service (for this tenant and route) in maintenance?

    ``service`` defaults to the function's Powertools service name, read on the first request; ``evaluate`` to the
    feature flags (``marquee.core.flags``). Both are injectable for tests.
    """

    def __init__(
        self,
        service: str | None = None,
        evaluate: Evaluate | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        log_every_s: float = 60.0,
    ) -> None:
        self._service = service
        self._evaluate = evaluate
        self._clock = clock
        self._log_every_s = log_every_s
        self._last_logged: float | None = None
        self._unreadable_until: float | None = None

    def check(self, event: Mapping[str, Any]) -> dict[str, Any] | None:
        """The 503 proxy response if the request's service is in maintenance for it, else None."""
        now = self._clock()
        if self._unreadable_until is not None and now < self._unreadable_until:
            return None
        try:
            service = self.service()
            value = self._evaluator()(FLAG, context_of(event, service), False)
        except Exception as exc:  # noqa: BLE001 - AppConfig unreachable, no flags, no service name: never an outage
            self._unreadable_until = now + UNREADABLE_BACKOFF_S
            self._log("the feature flags could not be read; maintenance mode is off", exc, now)
            return None
        try:
            notice = notice_of(value)
        except ValidationError as exc:
            self._log("the maintenance_mode flag's value is not a notice; maintenance mode is off", exc, now)
            return None
        if notice is None:
            return None
        logger.info(
            "maintenance mode: request refused", extra={"service": service, "retry_after_s": notice.retry_after_s}
        )
        return maintenance_response(event, service, notice)

    def service(self) -> str:
        if self._service is None:
            from marquee.core.env import PowertoolsEnv, load_env

            self._service = load_env(PowertoolsEnv).powertools_service_name
        return self._service

    def _evaluator(self) -> Evaluate:
        if self._evaluate is None:
            from marquee.core.flags import feature_flags

            flags = feature_flags()
            self._evaluate = lambda name, context, default: flags.evaluate(
                name=name, context=dict(context), default=default
            )
        return self._evaluate

    def _log(self, message: str, exc: Exception, now: float) -> None:
        if self._last_logged is None or now - self._last_logged >= self._log_every_s:
            self._last_logged = now
            logger.error(message, extra={"error_type": type(exc).__name__})


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
