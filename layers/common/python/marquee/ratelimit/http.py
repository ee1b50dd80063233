"""The rate limit of an API request: who is asking (tenant, client, route class), the decision, and how it is told.

- **Key**: ``rl:<tenant>:<class>:<client>``. The tenant and the subject come from the claims API Gateway's Cognito
  authorizer verified (never from headers a client sets); a partner's API key (``requestContext.identity.apiKeyId``)
  is its client; with neither, the source IP. The client part is a hash (fixed length, no key injection).
  Route class: ``read`` (GET, HEAD, OPTIONS) or ``write`` (everything else).
- **Headers** (draft-ietf-httpapi-ratelimit-headers-10, the latest draft's two fields) on every limited response:
  ``RateLimit-Policy: "read";q=41;w=3`` (the plan as a quota: ``q`` = the burst capacity, ``w`` = the seconds in which
  a spent quota is restored, i.e. the sustained rate is q/w) and ``RateLimit: "read";r=17;t=2`` (``r`` requests left
  now, ``t`` seconds until the quota is whole again; on a refusal, until the next request is allowed).
- **Refusal**: 429 ``application/problem+json`` (``urn:marquee:problem:rate-limited``) with ``Retry-After`` in whole
  seconds (rounded up), and the same two fields.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from http import HTTPStatus
from typing import Any

from marquee.core.logs import Logger
from marquee.http.problem import PROBLEM_CONTENT_TYPE, problem_body
from marquee.ratelimit.gcra import MICROS, Decision, Limit
from marquee.ratelimit.limiter import RateLimiter
from marquee.ratelimit.plans import FlagPlans, RouteClass

logger = Logger(child=True)  # masked: logs through the function's Logger (marquee.core.logs)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
PUBLIC_TENANT = "-"  # requests without verified claims (public routes, partner keys without a user)


@dataclass(frozen=True)
class Subject:
    tenant: str
    client: str  # "sub:<id>", "key:<api key id>" or "ip:<address>" (hashed into the key)
    route_class: RouteClass

    @property
    def key(self) -> str:
        digest = hashlib.sha256(self.client.encode("utf-8", "surrogatepass")).hexdigest()[:24]
        return f"rl:{self.tenant}:{self.route_class}:{digest}"


def subject_of(event: Mapping[str, Any]) -> Subject:
    context = _mapping(event.get("requestContext"))
    claims = _mapping(_mapping(context.get("authorizer")).get("claims"))
    identity = _mapping(context.get("identity"))
    tenant = str(claims.get("custom:tenant_id") or "").strip()
    if not _TENANT.match(tenant):
        tenant = PUBLIC_TENANT
    if claims.get("sub"):
        client = f"sub:{claims['sub']}"
    elif identity.get("apiKeyId"):
        client = f"key:{identity['apiKeyId']}"
    else:
        client = f"ip:{identity.get('sourceIp') or 'unknown'}"
    method = str(event.get("httpMethod") or "GET").upper()
    return Subject(tenant, client, "read" if method in READ_METHODS else "write")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class Outcome:
    subject: Subject
    limit: Limit
    decision: Decision

    @property
    def allowed(self) -> bool:
        return self.decision.allowed

    def headers(self) -> dict[str, str]:
        name = self.subject.route_class
        window = -(-self.limit.tolerance_us // MICROS)
        if self.decision.allowed:
            reset_us = self.decision.reset_after_us
        else:
            reset_us = max(self.decision.retry_after_us, 0) or self.decision.reset_after_us
        return {
            "RateLimit-Policy": f'"{name}";q={self.limit.capacity};w={window}',
            "RateLimit": f'"{name}";r={self.decision.remaining};t={-(-reset_us // MICROS)}',
        }

    def retry_after_s(self) -> int:
        wait = self.decision.retry_after_us if self.decision.retry_after_us > 0 else self.decision.reset_after_us
        return max(1, -(-wait // MICROS))

    def refusal(self, event: Mapping[str, Any]) -> dict[str, Any]:
        retry = self.retry_after_s()
        body = problem_body(
            status=HTTPStatus.TOO_MANY_REQUESTS,
            title="Too many requests",
            detail=f"The {self.subject.route_class} rate limit of your plan is spent; retry after {retry} s.",
            slug="rate-limited",
            instance=event.get("path"),
        )
        headers = {"Content-Type": PROBLEM_CONTENT_TYPE, "Retry-After": str(retry), **self.headers()}
        return {
            "statusCode": int(HTTPStatus.TOO_MANY_REQUESTS),
            "headers": headers,
            "multiValueHeaders": {key: [value] for key, value in headers.items()},
            "body": json.dumps(body),
            "isBase64Encoded": False,
        }

    def decorate(self, response: dict[str, Any]) -> None:
        """Add the two fields to a route's proxy response (both header maps, as the route's own headers are)."""
        for key, value in self.headers().items():
            if isinstance(response.get("multiValueHeaders"), dict):
                response["multiValueHeaders"][key] = [value]
            if isinstance(response.get("headers"), dict) or "multiValueHeaders" not in response:
                response.setdefault("headers", {})[key] = value


class RequestLimiter:
    """What ``ApiResolver`` calls before every route: the plan's limit for the request's subject, decided once."""

    def __init__(self, limiter: RateLimiter | Callable[[], RateLimiter], plans: FlagPlans | None = None) -> None:
        self._limiter = limiter
        self.plans = plans or FlagPlans()

    @cached_property
    def limiter(self) -> RateLimiter:  # made on first use: no connection at import time
        return self._limiter if isinstance(self._limiter, RateLimiter) else self._limiter()

    def check(self, event: Mapping[str, Any]) -> Outcome | None:
        """The outcome, or None if deciding failed unexpectedly (logged; the request goes on: fail open)."""
        try:
            subject = subject_of(event)
            limit = self.plans.plan_for(subject.tenant, subject.client).limit(subject.route_class)
            return Outcome(subject, limit, self.limiter.decide(subject.key, limit))
        except Exception:  # noqa: BLE001 - a limiter bug must not become an outage; it is logged as one
            logger.exception("rate limiter error; the request is let through")
            return None
