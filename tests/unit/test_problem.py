from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from pydantic import BaseModel, Field

from marquee.core.errors import ConfigurationError, TenantClaimError
from marquee.http.problem import PROBLEM_CONTENT_TYPE, problem_response, register_problem_handlers

from .conftest import load_event

PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance"}


class Booking(BaseModel):
    seats: int = Field(gt=0)


class Boom(RuntimeError):
    pass


def make_app() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    register_problem_handlers(app)

    @app.get("/tenant")
    def tenant() -> dict:
        raise TenantClaimError("no tenant")

    @app.post("/bookings")
    def book(booking: Booking) -> dict:
        return {"seats": booking.seats}

    @app.get("/powertools-error")
    def powertools_error() -> dict:
        raise BadRequestError("bad query")

    @app.get("/boom")
    def boom() -> dict:
        raise Boom("secret internals: /var/task/logic.py")

    @app.get("/misconfigured")
    def misconfigured() -> dict:
        raise ConfigurationError("TABLE_NAME is not set")

    return app


def call(method: str, path: str, body: str | None = None) -> tuple[int, str, dict[str, Any]]:
    event = load_event("me/me.json")
    event.update(httpMethod=method, path=path, resource=path, body=body)
    event["requestContext"].update(httpMethod=method, path=f"/v1{path}", resourcePath=path)
    result = make_app().resolve(event, None)  # type: ignore[arg-type]
    content_type = result["multiValueHeaders"]["Content-Type"][0]
    return result["statusCode"], content_type, json.loads(result["body"])


def test_problem_response_has_the_rfc9457_members() -> None:
    response = problem_response(status=409, title="Seat taken", detail="A1 is held", slug="seat-taken", instance="/x")
    assert response.status_code == 409
    assert response.content_type == PROBLEM_CONTENT_TYPE
    body = json.loads(response.body)
    assert body == {
        "type": "urn:marquee:problem:seat-taken",
        "title": "Seat taken",
        "status": 409,
        "detail": "A1 is held",
        "instance": "/x",
    }


def test_domain_error_becomes_its_problem() -> None:
    status, content_type, body = call("GET", "/tenant")
    assert (status, content_type) == (403, PROBLEM_CONTENT_TYPE)
    assert PROBLEM_FIELDS <= body.keys()
    assert body["type"] == "urn:marquee:problem:tenant-required"
    assert body["instance"] == "/tenant"


def test_invalid_body_is_a_422_problem_listing_the_errors() -> None:
    status, content_type, body = call("POST", "/bookings", json.dumps({"seats": 0}))
    assert (status, content_type) == (422, PROBLEM_CONTENT_TYPE)
    assert body["type"] == "urn:marquee:problem:validation-error"
    assert body["errors"] and body["errors"][0]["loc"][-1] == "seats"


def test_malformed_json_body_is_a_400_problem() -> None:
    status, content_type, body = call("POST", "/bookings", "{not json")
    assert (status, content_type) == (400, PROBLEM_CONTENT_TYPE)
    assert body["type"] == "urn:marquee:problem:malformed-json"


def test_valid_body_reaches_the_route() -> None:
    event = load_event("me/me.json")
    event.update(httpMethod="POST", path="/bookings", resource="/bookings", body=json.dumps({"seats": 2}))
    result = make_app().resolve(event, None)  # type: ignore[arg-type]
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"seats": 2}


def test_unknown_route_is_a_404_problem() -> None:
    status, content_type, body = call("GET", "/nowhere")
    assert (status, content_type) == (404, PROBLEM_CONTENT_TYPE)
    assert body["type"] == "urn:marquee:problem:not-found"
    assert "/nowhere" in body["detail"]


def test_powertools_service_errors_keep_their_status() -> None:
    status, content_type, body = call("GET", "/powertools-error")
    assert (status, content_type) == (400, PROBLEM_CONTENT_TYPE)
    assert body["detail"] == "bad query"


@pytest.mark.parametrize("path", ["/boom", "/misconfigured"])
def test_unexpected_errors_are_a_500_problem_that_leaks_nothing(path: str) -> None:
    status, content_type, body = call("GET", path)
    assert (status, content_type) == (500, PROBLEM_CONTENT_TYPE)
    assert "/var/task" not in body["detail"]
    assert "TABLE_NAME" not in body["detail"]
