"""Limits per tenant plan, read from the feature flags (AppConfig) at run time: a change needs no deploy.

The flag ``rate_limit_plan`` is a non-boolean Powertools flag: its value is the caller's plan, chosen by rules on the
caller's context exactly like any other flag (``tenant``, ``user_id``, ...; infra/feature_flags.json ships a
"standard" default and a "premium" rule for tenant t2). A plan has one limit per route class:

    {"plan": "standard", "read": {"count": 50, "periodS": 1, "burst": 100}, "write": {...}}

Functions cache the flags for FLAGS_MAX_AGE_SECONDS (5 s), so a new plan is enforced within that. A value that does
not validate, or flags that cannot be fetched, never break a request: the built-in ``DEFAULT_PLAN`` (the same as the
shipped default) applies and the problem is logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from marquee.core.logs import Logger
from marquee.ratelimit.gcra import Limit

logger = Logger(child=True)  # masked: logs through the function's Logger (marquee.core.logs)

FLAG = "rate_limit_plan"
RouteClass = Literal["read", "write"]


class LimitSpec(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    count: int = Field(ge=1, le=1_000_000)
    period_s: int = Field(ge=1, le=86_400)
    burst: int = Field(ge=0, le=1_000_000)

    def limit(self) -> Limit:
        return Limit(self.count, self.period_s, self.burst)


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    plan: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    read: LimitSpec
    write: LimitSpec

    def limit(self, route_class: RouteClass) -> Limit:
        return (self.read if route_class == "read" else self.write).limit()


DEFAULT_PLAN = Plan(
    plan="standard",
    read=LimitSpec(count=50, period_s=1, burst=100),
    write=LimitSpec(count=10, period_s=1, burst=20),
)


class FlagPlans:
    """The caller's plan from the ``rate_limit_plan`` flag (Powertools feature flags on AppConfig)."""

    def __init__(
        self,
        evaluate: Callable[[str, Mapping[str, Any], Any], Any] | None = None,
        *,
        default: Plan = DEFAULT_PLAN,
        log_every_s: float = 60.0,
    ) -> None:
        self._evaluate = evaluate
        self.default = default
        self._log_every_s = log_every_s
        self._last_logged = 0.0

    def plan_for(self, tenant: str, client: str) -> Plan:
        context = {"tenant": tenant, "user_id": client, "groups": [], "user_bucket": 0}
        try:
            value = self._evaluator()(FLAG, context, self.default.model_dump(by_alias=True))
            return value if isinstance(value, Plan) else Plan.model_validate(value)
        except ValidationError as exc:
            self._log("the rate_limit_plan flag's value is not a plan; the default plan applies", exc)
        except Exception as exc:  # noqa: BLE001 - AppConfig unreachable, a bad document: never fail the request
            self._log("the feature flags could not be read; the default rate-limit plan applies", exc)
        return self.default

    def _evaluator(self) -> Callable[[str, Mapping[str, Any], Any], Any]:
        if self._evaluate is None:
            from marquee.core.flags import feature_flags

            flags = feature_flags()
            self._evaluate = lambda name, context, default: flags.evaluate(
                name=name, context=dict(context), default=default
            )
        return self._evaluate

    def _log(self, message: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_logged >= self._log_every_s:
            self._last_logged = now
            logger.error(message, extra={"error_type": type(exc).__name__})
