"""Secrets (challenge 16): every provider secret (payments and notifications) rotates through one least-privilege
rotation function."""

from __future__ import annotations

import json
from typing import Any

from infra import constants

from .conftest import of_type

Resources = dict[str, dict[str, Any]]
ROTATION_ACTIONS = {
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
}


def _rotation_function(resources: Resources) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (logical_id, r)
        for logical_id, r in of_type(resources, "AWS::Lambda::Function").items()
        if r["Properties"]["Environment"]["Variables"].get("POWERTOOLS_SERVICE_NAME") == "secret_rotation"
    ]
    return found


def _provider_secret_ids(resources: Resources) -> set[str]:
    names = {constants.PAYMENT_PRIMARY_SECRET_NAME, constants.PAYMENT_SECONDARY_SECRET_NAME} | {
        f"{constants.NOTIFICATION_SECRET_PREFIX}{channel}-{role}"
        for channel in constants.NOTIFICATION_CHANNELS
        for role in constants.NOTIFICATION_PROVIDER_ROLES
    }
    return {
        k for k, r in of_type(resources, "AWS::SecretsManager::Secret").items() if r["Properties"].get("Name") in names
    }


def test_every_provider_secret_rotates_on_a_schedule_with_the_rotation_function(resources: Resources) -> None:
    function_id, _ = _rotation_function(resources)
    assert len(_provider_secret_ids(resources)) == 8  # 2 payment providers, 3 channels x (primary, backup)
    schedules = [r["Properties"] for r in of_type(resources, "AWS::SecretsManager::RotationSchedule").values()]
    assert {s["SecretId"]["Ref"] for s in schedules} == _provider_secret_ids(resources)
    for schedule in schedules:
        assert schedule["RotationLambdaARN"] == {"Fn::GetAtt": [function_id, "Arn"]}
        assert schedule["RotateImmediatelyOnUpdate"] is False
        rules = schedule["RotationRules"]
        assert (
            rules.get("ScheduleExpression") == f"rate({constants.SECRET_ROTATION_DAYS} days)"
            or rules.get("AutomaticallyAfterDays") == constants.SECRET_ROTATION_DAYS
        )


def test_only_secrets_manager_may_invoke_the_rotation_function(resources: Resources) -> None:
    function_id, _ = _rotation_function(resources)
    permissions = [
        p["Properties"]
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]
    assert permissions
    assert {p["Principal"] for p in permissions} == {"secretsmanager.amazonaws.com"}


def test_the_rotation_role_touches_only_the_provider_secrets(resources: Resources) -> None:
    _, function = _rotation_function(resources)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [
        s
        for p in of_type(resources, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    secret_ids = _provider_secret_ids(resources)
    granted: set[str] = set()
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        secret_actions = [a for a in actions if a.startswith("secretsmanager:")]
        if not secret_actions:
            continue
        if secret_actions == ["secretsmanager:GetRandomPassword"]:
            assert statement["Resource"] == "*"
            continue
        resources_of = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert {r["Ref"] for r in resources_of} <= secret_ids, resources_of
        granted.update(secret_actions)
    assert granted == ROTATION_ACTIONS


def test_no_function_environment_holds_a_secret_value(resources: Resources) -> None:
    secrets = of_type(resources, "AWS::SecretsManager::Secret")
    assert all("SecretString" not in s["Properties"] for s in secrets.values())
    for function in of_type(resources, "AWS::Lambda::Function").values():
        variables = json.dumps(function["Properties"].get("Environment", {}))
        assert "apiKey" not in variables
        assert "SecretString" not in variables
