"""The access trail's infrastructure (design question 7): encrypted at rest with one rotated customer-managed key,
TLS-only in transit, retained for a fixed time, and reachable only through least-privilege grants."""

from __future__ import annotations

from typing import Any

from infra import constants

from .conftest import of_type

Resources = dict[str, dict[str, Any]]


def _only(resources: Resources, kind: str, marker: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(n, r["Properties"]) for n, r in of_type(resources, kind).items() if n.startswith(marker)]
    return found


def _function(resources: Resources, service: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (n, f["Properties"])
        for n, f in of_type(resources, "AWS::Lambda::Function").items()
        if f["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == service
    ]
    return found


def _key(resources: Resources) -> str:
    name, props = _only(resources, "AWS::KMS::Key", "AccessAuditKey")
    assert props["EnableKeyRotation"] is True
    return name


def test_queue_dlq_bucket_and_table_are_encrypted_with_the_rotated_audit_key(resources: Resources) -> None:
    key = {"Fn::GetAtt": [_key(resources), "Arn"]}
    queues = {n: p for n, r in of_type(resources, "AWS::SQS::Queue").items() if n.startswith("AccessAudit")
              for p in [r["Properties"]]}  # fmt: skip
    assert len(queues) == 2 and all(p["KmsMasterKeyId"] == key for p in queues.values())
    _, bucket = _only(resources, "AWS::S3::Bucket", "AccessAuditTrailBucket")
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    assert rule["BucketKeyEnabled"] is True
    assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    _, table = _only(resources, "AWS::DynamoDB::Table", "AccessAuditTable")
    assert table["SSESpecification"]["SSEEnabled"] is True and table["SSESpecification"]["KMSMasterKeyId"] == key


def _denies_plain_http(document: dict[str, Any]) -> bool:
    return any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for s in document["Statement"]
    )


def test_the_bucket_and_both_queues_refuse_requests_without_tls(resources: Resources) -> None:
    _, policy = _only(resources, "AWS::S3::BucketPolicy", "AccessAuditTrailBucketPolicy")
    assert _denies_plain_http(policy["PolicyDocument"])
    queue_policies = [p["Properties"] for n, p in of_type(resources, "AWS::SQS::QueuePolicy").items()
                      if n.startswith("AccessAudit")]  # fmt: skip
    assert len(queue_policies) == 2 and all(_denies_plain_http(p["PolicyDocument"]) for p in queue_policies)


def test_records_expire_after_the_retention_and_versions_are_kept(resources: Resources) -> None:
    _, bucket = _only(resources, "AWS::S3::Bucket", "AccessAuditTrailBucket")
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == constants.ACCESS_TRAIL_RETENTION_DAYS and rule["Status"] == "Enabled"
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"


def test_every_record_version_is_write_once_for_the_retention(resources: Resources) -> None:
    _, bucket = _only(resources, "AWS::S3::Bucket", "AccessAuditTrailBucket")
    assert bucket["ObjectLockEnabled"] is True
    retention = bucket["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert retention == {"Mode": "GOVERNANCE", "Days": constants.ACCESS_TRAIL_RETENTION_DAYS}
    granted = [
        action
        for r in of_type(resources, "AWS::IAM::Policy").values()
        for statement in r["Properties"]["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    ]
    assert not [a for a in granted if a in ("s3:BypassGovernanceRetention", "s3:PutObjectRetention", "s3:*")]


def test_the_catalog_sends_records_and_the_writer_consumes_them_with_partial_failures(resources: Resources) -> None:
    queue, _ = _only(resources, "AWS::SQS::Queue", "AccessAuditTrailQueue")
    _, catalog = _function(resources, "catalog")
    assert catalog["Environment"]["Variables"]["ACCESS_TRAIL_QUEUE_URL"] == {"Ref": queue}
    writer, props = _function(resources, "access_audit_writer")
    assert props["Handler"] == "functions.access_audit.handler.write"
    (mapping,) = [m["Properties"] for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
                  if m["Properties"]["FunctionName"] == {"Ref": writer}]  # fmt: skip
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_no_audit_grant_uses_an_action_wildcard(resources: Resources) -> None:
    policies = [p["Properties"]["PolicyDocument"] for n, p in of_type(resources, "AWS::IAM::Policy").items()
                if n.startswith(("AccessAudit", "CatalogHandler"))]  # fmt: skip
    statements = [s for document in policies for s in document["Statement"]]
    actions = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    audit = [a for a in actions if a.startswith(("kms:", "s3:"))]
    assert "kms:GenerateDataKey" in audit and not [a for a in audit if "*" in a]


def test_compliance_officers_are_a_cognito_group(resources: Resources) -> None:
    groups = {g["Properties"]["GroupName"] for g in of_type(resources, "AWS::Cognito::UserPoolGroup").values()}
    assert constants.GROUP_COMPLIANCE in groups
