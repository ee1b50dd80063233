"""The rate limit in ApiResolver's guard path: headers on every answer, a 429 problem with Retry-After once spent,
keys per tenant + client + route class, plans per tenant, failing open. In-process limiter (no Valkey): the Valkey
path is tests/integration/test_ratelimit.py."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from marquee.http import ApiResolver
from marquee.ratelimit import DEFAULT_PLAN, FlagPlans, LimitSpec, Plan, RateLimiter, RequestLimiter, subject_of

TINY = Plan(plan="tiny", read=LimitSpec(count=1, period_s=10, burst=2), write=LimitSpec(count=1, period_s=60, burst=0))
BIG = Plan(plan="big", read=LimitSpec(count=100, period_s=1, burst=99), write=LimitSpec(count=100, period_s=1, burst=9))


def plans(by_tenant: dict[str, Plan]) -> FlagPlans:
    def evaluate(name: str, context: Any, default: Any) -> Any:
        plan = by_tenant.get(context["tenant"])
        return plan.model_dump(by_alias=True) if plan else default

    return FlagPlans(evaluate)


def make_app(limiter: RequestLimiter) -> ApiResolver:
    app = ApiResolver(rate_limit=limiter)

    @app.get("/showtimes")
    def listing() -> dict[str, Any]:
        return {"items": []}

    @app.post("/holds")
    def hold() -> dict[str, Any]:
        return {"ok": True}

    return app


def event(
    method: str = "GET", path: str = "/showtimes", *, tenant: str | None = "t1", sub: str = "u1", **ctx: Any
) -> dict:
    context: dict[str, Any] = {"requestId": "r", "stage": "v1", "identity": {"sourceIp": "10.0.0.9"}, **ctx}
    if tenant is not None:
        context["authorizer"] = {"claims": {"custom:tenant_id": tenant, "sub": sub}}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "requestContext": context,
        "body": "{}" if method == "POST" else None,
        "isBase64Encoded": False,
    }


def headers_of(response: dict[str, Any]) -> dict[str, str]:
    merged = dict(response.get("headers") or {})
    merged.update({k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()})
    return merged


@pytest.fixture
def limiter() -> RequestLimiter:
    return RequestLimiter(RateLimiter(None), plans({"t1": TINY, "t2": BIG}))


def test_answers_carry_ratelimit_policy_and_ratelimit_fields_in_the_latest_draft_format(
    limiter: RequestLimiter,
) -> None:
    response = make_app(limiter).resolve(event(), None)  # type: ignore[arg-type]
    assert response["statusCode"] == 200
    headers = headers_of(response)
    # TINY read: capacity 3, one per 10 s -> the quota of 3 is restored in 30 s; 2 left, whole again in 10 s.
    assert headers["RateLimit-Policy"] == '"read";q=3;w=30'
    assert headers["RateLimit"] == '"read";r=2;t=10'
    assert re.fullmatch(r'"[a-z]+";r=\d+;t=\d+', headers["RateLimit"])


def test_once_spent_a_request_gets_a_429_problem_with_retry_after(limiter: RequestLimiter) -> None:
    app = make_app(limiter)
    statuses = [app.resolve(event(), None)["statusCode"] for _ in range(3)]  # type: ignore[arg-type]
    refused = app.resolve(event(), None)  # type: ignore[arg-type]
    assert statuses == [200, 200, 200] and refused["statusCode"] == 429
    headers = headers_of(refused)
    assert headers["Content-Type"] == "application/problem+json"
    assert headers["Retry-After"] == "10"
    assert headers["RateLimit"] == '"read";r=0;t=10'
    body = json.loads(refused["body"])
    assert (
        body["type"] == "urn:marquee:problem:rate-limited"
        and body["status"] == 429
        and body["instance"] == "/showtimes"
    )
    assert set(body) >= {"type", "title", "status", "detail", "instance"}


def test_keys_are_per_tenant_client_and_route_class(limiter: RequestLimiter) -> None:
    app = make_app(limiter)
    for _ in range(3):
        app.resolve(event(), None)  # type: ignore[arg-type]
    assert app.resolve(event(), None)["statusCode"] == 429  # type: ignore[arg-type]
    assert app.resolve(event(sub="u2"), None)["statusCode"] == 200  # type: ignore[arg-type]  another client
    assert app.resolve(event("POST", "/holds"), None)["statusCode"] == 200  # type: ignore[arg-type]  another class
    assert app.resolve(event("POST", "/holds"), None)["statusCode"] == 429  # type: ignore[arg-type]  write: burst 0


def test_one_tenants_flood_never_throttles_another_and_plans_differ_per_tenant(limiter: RequestLimiter) -> None:
    app = make_app(limiter)
    flood = [app.resolve(event(tenant="t1", sub="same"), None)["statusCode"] for _ in range(200)]  # type: ignore[arg-type]
    other = [app.resolve(event(tenant="t2", sub="same"), None)["statusCode"] for _ in range(100)]  # type: ignore[arg-type]
    assert flood.count(200) == 3 and flood.count(429) == 197
    assert other == [200] * 100  # t2's plan admits 100 at once; t1's flood took nothing of it


def test_api_key_and_source_ip_are_clients_when_there_are_no_claims() -> None:
    keyed = subject_of(event(tenant=None, identity={"apiKeyId": "k-1", "sourceIp": "1.2.3.4"}))
    anonymous = subject_of(event(tenant=None))
    assert keyed.client == "key:k-1" and keyed.tenant == "-"
    assert anonymous.client == "ip:10.0.0.9"
    assert keyed.key != anonymous.key and keyed.key.startswith("rl:-:read:")


def test_a_forged_tenant_claim_cannot_reach_another_key_space() -> None:
    assert subject_of(event(tenant="t1:write:x")).tenant == "-"


def test_a_plan_that_does_not_validate_falls_back_to_the_default_plan() -> None:
    bad = FlagPlans(lambda name, context, default: {"plan": "x", "read": {"count": 0}})
    assert bad.plan_for("t1", "sub:u") == DEFAULT_PLAN
    broken = FlagPlans(lambda name, context, default: (_ for _ in ()).throw(RuntimeError("AppConfig down")))
    assert broken.plan_for("t1", "sub:u") == DEFAULT_PLAN


def test_a_limiter_bug_lets_the_request_through_without_headers() -> None:
    class Broken(RateLimiter):
        def decide(self, *args: Any, **kwargs: Any) -> Any:
            raise KeyError("bug")

    response = make_app(RequestLimiter(Broken(None), plans({}))).resolve(event(), None)  # type: ignore[arg-type]
    assert response["statusCode"] == 200 and "RateLimit" not in headers_of(response)


def test_the_guard_still_runs_first(limiter: RequestLimiter) -> None:
    bad = event("POST", "/holds")
    bad["body"] = "{not json"
    assert make_app(limiter).resolve(bad, None)["statusCode"] == 400  # type: ignore[arg-type]


def test_the_shipped_flag_is_a_valid_powertools_flag_whose_default_is_the_built_in_plan() -> None:
    from pathlib import Path

    from aws_lambda_powertools.utilities.feature_flags import FeatureFlags
    from aws_lambda_powertools.utilities.feature_flags.schema import SchemaValidator

    shipped = json.loads((Path(__file__).parents[2] / "infra" / "feature_flags.json").read_text())
    SchemaValidator(shipped).validate()

    class Store:
        def get_configuration(self) -> dict[str, Any]:
            return shipped

        def get_raw_configuration(self) -> dict[str, Any]:
            return shipped

    flags = FeatureFlags(store=Store())  # type: ignore[arg-type]
    shipped_plans = FlagPlans(lambda name, context, default: flags.evaluate(name=name, context=context, default=default))
    assert shipped_plans.plan_for("t1", "sub:u") == DEFAULT_PLAN
    assert shipped_plans.plan_for("t2", "sub:u").plan == "premium"
