"""API Gateway's own request limits in front of the integration, as a REST API (v1) applies them:

- **API keys.** A method with ``apiKeyRequired`` needs an ``x-api-key`` header whose value is an enabled key that a
  usage plan ties to this API and stage; otherwise 403 ``{"message":"Forbidden"}`` (``ForbiddenException``). The key's
  id reaches the integration in ``requestContext.identity.apiKeyId`` (and the value in ``apiKey``).
- **Usage plans** (only for those methods, as on AWS): the plan's ``throttle`` (a token bucket per key: ``rateLimit``
  per second, ``burstLimit`` deep; a method override under ``apiStages[].throttle["/path/METHOD"]`` wins) and its
  ``quota`` (``limit`` requests per ``DAY``, ``WEEK`` or ``MONTH``, counted per key, periods in UTC, ``offset`` days in).
  Over the throttle: 429 ``{"message":"Too Many Requests"}``; over the quota: 429 ``{"message":"Limit Exceeded"}``.
- **Stage and method throttling**: the stage's ``methodSettings`` (``*/*``, or ``~1path/METHOD`` for one method:
  ``throttlingRateLimit``, ``throttlingBurstLimit``) is a token bucket shared by every caller of the method (the
  per-method bucket, else the stage's). Over it: 429 ``{"message":"Too Many Requests"}``.

Each 429 carries ``x-amzn-ErrorType: TooManyRequestsException``. A bucket starts full (``burst`` tokens) and refills at
``rate`` per second. A rate of 0 refuses everything, as on AWS; an unset limit (-1 or absent) does not throttle.
Not emulated: the account-level limit (10,000 rps, 5,000 burst), and API Gateway's approximation (AWS's buckets are
per-region best effort; these are exact).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any


class Limited(Exception):
    def __init__(self, status: int, message: str, error_type: str) -> None:
        super().__init__(message)
        self.status, self.message, self.error_type = status, message, error_type


TOO_MANY = (429, "Too Many Requests", "TooManyRequestsException")
QUOTA = (429, "Limit Exceeded", "TooManyRequestsException")
FORBIDDEN = (403, "Forbidden", "ForbiddenException")


class TokenBucket:
    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.last = rate, burst, burst, now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number < 0 else number


class Throttles:
    def __init__(self, clock: Callable[[], float] = time.monotonic, now: Callable[[], datetime] | None = None) -> None:
        self.clock = clock
        self.utcnow = now or (lambda: datetime.now(UTC))
        self._buckets: dict[tuple[Any, ...], TokenBucket] = {}
        self._quota: dict[tuple[Any, ...], int] = {}
        self._lock = threading.Lock()

    def admit(
        self,
        backend: Any,
        api: Any,
        stage_name: str,
        stage: Any,
        resource_path: str,
        http_method: str,
        method: Any,
        api_key: str | None,
    ) -> tuple[str, str] | None:
        """Raise ``Limited`` for a request API Gateway would refuse; the (key id, key value) of a keyed method."""
        keyed = None
        if getattr(method, "api_key_required", False):
            keyed = self._usage_plan(backend, api.id, stage_name, api_key)
            if keyed is None:
                raise Limited(*FORBIDDEN)
            key, plans = keyed
            for plan in plans:
                self._plan_limits(plan, api.id, stage_name, resource_path, http_method, key.id)
        self._stage_limits(api.id, stage_name, stage, resource_path, http_method)
        return (keyed[0].id, keyed[0].value) if keyed else None

    # ---- API keys and usage plans --------------------------------------------------------------------------------------
    @staticmethod
    def _usage_plan(backend: Any, api_id: str, stage_name: str, value: str | None) -> tuple[Any, list[Any]] | None:
        if not value:
            return None
        key = next((k for k in backend.keys.values() if k.value == value), None)
        if key is None or not getattr(key, "enabled", True):
            return None
        plans = [
            plan
            for plan in backend.usage_plans.values()
            if key.id in backend.usage_plan_keys.get(plan.id, {})
            and any(s.get("apiId") == api_id and s.get("stage") == stage_name for s in plan.api_stages or [])
        ]
        return (key, plans) if plans else None

    def _plan_limits(
        self, plan: Any, api_id: str, stage_name: str, resource_path: str, http_method: str, key_id: str
    ) -> None:
        throttle = dict(plan.throttle or {})
        for api_stage in plan.api_stages or []:
            if api_stage.get("apiId") == api_id and api_stage.get("stage") == stage_name:
                override = (api_stage.get("throttle") or {}).get(f"{resource_path}/{http_method}")
                if override:
                    throttle = override
        rate, burst = _number(throttle.get("rateLimit")), _number(throttle.get("burstLimit"))
        if rate is not None or burst is not None:
            if not self._take(("plan", plan.id, key_id, resource_path, http_method), rate, burst):
                raise Limited(*TOO_MANY)
        quota = plan.quota or {}
        limit = _number(quota.get("limit"))
        if limit is not None and quota.get("period"):
            period = self._period_start(str(quota["period"]).upper(), int(quota.get("offset") or 0))
            counter = ("quota", plan.id, key_id, period)
            with self._lock:
                used = self._quota.get(counter, 0)
                if used >= limit:
                    raise Limited(*QUOTA)
                self._quota[counter] = used + 1

    def _period_start(self, period: str, offset: int) -> str:
        now = self.utcnow()
        if period == "DAY":
            return now.strftime("%Y-%m-%d")
        if period == "WEEK":
            start = now - timedelta(days=(now.weekday() - offset) % 7)
            return "W" + start.strftime("%Y-%m-%d")
        day = now.day - 1 - offset
        return f"M{now.year}-{now.month}" if day >= 0 else f"M{(now.replace(day=1) - timedelta(days=1)):%Y-%m}"

    # ---- stage and method throttling -------------------------------------------------------------------------------------
    def _stage_limits(self, api_id: str, stage_name: str, stage: Any, resource_path: str, http_method: str) -> None:
        settings = getattr(stage, "method_settings", None) or {}
        escaped = resource_path.replace("/", "~1")
        for scope in (f"{escaped}/{http_method}", "*/*"):
            values = settings.get(scope)
            if not values:
                continue
            rate = _number(values.get("throttlingRateLimit"))
            burst = _number(values.get("throttlingBurstLimit"))
            if rate is None and burst is None:
                continue
            if not self._take(("stage", api_id, stage_name, scope), rate, burst):
                raise Limited(*TOO_MANY)
            return  # the method's own setting replaces the stage's

    def _take(self, key: tuple[Any, ...], rate: float | None, burst: float | None) -> bool:
        now = self.clock()
        rate = 1e12 if rate is None else rate  # only a burst is set: that many at once, refilled at once
        burst = (0.0 if rate == 0 else max(1.0, rate)) if burst is None else burst
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or (bucket.rate, bucket.burst) != (rate, burst):
                bucket = self._buckets[key] = TokenBucket(rate, burst, now)
            return bucket.take(now)
