"""Request ids end to end in the kernel's ApiResolver: the caller's X-Request-Id (when plausible) or API Gateway's
request id, echoed in X-Request-Id on every answer, in every problem body, and in the request's log lines."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest

from aws_lambda_powertools import Logger

from marquee.core.errors import BadRequestError
from marquee.http import ApiResolver
from marquee.http import api as api_module

# What every handler module does first: the service's logger, whose child the kernel's is (same service name).
service_logger = Logger(
    service=api_module.logger.service, logger_handler=logging.StreamHandler(stream := io.StringIO())
)
app = ApiResolver()


@app.get("/ok")
def ok() -> dict[str, str]:
    logging.getLogger("marquee.test").info("inside the route")
    return {"ok": "yes"}


@app.get("/bad")
def bad() -> dict[str, str]:
    raise BadRequestError("no")


@dataclass(frozen=True)
class Context:
    function_name: str = "rid"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:rid"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"


def event(
    path: str, method: str = "GET", headers: dict[str, str] | None = None, body: str | None = None
) -> dict[str, Any]:
    headers = headers or {}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "requestContext": {"requestId": "apigw-req-1", "path": f"/v1{path}", "httpMethod": method},
        "body": body,
        "isBase64Encoded": False,
    }


def test_the_callers_request_id_comes_back_on_a_success() -> None:
    response = app.resolve(event("/ok", headers={"X-Request-Id": "client-42.a"}), Context())  # type: ignore[arg-type]
    assert response["statusCode"] == 200
    assert response["multiValueHeaders"]["X-Request-Id"] == ["client-42.a"]


def test_without_one_api_gateways_request_id_is_used_and_put_in_the_problem_body() -> None:
    response = app.resolve(event("/bad"), Context())  # type: ignore[arg-type]
    assert response["statusCode"] == 400
    assert response["multiValueHeaders"]["X-Request-Id"] == ["apigw-req-1"]
    assert json.loads(response["body"])["requestId"] == "apigw-req-1"


@pytest.mark.parametrize("sent", ["", "x" * 129, "a b", "<script>", "id\nInjected: 1"])
def test_an_implausible_request_id_is_replaced_never_echoed(sent: str) -> None:
    response = app.resolve(event("/ok", headers={"X-Request-Id": sent}), Context())  # type: ignore[arg-type]
    assert response["multiValueHeaders"]["X-Request-Id"] == ["apigw-req-1"]


def test_a_refusal_by_the_guard_carries_the_request_id_too() -> None:
    refused = event("/ok", method="POST", headers={"Content-Type": "text/plain", "X-Request-Id": "r-7"}, body="x")
    response = app.resolve(refused, Context())  # type: ignore[arg-type]
    assert response["statusCode"] == 415
    assert json.loads(response["body"])["requestId"] == "r-7" and response["headers"]["X-Request-Id"] == "r-7"


def test_the_request_id_is_in_the_requests_log_lines() -> None:
    app.resolve(event("/bad", headers={"X-Request-Id": "log-me-1"}), Context())  # type: ignore[arg-type]
    service_logger.info("a line of the request")
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    assert any(line.get("request_id") == "log-me-1" for line in lines), lines
