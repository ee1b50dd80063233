"""Imports' infrastructure (challenge 15): the bucket notifies the validator natively, uploads do not linger, and the
validator's grants are exact."""

from __future__ import annotations

import json
from typing import Any

from infra import constants
from localcloud.cloudformation.update_order import references  # the local cloud's own dependency reading

from .conftest import of_type

Resources = dict[str, dict[str, Any]]


def _bucket(resources: Resources) -> dict[str, Any]:
    (bucket,) = [
        b["Properties"]
        for b in of_type(resources, "AWS::S3::Bucket").values()
        if "NotificationConfiguration" in b["Properties"]
    ]
    return bucket


def _validator(resources: Resources) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (name, f["Properties"])
        for name, f in of_type(resources, "AWS::Lambda::Function").items()
        if f["Properties"].get("FunctionName") == constants.IMPORT_VALIDATOR_FUNCTION_NAME
    ]
    return found


def test_object_created_under_imports_invokes_the_validator_through_the_buckets_own_property(
    resources: Resources,
) -> None:
    name, _ = _validator(resources)
    (target,) = _bucket(resources)["NotificationConfiguration"]["LambdaConfigurations"]
    assert target["Event"] == "s3:ObjectCreated:*"
    assert target["Function"] == {"Fn::GetAtt": [name, "Arn"]}
    assert target["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "imports/"}]
    assert not [r for r in resources.values() if r["Type"].startswith("Custom::S3BucketNotifications")]
    (permission,) = [
        p["Properties"]
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "s3.amazonaws.com"
    ]
    assert permission["FunctionName"] == {"Ref": name} and "SourceAccount" in permission


def test_incomplete_uploads_are_aborted_and_uploads_and_reports_expire(resources: Resources) -> None:
    rules = _bucket(resources)["LifecycleConfiguration"]["Rules"]
    assert {"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}, "Status": "Enabled"} in rules
    assert {r.get("Prefix") for r in rules if "ExpirationInDays" in r} == {"imports/", "reports/"}


def test_the_validator_reads_uploads_writes_reports_and_invokes_only_itself(resources: Resources) -> None:
    name, validator = _validator(resources)
    role = validator["Role"]["Fn::GetAtt"][0]
    statements = [
        s
        for p in of_type(resources, "AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    text = {json.dumps(s["Action"]): json.dumps(s["Resource"]) for s in statements}
    assert "/imports/*" in text['"s3:GetObject"'] and "/reports/*" in text['"s3:PutObject"']
    assert constants.IMPORT_VALIDATOR_FUNCTION_NAME in text['"lambda:InvokeFunction"']
    assert validator["Timeout"] == 900 and validator["Environment"]["Variables"]["RANGE_FUNCTION_NAME"] == (
        constants.IMPORT_VALIDATOR_FUNCTION_NAME
    )


def test_the_api_can_abort_uploads_knows_the_lifecycle_horizon_and_serves_delete(resources: Resources) -> None:
    (api,) = [
        f["Properties"]
        for f in of_type(resources, "AWS::Lambda::Function").values()
        if f["Properties"]["Environment"]["Variables"].get("POWERTOOLS_SERVICE_NAME") == "imports"
    ]
    variables = api["Environment"]["Variables"]
    assert variables["ABORT_INCOMPLETE_UPLOAD_DAYS"] == str(constants.IMPORT_ABORT_INCOMPLETE_UPLOAD_DAYS)
    rules = _bucket(resources)["LifecycleConfiguration"]["Rules"]
    assert {"DaysAfterInitiation": constants.IMPORT_ABORT_INCOMPLETE_UPLOAD_DAYS} in [
        r.get("AbortIncompleteMultipartUpload") for r in rules
    ]
    role = api["Role"]["Fn::GetAtt"][0]
    statements = [
        s
        for p in of_type(resources, "AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    (abort,) = [s for s in statements if "s3:AbortMultipartUpload" in s["Action"]]
    assert json.dumps(abort["Resource"]).endswith('"/imports/*"]]}')
    (listing,) = [s for s in statements if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["imports/*"]}}
    assert "/" not in json.dumps(listing["Resource"])  # the bucket itself, not its objects
    deletes = [
        m["Properties"]
        for m in of_type(resources, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "DELETE"
        and m["Properties"]["ResourceId"]["Ref"].startswith("ApiRestApiimportsimportId")
    ]
    assert len(deletes) == 1 and deletes[0]["AuthorizationType"] == "COGNITO_USER_POOLS"


def _statements(resources: Resources, function: dict[str, Any]) -> list[dict[str, Any]]:
    role = function["Role"]["Fn::GetAtt"][0]
    return [
        s
        for p in of_type(resources, "AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


VALIDATOR_ARN = (
    "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:" + constants.IMPORT_VALIDATOR_FUNCTION_NAME
)


def _joined(value: Any) -> str:
    """An ``Fn::Join`` of strings and pseudo-parameter Refs as one string (``${AWS::Region}`` for a Ref)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return "${" + value["Ref"] + "}"
    separator, parts = value["Fn::Join"]
    return str(separator).join(_joined(p) for p in parts)


def test_the_validator_and_the_resume_route_may_invoke_exactly_the_validator_and_nothing_else(
    resources: Resources,
) -> None:
    """The handoff (validator -> itself) and the resume (API -> validator): one statement each, whose only resource is
    the validator's unqualified ARN, built from its fixed name (no version or alias wildcard, no other function)."""
    _, validator = _validator(resources)
    (api,) = [
        f["Properties"]
        for f in of_type(resources, "AWS::Lambda::Function").values()
        if f["Properties"]["Environment"]["Variables"].get("POWERTOOLS_SERVICE_NAME") == "imports"
    ]
    assert api["Environment"]["Variables"]["VALIDATOR_FUNCTION_NAME"] == constants.IMPORT_VALIDATOR_FUNCTION_NAME
    for function in (validator, api):
        invokes = [s for s in _statements(resources, function) if "lambda:InvokeFunction" in json.dumps(s["Action"])]
        assert len(invokes) == 1, invokes
        assert invokes[0]["Action"] == "lambda:InvokeFunction" and invokes[0]["Effect"] == "Allow"
        assert _joined(invokes[0]["Resource"]) == VALIDATOR_ARN


def test_the_template_has_no_dependency_cycle_through_the_validators_self_invocation(resources: Resources) -> None:
    """What CloudFormation would refuse ("Circular dependency between resources"): a topological order of every
    resource over its Ref, GetAtt, Sub and DependsOn edges must exist, and the validator's policy must not name it."""
    edges = {
        name: (references(r.get("Properties", {})) | set(_as_list(r.get("DependsOn")))) & set(resources)
        for name, r in resources.items()
    }
    remaining = dict(edges)
    while remaining:
        ready = [n for n, deps in remaining.items() if not deps & set(remaining)]
        assert ready, f"a cycle among: {sorted(remaining)[:20]}"
        for name in ready:
            del remaining[name]
    name, validator = _validator(resources)
    role = validator["Role"]["Fn::GetAtt"][0]
    policies = [
        n for n, p in of_type(resources, "AWS::IAM::Policy").items() if {"Ref": role} in p["Properties"]["Roles"]
    ]
    assert policies and all(name not in edges[p] for p in policies)


def _as_list(value: Any) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)
