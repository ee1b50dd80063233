"""Maintenance mode in ApiResolver: the ``maintenance_mode`` flag, evaluated by Powertools' own FeatureFlags over the
documents `marquee maintenance on|off` writes (devkit/maintenance.py), answers 503 problem+json with Retry-After per
service, tenant and route class before the rate limiter or the route runs; an unreadable store or a malformed value
never takes a service down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.feature_flags import FeatureFlags
from aws_lambda_powertools.utilities.feature_flags.base import StoreProvider
from aws_lambda_powertools.utilities.feature_flags.schema import SchemaValidator

from devkit import maintenance as switch
from marquee.http import ApiResolver
from marquee.http.maintenance import DEFAULT_RETRY_AFTER_S, UNREADABLE_BACKOFF_S, Maintenance, notice_of
from marquee.ratelimit import LimitSpec, Plan, RateLimiter, RequestLimiter
from marquee.ratelimit.plans import FlagPlans


class MemoryStore(StoreProvider):
    """A flags document in memory, read the way AppConfigStore's is (Powertools evaluates the rules itself)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.reads = 0

    def get_raw_configuration(self) -> dict[str, Any]:
        self.reads += 1
        return self.document

    def get_configuration(self) -> dict[str, Any]:
        return self.get_raw_configuration()


def flags_evaluator(store: StoreProvider) -> Any:
    flags = FeatureFlags(store=store)
    return lambda name, context, default: flags.evaluate(name=name, context=dict(context), default=default)


def make_app(service: str, store: StoreProvider, ran: list[str], limiter: RequestLimiter | None = None) -> ApiResolver:
    app = ApiResolver(maintenance=Maintenance(service, flags_evaluator(store)), rate_limit=limiter)

    @app.get("/payments/<pid>")
    def read(pid: str) -> dict[str, Any]:
        ran.append(f"GET {pid}")
        return {"id": pid}

    @app.post("/payments")
    def write() -> dict[str, Any]:
        ran.append("POST")
        return {"ok": True}

    return app


def event(method: str = "GET", path: str = "/payments/p1", *, tenant: str | None = "t1") -> dict[str, Any]:
    context: dict[str, Any] = {"requestId": "apigw-1", "stage": "v1", "identity": {"sourceIp": "10.0.0.1"}}
    if tenant is not None:
        context["authorizer"] = {"claims": {"custom:tenant_id": tenant, "sub": "u1"}}
    return {
        "resource": "/payments/{pid}" if method == "GET" else "/payments",
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


def resolve(app: ApiResolver, request: dict[str, Any]) -> dict[str, Any]:
    return app.resolve(request, None)  # type: ignore[arg-type]


SHIPPED = {"sms_notifications": {"default": False}}
ROOT = Path(__file__).resolve().parents[2]


def test_a_service_in_maintenance_answers_503_problem_with_retry_after_and_the_route_never_runs() -> None:
    ran: list[str] = []
    document = switch.switch_on(SHIPPED, service="payments", retry_after_s=120, detail="The provider is down.")
    response = resolve(make_app("payments", MemoryStore(document), ran), event())

    assert response["statusCode"] == 503
    headers = headers_of(response)
    assert headers["Content-Type"] == "application/problem+json"
    assert headers["Retry-After"] == "120"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Request-Id"] == "apigw-1"
    body = json.loads(response["body"])
    assert body["type"] == "urn:marquee:problem:maintenance"
    assert body["status"] == 503
    assert body["detail"] == "The provider is down."
    assert body["instance"] == "/payments/p1"
    assert body["requestId"] == "apigw-1"
    assert ran == []


def test_another_service_and_the_off_switch_are_unaffected() -> None:
    ran: list[str] = []
    document = switch.switch_on(SHIPPED, service="payments")
    assert resolve(make_app("orders", MemoryStore(document), ran), event())["statusCode"] == 200
    assert ran == ["GET p1"]

    off = switch.switch_off(document, service="payments")
    assert resolve(make_app("payments", MemoryStore(off), ran), event())["statusCode"] == 200
    assert ran == ["GET p1", "GET p1"]
    assert off == SHIPPED  # off removes the flag's last rule and the flag itself


def test_a_tenant_scoped_switch_refuses_only_that_tenant() -> None:
    ran: list[str] = []
    app = make_app("payments", MemoryStore(switch.switch_on(SHIPPED, service="payments", tenant="t1")), ran)
    refused = resolve(app, event(tenant="t1"))
    assert refused["statusCode"] == 503
    assert headers_of(refused)["Retry-After"] == str(DEFAULT_RETRY_AFTER_S)
    assert resolve(app, event(tenant="t2"))["statusCode"] == 200
    assert ran == ["GET p1"]


def test_writes_only_makes_a_service_read_only() -> None:
    ran: list[str] = []
    document = switch.switch_on(SHIPPED, service="payments", writes_only=True)
    app = make_app("payments", MemoryStore(document), ran)
    assert resolve(app, event("POST", "/payments"))["statusCode"] == 503
    assert resolve(app, event("GET"))["statusCode"] == 200
    assert ran == ["GET p1"]


def test_maintenance_answers_before_the_rate_limiter_is_asked() -> None:
    decided: list[str] = []

    class CountingLimiter(RateLimiter):
        def decide(self, key: str, limit: Any) -> Any:
            decided.append(key)
            return super().decide(key, limit)

    plan = Plan(plan="p", read=LimitSpec(count=5, period_s=1, burst=5), write=LimitSpec(count=5, period_s=1, burst=5))
    limiter = RequestLimiter(CountingLimiter(None), FlagPlans(lambda name, context, default: plan.model_dump()))
    ran: list[str] = []
    store = MemoryStore(switch.switch_on(SHIPPED, service="payments"))
    assert resolve(make_app("payments", store, ran, limiter), event())["statusCode"] == 503
    assert decided == []  # Valkey (the limiter's backend) is not touched either
    store.document = switch.switch_off(store.document, service="payments")
    assert resolve(make_app("payments", store, ran, limiter), event())["statusCode"] == 200
    assert len(decided) == 1


def test_the_switch_is_read_at_run_time_from_the_store() -> None:
    ran: list[str] = []
    store = MemoryStore(SHIPPED)
    app = make_app("payments", store, ran)
    assert resolve(app, event())["statusCode"] == 200
    store.document = switch.switch_on(SHIPPED, service="payments")
    assert resolve(app, event())["statusCode"] == 503
    store.document = switch.switch_off(store.document, service="payments")
    assert resolve(app, event())["statusCode"] == 200


def test_an_unreadable_store_leaves_the_service_up_and_is_not_asked_again_at_once() -> None:
    calls: list[str] = []
    now = [100.0]

    def broken(name: str, context: Any, default: Any) -> Any:
        calls.append(name)
        raise ConnectionError("AppConfig unreachable")

    maintenance = Maintenance("payments", broken, clock=lambda: now[0])
    assert maintenance.check(event()) is None
    assert maintenance.check(event()) is None
    assert calls == ["maintenance_mode"]  # backing off: no failing call added to every request
    now[0] += UNREADABLE_BACKOFF_S
    assert maintenance.check(event()) is None
    assert len(calls) == 2


@pytest.mark.parametrize("value", [{"retryAfterS": 0}, {"retryAfterS": "soon"}, {"unknown": 1}, "on", 3])
def test_a_malformed_value_leaves_the_service_up(value: Any) -> None:
    maintenance = Maintenance("payments", lambda name, context, default: value)
    assert maintenance.check(event()) is None


def test_flag_values_true_false_and_a_notice() -> None:
    assert notice_of(False) is None
    assert notice_of(None) is None
    on = notice_of(True)
    assert on is not None
    assert on.retry_after_s == DEFAULT_RETRY_AFTER_S
    notice = notice_of({"retryAfterS": 30, "detail": "Back soon."})
    assert notice is not None
    assert (notice.retry_after_s, notice.detail) == (30, "Back soon.")


def test_the_tenant_comes_from_verified_claims_only() -> None:
    ran: list[str] = []
    app = make_app("payments", MemoryStore(switch.switch_on(SHIPPED, service="payments", tenant="t1")), ran)
    spoofed = event(tenant=None)
    spoofed["headers"]["X-Tenant-Id"] = "t1"
    assert resolve(app, spoofed)["statusCode"] != 503


def test_switch_documents_pass_powertools_schema_validation_and_keep_other_flags() -> None:
    document = switch.switch_on(SHIPPED, service="payments", tenant="t1", retry_after_s=60, detail="x")
    document = switch.switch_on(document, service="holds", writes_only=True)
    SchemaValidator(document).validate()
    assert document["sms_notifications"] == SHIPPED["sms_notifications"]
    assert [(r["service"], r["tenant"], r["writes_only"]) for r in switch.status(document)] == [
        ("payments", "t1", False),
        ("holds", None, True),
    ]
    # Switching the same scope on again replaces its rule (a new Retry-After), never adds a second one.
    again = switch.switch_on(document, service="payments", tenant="t1", retry_after_s=30)
    assert len(switch.status(again)) == 2
    assert switch.status(again)[0]["retry_after_s"] == 30


@pytest.mark.parametrize(
    "kwargs",
    [
        {"service": "Payments!"},
        {"service": "payments", "tenant": "t 1"},
        {"service": "payments", "retry_after_s": 0},
        {"service": "payments", "retry_after_s": 86_401},
        {"service": "payments", "detail": ""},
    ],
)
def test_switch_refuses_bad_input(kwargs: dict[str, Any]) -> None:
    with pytest.raises(switch.MaintenanceError):
        switch.switch_on(SHIPPED, **kwargs)


def test_switching_off_what_is_not_on_is_an_error() -> None:
    with pytest.raises(switch.MaintenanceError, match="not in maintenance"):
        switch.switch_off(SHIPPED, service="payments")


def test_unknown_services_are_refused_when_the_deployed_ones_are_known() -> None:
    with pytest.raises(switch.MaintenanceError, match="payment.*payments"):
        switch.switch_on(SHIPPED, service="payment", known_services={"payments", "orders"})


def test_the_consoles_request_switches_a_scope_on_and_off() -> None:
    on = switch.switch(
        SHIPPED,
        {"service": "payments", "on": True, "tenant": "t1", "writesOnly": True, "retryAfterS": 60},
        known_services={"payments"},
    )
    assert switch.status(on) == [
        {"service": "payments", "tenant": "t1", "writes_only": True, "retry_after_s": 60, "detail": None}
    ]
    off = switch.switch(on, {"service": "payments", "on": False, "tenant": "t1", "writesOnly": True})
    assert off == SHIPPED


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"service": "payments"},
        {"service": "payments", "on": "yes"},
        {"service": 3, "on": True},
        {"service": "payments", "on": True, "retryAfterS": "soon"},
        {"service": "payments", "on": True, "retryAfterS": True},
        {"service": "payments", "on": True, "tenant": 7},
        {"service": "payments", "on": True, "writesOnly": "no"},
    ],
)
def test_the_console_refuses_a_malformed_request(body: dict[str, Any]) -> None:
    with pytest.raises(switch.MaintenanceError):
        switch.switch(SHIPPED, body)


def test_the_cli_and_the_console_can_import_the_switch_without_the_layer_on_their_path() -> None:
    """`marquee maintenance` and the console's panel run in processes without the common layer on sys.path."""
    code = "import devkit.maintenance, devkit.cli; print(devkit.maintenance.FLAG)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "maintenance_mode"
