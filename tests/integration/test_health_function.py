from __future__ import annotations

from types import ModuleType

import boto3
import pytest

from marquee.core.errors import ConfigurationError

from .conftest import REGION, Platform, invoke, load_event, load_function

HEALTH_JSON = "application/health+json"
PROBLEM_JSON = "application/problem+json"
EXPECTED_CHECKS = {
    "dynamodb:responseTime",
    "sqs:responseTime",
    "eventbridge:responseTime",
    "secretsmanager:responseTime",
    "stepfunctions:responseTime",
    "aurora:responseTime",
}


def test_liveness_answers_pass_without_a_token(health_function: ModuleType) -> None:
    result = invoke(health_function, load_event("health/liveness.json"))
    assert result.status == 200
    assert result.content_type == HEALTH_JSON
    assert result.body["status"] == "pass"
    assert result.body["serviceId"] == "health"
    assert result.headers["Cache-Control"] == ["no-store"]


def test_deep_health_for_staff_probes_every_dependency(health_function: ModuleType, platform: Platform) -> None:
    result = invoke(health_function, load_event("health/deep.json"))
    assert result.status == 200
    assert result.content_type == HEALTH_JSON
    assert result.body["status"] == "pass"
    assert set(result.body["checks"]) == EXPECTED_CHECKS
    for key, (item,) in result.body["checks"].items():
        assert item["status"] == "pass", key
        assert item["observedUnit"] == "ms"
        assert item["observedValue"] >= 0
        assert item["time"].endswith("Z")
    assert result.body["checks"]["dynamodb:responseTime"][0]["componentId"] == platform.table_name
    assert result.body["checks"]["secretsmanager:responseTime"][0]["componentId"] == platform.secret_arn


def test_deep_health_never_reads_the_secret_value(health_function: ModuleType) -> None:
    result = invoke(health_function, load_event("health/deep.json"))
    assert "sk_test" not in str(result.body)


def test_deep_health_is_forbidden_to_non_staff(health_function: ModuleType) -> None:
    result = invoke(health_function, load_event("health/deep_customer.json"))
    assert result.status == 403
    assert result.content_type == PROBLEM_JSON
    assert result.body["type"] == "urn:marquee:problem:forbidden"
    assert result.body["status"] == 403
    assert result.body["instance"] == "/health/deep"
    assert "checks" not in result.body


def test_deep_health_without_a_tenant_claim_is_forbidden(health_function: ModuleType) -> None:
    event = load_event("health/deep.json")
    del event["requestContext"]["authorizer"]["claims"]["custom:tenant_id"]
    result = invoke(health_function, event)
    assert result.status == 403
    assert result.body["type"] == "urn:marquee:problem:tenant-required"


def test_staff_group_in_a_header_does_not_grant_deep_health(health_function: ModuleType) -> None:
    event = load_event("health/deep_customer.json")
    event["headers"]["cognito:groups"] = "staff"
    event["multiValueHeaders"]["cognito:groups"] = ["staff"]
    assert invoke(health_function, event).status == 403


def test_missing_queue_fails_deep_health_with_503(health_function: ModuleType, platform: Platform) -> None:
    boto3.client("sqs", region_name=REGION).delete_queue(QueueUrl=platform.queue_url)
    result = invoke(health_function, load_event("health/deep.json"))
    assert result.status == 503
    assert result.content_type == HEALTH_JSON
    assert result.body["status"] == "fail"
    (sqs,) = result.body["checks"]["sqs:responseTime"]
    assert sqs["status"] == "fail"
    assert "NonExistentQueue" in sqs["output"] or "does not exist" in sqs["output"]
    others = {k: v[0]["status"] for k, v in result.body["checks"].items() if k != "sqs:responseTime"}
    assert set(others.values()) == {"pass"}


def test_missing_state_machine_fails_deep_health(health_function: ModuleType, platform: Platform) -> None:
    boto3.client("stepfunctions", region_name=REGION).delete_state_machine(stateMachineArn=platform.state_machine_arn)
    result = invoke(health_function, load_event("health/deep.json"))
    assert result.status == 503
    assert result.body["checks"]["stepfunctions:responseTime"][0]["status"] == "fail"


def test_unknown_route_is_a_404_problem(health_function: ModuleType) -> None:
    event = load_event("health/liveness.json")
    event.update(path="/health/shallow", resource="/health/shallow")
    result = invoke(health_function, event)
    assert result.status == 404
    assert result.content_type == PROBLEM_JSON


def test_cold_start_fails_naming_the_missing_variable(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in platform.health_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("STATE_MACHINE_ARN")
    with pytest.raises(ConfigurationError, match="STATE_MACHINE_ARN is not set"):
        load_function("health")
