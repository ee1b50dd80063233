"""Request ids end to end in the kernel's ApiResolver: the caller's X-Request-Id (when plausible) or API Gateway's
request id, echoed in X-Request-Id on every answer, in every problem body, in the request's log lines, and on the
domain events the request writes (the envelope's requestId)."""

from __future__ import annotations

import io
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from marquee.booking.orders import OrderFailed
from marquee.core.errors import BadRequestError
from marquee.core.request import bound_request_id, current_request_id
from marquee.http import ApiResolver
from marquee.http import api as api_module
from marquee.messaging.events import Envelope, envelope

# What every handler module does first: the service's logger, whose child the kernel's is (same service name).
service_logger = Logger(
    service=api_module.logger.service, logger_handler=logging.StreamHandler(stream := io.StringIO())
)
app = ApiResolver()


@app.get("/ok")
def ok() -> dict[str, str]:
    logging.getLogger("marquee.test").info("inside the route")
    return {"ok": "yes"}


def Noted(note: str) -> OrderFailed:  # noqa: N802 - any registered event will do
    return OrderFailed(order_id="o1", customer_id="c1", reason=note)


written: list[Envelope] = []


@app.post("/notes")
def note() -> dict[str, str]:
    written.append(envelope(Noted(note="n"), tenant_id="t1", correlation_id="c1"))
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


def test_the_events_a_request_writes_carry_its_request_id_and_later_ones_do_not() -> None:
    written.clear()
    posted = event(
        "/notes", method="POST", headers={"Content-Type": "application/json", "X-Request-Id": "r-9"}, body="{}"
    )
    assert app.resolve(posted, Context())["statusCode"] == 200  # type: ignore[arg-type]
    assert (
        app.resolve(event("/notes", method="POST", headers={"Content-Type": "application/json"}, body="{}"), Context())[
            "statusCode"
        ]
        == 200
    )  # type: ignore[arg-type]
    assert [e.request_id for e in written] == ["r-9", "apigw-req-1"]
    assert json.loads(written[0].to_json())["requestId"] == "r-9"
    # Outside a request (a consumer, a saga step) there is none.
    assert current_request_id() is None
    assert envelope(Noted(note="n"), tenant_id="t1", correlation_id="c1").request_id is None


def test_an_envelope_without_a_request_id_still_reads_and_an_explicit_one_wins() -> None:
    old = envelope(Noted(note="n"), tenant_id="t1", correlation_id="c1").model_dump(mode="json", by_alias=True)
    old.pop("requestId")  # an event written before the field existed
    assert Envelope.model_validate(old).request_id is None
    with bound_request_id("bound-1"):
        assert envelope(Noted(note="n"), tenant_id="t1", correlation_id="c1", request_id="given").request_id == "given"


def test_each_thread_sees_only_the_request_id_it_bound() -> None:
    barrier = threading.Barrier(8)
    seen: dict[int, list[str | None]] = {}

    def serve(n: int) -> None:
        with bound_request_id(f"req-{n}"):
            barrier.wait()  # every thread has bound its own id before any reads
            first = current_request_id()
            barrier.wait()
            seen[n] = [first, envelope(Noted(note="n"), tenant_id="t1", correlation_id="c").request_id]
        seen[n].append(current_request_id())

    threads = [threading.Thread(target=serve, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {n: [f"req-{n}", f"req-{n}", None] for n in range(8)}


def test_the_travel_schema_does_not_require_the_request_id() -> None:
    from devkit.contracts import current_event_schemas, envelope_schema

    schemas = current_event_schemas()
    name = next(iter(schemas))
    schema = envelope_schema(name, schemas[name])
    assert "requestId" in schema["properties"]
    assert "requestId" not in schema["required"]
    assert {"id", "type", "tenantId", "correlationId", "data"} <= set(schema["required"])
