"""API Gateway's own limits at the local front door (localcloud/apigateway/throttling.py), with AWS's answers:
stage and method throttling (token bucket: rate + burst), API keys, usage-plan throttles and quotas."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.localcloud.apigw_helpers import RestApi, deploy_function, execute_api_url, lambda_uri

STAGE = "v1"
ECHO = """
import json
def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"]["identity"])}
"""


def _keyed_route(rest: RestApi, path: str, function_arn: str) -> None:
    client = rest.aws("apigateway")
    resource_id = rest.resource(path)
    client.put_method(
        restApiId=rest.api_id, resourceId=resource_id, httpMethod="GET", authorizationType="NONE", apiKeyRequired=True
    )
    client.put_integration(
        restApiId=rest.api_id,
        resourceId=resource_id,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=lambda_uri(function_arn),
    )


@pytest.fixture(scope="module")
def api(aws: Callable[[str], Any], endpoint: str) -> dict[str, Any]:
    echo = deploy_function(aws, ECHO)
    rest = RestApi(aws)
    rest.route("GET", "/open", echo)
    rest.route("GET", "/tight", echo)
    _keyed_route(rest, "/partner", echo)
    rest.deploy(STAGE)
    apigw = aws("apigateway")
    apigw.update_stage(
        restApiId=rest.api_id,
        stageName=STAGE,
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "1"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "5"},
            {"op": "replace", "path": "/~1tight/GET/throttling/rateLimit", "value": "0.5"},
            {"op": "replace", "path": "/~1tight/GET/throttling/burstLimit", "value": "2"},
            {"op": "replace", "path": "/~1partner/GET/throttling/rateLimit", "value": "100"},
            {"op": "replace", "path": "/~1partner/GET/throttling/burstLimit", "value": "100"},
        ],
    )
    value = f"partner-{uuid.uuid4().hex}"
    key = apigw.create_api_key(name=f"k-{uuid.uuid4().hex[:6]}", enabled=True, value=value)
    plan = apigw.create_usage_plan(
        name=f"partners-{uuid.uuid4().hex[:6]}",
        apiStages=[{"apiId": rest.api_id, "stage": STAGE}],
        throttle={"rateLimit": 100.0, "burstLimit": 100},
        quota={"limit": 4, "period": "DAY"},
    )
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return {"endpoint": endpoint, "api_id": rest.api_id, "key": value, "key_id": key["id"]}


def call(api: dict[str, Any], path: str, **headers: str) -> requests.Response:
    url = execute_api_url(api["endpoint"], api["api_id"], STAGE, path)
    return requests.get(url, headers=headers, timeout=15)


def assert_throttled(response: requests.Response, message: str = "Too Many Requests") -> None:
    assert response.status_code == 429
    assert response.json() == {"message": message}
    assert response.headers["x-amzn-ErrorType"] == "TooManyRequestsException"


def test_stage_throttling_admits_the_burst_then_refuses_with_api_gateways_429(api: dict[str, Any]) -> None:
    statuses = [call(api, "/open").status_code for _ in range(8)]
    assert statuses[:5] == [200] * 5  # the burst (the bucket starts full); 1/s refills at most one more meanwhile
    assert statuses.count(429) >= 2
    assert_throttled(call(api, "/open"))


def test_a_method_setting_replaces_the_stage_setting_for_that_method(api: dict[str, Any]) -> None:
    statuses = [call(api, "/tight").status_code for _ in range(4)]
    assert statuses[:2] == [200, 200] and statuses[2:] == [429, 429]
    time.sleep(2.1)  # 0.5 per second: one token back after 2 s
    assert call(api, "/tight").status_code == 200


def test_a_keyed_method_refuses_a_missing_or_unknown_key_with_403(api: dict[str, Any]) -> None:
    for response in (call(api, "/partner"), call(api, "/partner", **{"x-api-key": "nope"})):
        assert response.status_code == 403 and response.json() == {"message": "Forbidden"}
        assert response.headers["x-amzn-ErrorType"] == "ForbiddenException"


def test_a_usage_plan_quota_is_counted_per_key_and_then_limit_exceeded(api: dict[str, Any]) -> None:
    first = call(api, "/partner", **{"x-api-key": api["key"]})
    assert first.status_code == 200
    assert first.json()["apiKeyId"] == api["key_id"]  # the integration sees which partner called
    for _ in range(3):
        assert call(api, "/partner", **{"x-api-key": api["key"]}).status_code == 200
    assert_throttled(call(api, "/partner", **{"x-api-key": api["key"]}), "Limit Exceeded")
