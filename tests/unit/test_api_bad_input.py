"""The bad-input matrix over every route that takes a body, through the real API functions, in-process.

Every API function is loaded as at a cold start (tools/api_functions.py) with AWS pointed at a closed port: a request
that reached DynamoDB, SQS or EventBridge would fail there and answer 500, so "a clean 4xx" also proves "nothing was
written". The routes come from the published OpenAPI document, so a new route is in the matrix without a line here.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

from marquee.core import aws
from tools.api_functions import api_functions, load
from tools.openapi import OPENAPI_FILE

from .conftest import load_event

CANARY = "CANARY-4111111111111111"
BODY_METHODS = ("post", "put", "patch")
OPENAPI = json.loads(OPENAPI_FILE.read_text())


@dataclass(frozen=True)
class Context:
    function_name: str = "marquee-matrix"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:marquee-matrix"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    has_body_model: bool

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.path}"


ROUTES = [
    Route(method, path, operation["tags"][0], "requestBody" in operation)
    for path, operations in OPENAPI["paths"].items()
    for method, operation in operations.items()
    if method in BODY_METHODS
]


@pytest.fixture(scope="module")
def functions() -> dict[str, ModuleType]:
    return {function.name: load(function) for function in api_functions()}


@pytest.fixture(autouse=True)
def aws_unreachable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any AWS call fails at once (connection refused, one attempt): a route that wrote something would answer 500."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    aws.clear_clients()
    yield
    aws.clear_clients()


def request(route: Route, body: str | None, *, content_type: str | None = "application/json", b64: bool = False) -> dict:
    event = copy.deepcopy(load_event("orders/post_order.json"))
    path = route.path.replace("{", "").replace("}", "")  # /showtimes/showtimeId/holds: any id will do
    event.update(
        {"path": path, "resource": route.path, "httpMethod": route.method.upper(), "body": body, "isBase64Encoded": b64}
    )
    event["pathParameters"] = {name.strip("{}"): name.strip("{}") for name in route.path.split("/") if "{" in name}
    event["requestContext"].update({"httpMethod": route.method.upper(), "resourcePath": route.path, "path": path})
    event["requestContext"]["authorizer"]["claims"]["cognito:groups"] = "staff"
    # a caller per request: the matrix sends hundreds of writes, which a caller's rate limit would rightly refuse (429)
    event["requestContext"]["authorizer"]["claims"]["sub"] = str(uuid.uuid4())
    headers = {k: v for k, v in event["headers"].items() if k.lower() != "content-type"}
    headers["Idempotency-Key"] = "matrix-key-0001"
    if content_type is not None:
        headers["Content-Type"] = content_type
    event["headers"] = headers
    event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    return event


def body_schema(route: Route) -> dict[str, Any]:
    operation = OPENAPI["paths"][route.path][route.method]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return dict(OPENAPI["components"]["schemas"][ref.rsplit("/", 1)[1]])


def every_field_a_canary(route: Route) -> str:
    """Each top-level field of the body's schema set to an object holding the canary: a wrong type for every field."""
    properties = body_schema(route).get("properties", {})
    return json.dumps({name: {"zzCanary": CANARY} for name in properties} or {"anything": CANARY})


def requires_fields(route: Route) -> bool:
    return bool(body_schema(route).get("required"))


def limit_of(functions: dict[str, ModuleType], route: Route) -> int:
    return int(functions[route.function].app.guard.max_body_bytes)


# name -> (event builder, expected status)
Case = Callable[[Route, dict[str, ModuleType]], dict]
CASES: dict[str, tuple[Case, int]] = {
    "invalid-utf8": (
        lambda r, f: request(r, base64.b64encode(b'{"name": "\xff\xfe caf\xe9"}').decode(), b64=True),
        400,
    ),
    "deep-nesting": (lambda r, f: request(r, '{"a": ' + "[" * 50_000 + "]" * 50_000 + "}"), 400),
    "nan": (lambda r, f: request(r, '{"amount": NaN}'), 400),
    "duplicate-key": (lambda r, f: request(r, '{"a": 1, "a": 2}'), 400),
    "truncated": (lambda r, f: request(r, '{"a": '), 400),
    "top-level-array": (lambda r, f: request(r, json.dumps([{"name": "x"}])), 422),
    "top-level-null": (lambda r, f: request(r, "null"), 422),
    "top-level-string": (lambda r, f: request(r, json.dumps(CANARY)), 422),
    "top-level-number": (lambda r, f: request(r, "5"), 422),
    "text-plain": (lambda r, f: request(r, "{}", content_type="text/plain"), 415),
    "form-encoded": (
        lambda r, f: request(r, f"card={CANARY}&amount=1", content_type="application/x-www-form-urlencoded"),
        415,
    ),
    "no-content-type": (lambda r, f: request(r, "{}", content_type=None), 415),
    "latin1-charset": (lambda r, f: request(r, "{}", content_type="application/json; charset=iso-8859-1"), 415),
    "oversized": (lambda r, f: request(r, '{"a": "' + "x" * limit_of(f, r) + '"}'), 413),
    "oversized-base64": (
        lambda r, f: request(r, base64.b64encode(b'{"a": "' + b"x" * limit_of(f, r) + b'"}').decode(), b64=True),
        413,
    ),
}
MODEL_CASES: dict[str, tuple[Case, int]] = {
    "empty": (lambda r, f: request(r, ""), 422),
    "empty-object": (lambda r, f: request(r, "{}"), 422),
    "unknown-field": (lambda r, f: request(r, json.dumps({"zzUnknownField": 1})), 422),
    "every-field-a-canary": (lambda r, f: request(r, every_field_a_canary(r)), 422),
}


def _matrix() -> list[Any]:
    params = []
    for route in ROUTES:
        cases = {**CASES, **(MODEL_CASES if route.has_body_model else {})}
        if route.has_body_model and not requires_fields(route):
            cases.pop("empty-object")  # {} is a valid body here (every field has a default)
        for name, (build, status) in cases.items():
            params.append(pytest.param(route, build, status, id=f"{route.id} {name}"))
    return params


def test_the_matrix_covers_every_route_that_takes_a_body() -> None:
    with_model = {r.id for r in ROUTES if r.has_body_model}
    assert {"POST /orders", "POST /payments", "PUT /me/notification-preferences", "POST /notifications"} <= with_model
    assert "POST /webhooks/inbound/payments" in {r.id for r in ROUTES}


@pytest.mark.parametrize(("route", "build", "status"), _matrix())
def test_bad_body_gets_a_clean_4xx_problem_and_writes_nothing(
    functions: dict[str, ModuleType], route: Route, build: Case, status: int
) -> None:
    response = functions[route.function].handler(build(route, functions), Context())
    assert isinstance(response["body"], str)
    problem = json.loads(response["body"])
    assert (response["statusCode"], problem.get("type")) == (status, problem.get("type")), problem
    assert response["multiValueHeaders"]["Content-Type"] == ["application/problem+json"]
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert problem["status"] == status
    assert CANARY not in response["body"]
    assert "4111111111111111" not in response["body"]


@pytest.mark.parametrize("route", [r for r in ROUTES if r.has_body_model], ids=lambda r: r.id)
def test_unknown_field_is_named_in_the_422(functions: dict[str, ModuleType], route: Route) -> None:
    response = functions[route.function].handler(request(route, json.dumps({"zzUnknownField": CANARY})), Context())
    problem = json.loads(response["body"])
    assert response["statusCode"] == 422
    assert any(error["loc"][-1] == "zzUnknownField" and error["type"] == "extra_forbidden" for error in problem["errors"])
    assert CANARY not in response["body"]


@pytest.mark.parametrize("route", [r for r in ROUTES if r.method != "get"], ids=lambda r: r.id)
def test_get_body_is_ignored_not_parsed(functions: dict[str, ModuleType], route: Route) -> None:
    """A body sent with a method that takes none is dropped: it can't be the cause of an error."""
    event = request(route, base64.b64encode(b"\xff" * 10).decode(), b64=True)
    event["httpMethod"] = "GET"
    event["requestContext"]["httpMethod"] = "GET"
    response = functions[route.function].handler(event, Context())
    assert isinstance(response["body"], str)
    assert response["statusCode"] != 400 or json.loads(response["body"])["type"].endswith("not-found") is False
