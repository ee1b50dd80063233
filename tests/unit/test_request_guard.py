"""The request guard and the guarded resolver (marquee.http), on a small app of their own."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel, ConfigDict

from marquee.http import ApiResolver, RequestGuard
from marquee.http.guard import Refused, nesting_depth


class Card(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str
    amount: int


def make_app() -> ApiResolver:
    app = ApiResolver(max_body_bytes=1024, max_depth=8)

    @app.post("/cards")
    def post_card(body: Card) -> dict[str, Any]:
        return {"amount": body.amount}

    @app.post("/broken")
    def broken() -> Response[Any]:
        return Response(status_code=202, body={"not": "a string"})  # no content type: Powertools leaves it a dict

    @app.post("/crash")
    def crash() -> dict[str, Any]:
        raise TypeError("a bug")

    return app


def event(body: str | None, *, path: str = "/cards", content_type: str | None = "application/json", **extra: Any) -> dict:
    headers = {"Content-Type": content_type} if content_type else {}
    return {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"requestId": "req-42", "stage": "v1", "resourcePath": path, "httpMethod": "POST"},
        "body": body,
        "isBase64Encoded": False,
        **extra,
    }


def call(body: str | None, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    response = make_app().resolve(event(body, **kwargs), None)  # type: ignore[arg-type]
    assert isinstance(response["body"], str)
    return response["statusCode"], json.loads(response["body"])


def test_a_valid_body_reaches_the_route() -> None:
    assert call('{"number": "4242", "amount": 5}') == (200, {"amount": 5})


def test_charset_utf8_is_json_and_other_json_types_are_not_what_the_api_consumes() -> None:
    assert call('{"number": "4", "amount": 1}', content_type="Application/JSON; charset=UTF-8")[0] == 200
    assert call('{"number": "4", "amount": 1}', content_type="application/merge-patch+json")[0] == 415


@pytest.mark.parametrize(
    ("content_type", "status"),
    [("text/plain", 415), (None, 415), ("application/x-www-form-urlencoded", 415), ("application/json; charset=latin-1", 415)],
)
def test_a_body_that_is_not_declared_json_is_415(content_type: str | None, status: int) -> None:
    code, problem = call('{"number": "4", "amount": 1}', content_type=content_type)
    assert (code, problem["type"]) == (status, "urn:marquee:problem:unsupported-media-type")


def test_invalid_utf8_is_400_whether_base64_or_not() -> None:
    raw = base64.b64encode(b'{"number": "\xff", "amount": 1}').decode()
    assert call(raw, isBase64Encoded=True)[1]["type"].endswith("invalid-encoding")
    assert call('{"number": "\udcff", "amount": 1}')[1]["type"].endswith("invalid-encoding")  # a lone surrogate
    assert call("not base64!", isBase64Encoded=True)[0] == 400


def test_nesting_past_the_limit_is_400_before_any_parser_runs() -> None:
    code, problem = call('{"number": ' + "[" * 20 + "]" * 20 + "}")
    assert (code, problem["type"]) == (400, "urn:marquee:problem:too-deeply-nested")


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    assert nesting_depth('{"a": "[[[[[[[[[[[[{{{{{{\\"]]]]"}', limit=8) == 1
    assert call('{"number": "[[[[[[[[[[[[[[[[[[[[[[", "amount": 1}')[0] == 200


def test_nan_a_duplicate_key_and_truncation_are_400() -> None:
    assert call('{"number": "4", "amount": NaN}')[1]["type"].endswith("malformed-json")
    assert call('{"number": "4", "number": "5", "amount": 1}')[1]["type"].endswith("duplicate-json-key")
    assert call('{"number": ')[1]["type"].endswith("malformed-json")


@pytest.mark.parametrize("body", ["[]", '[{"number": "4", "amount": 1}]', "null", '"text"', "7", "true"])
def test_a_top_level_value_that_is_not_an_object_is_422(body: str) -> None:
    code, problem = call(body)
    assert code == 422
    assert "must be a JSON object" in problem["detail"]


def test_over_the_limit_is_413_counted_as_sent() -> None:
    assert call('{"number": "' + "4" * 1100 + '", "amount": 1}')[0] == 413
    # 1000 'é' are 2000 bytes in UTF-8: over 1 KiB although 1000 characters
    assert call('{"number": "' + "é" * 1000 + '", "amount": 1}')[0] == 413


def test_validation_names_the_field_and_rule_but_never_echoes_the_value() -> None:
    code, problem = call('{"number": 4111111111111111, "amount": "x4111111111111111", "extra": "4111111111111111"}')
    assert code == 422
    assert "4111111111111111" not in json.dumps(problem)
    assert {(tuple(e["loc"]), e["type"]) for e in problem["errors"]} == {
        (("body", "number"), "string_type"),
        (("body", "amount"), "int_parsing"),
        (("body", "extra"), "extra_forbidden"),
    }


def test_a_body_on_a_get_is_dropped_unread() -> None:
    guard = RequestGuard()
    request = event(base64.b64encode(b"\xff\xfe").decode(), isBase64Encoded=True)
    request["httpMethod"] = "GET"
    guard.check(request)
    assert request["body"] is None


def test_a_route_returning_a_non_string_body_becomes_a_logged_500_not_a_502() -> None:
    code, problem = call(None, path="/broken")
    assert code == 500
    assert problem["correlationId"] == "req-42"


def test_an_unexpected_exception_is_a_500_with_the_correlation_id() -> None:
    code, problem = call(None, path="/crash")
    assert (code, problem["correlationId"]) == (500, "req-42")
    assert "a bug" not in json.dumps(problem)


def test_the_guard_refuses_with_a_typed_error() -> None:
    with pytest.raises(Refused) as refused:
        RequestGuard(max_body_bytes=4).check(event("12345"))
    assert refused.value.status == 413
