"""Parity of Secrets Manager rotation on the local cloud (RotateSecret runs the four steps on the Lambda runner)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ROTATOR = """
import os, boto3
sm = boto3.client("secretsmanager")

def handler(event, context):
    step, arn, token = event["Step"], event["SecretId"], event["ClientRequestToken"]
    if os.environ.get("FAIL_AT") == step:
        raise RuntimeError(f"{step} failed")
    if step == "createSecret":
        sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString="new-value", VersionStages=["AWSPENDING"])
    elif step == "finishSecret":
        current = next(v for v, s in sm.describe_secret(SecretId=arn)["VersionIdsToStages"].items() if "AWSCURRENT" in s)
        sm.update_secret_version_stage(
            SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current
        )
    return {"ok": step}
"""


def _secret_with_rotation(aws: Callable[[str], Any], make_function: Any, name: str, **env: str) -> str:
    fn = make_function(ROTATOR, Environment={"Variables": env} if env else {})
    arn = aws("lambda").get_function(FunctionName=fn)["Configuration"]["FunctionArn"]
    secret = aws("secretsmanager").create_secret(Name=name, SecretString="old-value")["ARN"]
    aws("secretsmanager").rotate_secret(
        SecretId=secret, RotationLambdaARN=arn, RotationRules={"AutomaticallyAfterDays": 30}
    )
    return secret


def test_rotate_secret_without_an_arn_uses_the_configured_function(
    aws: Callable[[str], Any], make_function: Any
) -> None:
    """AWS: RotateSecret without RotationLambdaARN rotates with the function already configured on the secret."""
    secret = _secret_with_rotation(aws, make_function, "rotated-twice")
    aws("secretsmanager").rotate_secret(SecretId=secret)
    assert aws("secretsmanager").get_secret_value(SecretId=secret)["SecretString"] == "new-value"
    assert aws("secretsmanager").describe_secret(SecretId=secret)["RotationLambdaARN"]


def test_a_failed_step_leaves_the_current_version_in_place(aws: Callable[[str], Any], make_function: Any) -> None:
    """AWS: when a rotation step fails, AWSCURRENT stays on the old version and the new one keeps AWSPENDING."""
    fn = make_function(ROTATOR, Environment={"Variables": {"FAIL_AT": "testSecret"}})
    arn = aws("lambda").get_function(FunctionName=fn)["Configuration"]["FunctionArn"]
    secret = aws("secretsmanager").create_secret(Name="rotation-fails", SecretString="old-value")["ARN"]
    aws("secretsmanager").rotate_secret(
        SecretId=secret, RotationLambdaARN=arn, RotationRules={"AutomaticallyAfterDays": 30}
    )
    assert aws("secretsmanager").get_secret_value(SecretId=secret)["SecretString"] == "old-value"
    stages = aws("secretsmanager").describe_secret(SecretId=secret)["VersionIdsToStages"]
    assert sorted(s for v in stages.values() for s in v if s in ("AWSCURRENT", "AWSPENDING")) == [
        "AWSCURRENT",
        "AWSPENDING",
    ]
    assert (
        aws("secretsmanager").get_secret_value(SecretId=secret, VersionStage="AWSPENDING")["SecretString"]
        == "new-value"
    )
