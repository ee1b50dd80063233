"""Parity tests of MOCK integrations in the API Gateway (REST API, v1) front door. Each docstring states the AWS
behaviour it mirrors (API Gateway developer guide: "Set up mock integrations", "Mapping templates", "Integration
passthrough behaviors"). The APIs are built with plain boto3 calls, as the console or CloudFormation would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.localcloud.apigw_helpers import RestApi, execute_api_url

STAGE = "test"
TIMEOUT_S = 15
PROBLEM = (
    '{"type": "urn:marquee:problem:maintenance", "title": "Service under maintenance", "status": 503, '
    '"detail": "Back soon.", "instance": "$context.path", "requestId": "$context.requestId"}'
)


def mock_route(
    rest: RestApi,
    http_method: str,
    path: str,
    *,
    request_templates: dict[str, str],
    responses: list[dict[str, Any]],
    passthrough: str | None = None,
) -> None:
    client = rest.aws("apigateway")
    resource_id = rest.resource(path)
    client.put_method(restApiId=rest.api_id, resourceId=resource_id, httpMethod=http_method, authorizationType="NONE")
    extra = {"passthroughBehavior": passthrough} if passthrough else {}
    client.put_integration(
        restApiId=rest.api_id,
        resourceId=resource_id,
        httpMethod=http_method,
        type="MOCK",
        requestTemplates=request_templates,
        **extra,
    )
    for response in responses:
        client.put_method_response(
            restApiId=rest.api_id,
            resourceId=resource_id,
            httpMethod=http_method,
            statusCode=response["statusCode"],
            responseParameters={k: True for k in response.get("responseParameters", {})},
        )
        client.put_integration_response(
            restApiId=rest.api_id, resourceId=resource_id, httpMethod=http_method, **response
        )


@pytest.fixture(scope="module")
def api(aws: Callable[[str], Any], endpoint: str) -> Callable[..., requests.Response]:
    rest = RestApi(aws)
    maintenance = {
        "statusCode": "503",
        "responseTemplates": {"application/json": PROBLEM},
        "responseParameters": {
            "method.response.header.Content-Type": "'application/problem+json'",
            "method.response.header.Retry-After": "'300'",
            "method.response.header.X-Request-Id": "context.requestId",
        },
    }
    mock_route(
        rest, "GET", "/down", request_templates={"application/json": '{"statusCode": 503}'}, responses=[maintenance]
    )
    mock_route(
        rest,
        "POST",
        "/down",
        request_templates={"application/json": '{"statusCode": 503}'},
        responses=[maintenance],
        passthrough="NEVER",
    )
    mock_route(
        rest,
        "GET",
        "/selected",
        request_templates={"application/json": '{"statusCode": 200}'},
        responses=[
            {"statusCode": "200", "responseTemplates": {"application/json": '{"ok": true}'}},
            {"statusCode": "503", "selectionPattern": "5\\d{2}", "responseTemplates": {"application/json": "{}"}},
        ],
    )
    mock_route(
        rest,
        "GET",
        "/unmapped",
        request_templates={"application/json": '{"statusCode": 404}'},
        responses=[{"statusCode": "503", "selectionPattern": "5\\d{2}"}],
    )
    mock_route(
        rest,
        "GET",
        "/vtl",
        request_templates={"application/json": '#set($code = 503){"statusCode": $code}'},
        responses=[maintenance],
    )
    rest.deploy(STAGE)

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        url = execute_api_url(endpoint, rest.api_id, STAGE, path)
        return requests.request(method, url, timeout=TIMEOUT_S, **kwargs)

    return call


def test_a_mock_answers_its_integration_responses_status_body_and_mapped_headers(api: Any) -> None:
    """AWS: the request template's statusCode selects the integration response; its template is the body (with
    $context variables), its Content-Type the template's unless a response parameter maps one, and response parameters
    map static values ('...') and context variables onto headers."""
    response = api("GET", "/down")
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Retry-After"] == "300"
    body = response.json()
    assert body["status"] == 503 and body["type"] == "urn:marquee:problem:maintenance"
    assert body["requestId"] == response.headers["X-Request-Id"] and len(body["requestId"]) >= 16
    assert body["instance"] == "/test/down"


def test_without_a_content_type_the_json_template_applies(api: Any) -> None:
    """AWS: a request with no Content-Type is mapped with the application/json template."""
    assert api("POST", "/down", data=b"").status_code == 503
    assert api("POST", "/down", json={"any": "body"}).status_code == 503


def test_a_content_type_without_a_template_is_415_when_passthrough_is_never(api: Any) -> None:
    """AWS: passthroughBehavior NEVER refuses a Content-Type with no mapping template: 415 Unsupported Media Type."""
    response = api("POST", "/down", data="x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.json() == {"message": "Unsupported Media Type"}
    assert response.headers["x-amzn-ErrorType"] == "UnsupportedMediaTypeException"


def test_the_selection_pattern_picks_the_response_and_the_default_takes_the_rest(api: Any) -> None:
    """AWS: for a MOCK, the selection patterns are matched against the status code; the response without a pattern
    is the default."""
    response = api("GET", "/selected")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert response.headers["Content-Type"] == "application/json"


def test_no_matching_and_no_default_response_is_500(api: Any) -> None:
    """AWS: "No match for output mapping and no default output mapping configured": 500 Internal server error."""
    response = api("GET", "/unmapped")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error"}


def test_vtl_the_local_cloud_does_not_evaluate_is_a_500_not_a_wrong_answer(api: Any) -> None:
    """Local limit (documented): templates are evaluated for static text and $context only; other VTL is refused."""
    response = api("GET", "/vtl")
    assert response.status_code == 500
