"""S3 parity: a bucket declared in CloudFormation is versioned, write-once (Object Lock) and expiring as declared
(localcloud/s3/bucket_settings.py). moto's own model read only its encryption and tags, so a locked audit record
could be deleted locally while AWS refuses it."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _deploy(aws: Callable[[str], Any], properties: dict[str, Any]) -> str:
    stack = f"bucket-settings-{uuid.uuid4().hex[:8]}"
    name = f"settings-{uuid.uuid4().hex[:10]}"
    template = {"Resources": {"Trail": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": name, **properties}}}}
    cfn = aws("cloudformation")
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    for _ in range(100):
        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        if status.endswith("_COMPLETE") or status.endswith("_FAILED"):
            break
        time.sleep(0.1)
    assert status == "CREATE_COMPLETE", status
    return name


LOCKED = {
    "ObjectLockEnabled": True,
    "ObjectLockConfiguration": {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1825}},
    },
    "VersioningConfiguration": {"Status": "Enabled"},
    "LifecycleConfiguration": {
        "Rules": [
            {
                "Id": "retention",
                "Status": "Enabled",
                "ExpirationInDays": 1825,
                "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            }
        ]
    },
}


def test_a_locked_bucket_keeps_every_record_version_as_aws_does(aws: Callable[[str], Any]) -> None:
    s3 = aws("s3")
    bucket = _deploy(aws, LOCKED)
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    assert lock["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE"
    assert lock["Rule"]["DefaultRetention"]["Days"] == 1825
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["ID"] == "retention" and rule["Expiration"]["Days"] == 1825
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30

    version = s3.put_object(Bucket=bucket, Key="trail/record.json", Body=b"{}")["VersionId"]
    head = s3.head_object(Bucket=bucket, Key="trail/record.json", VersionId=version)
    assert head["ObjectLockMode"] == "GOVERNANCE"  # the default retention reached the new version
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=bucket, Key="trail/record.json", VersionId=version)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    # A delete without a version only adds a delete marker: the record itself stays readable by version.
    s3.delete_object(Bucket=bucket, Key="trail/record.json")
    assert s3.get_object(Bucket=bucket, Key="trail/record.json", VersionId=version)["Body"].read() == b"{}"
    # GOVERNANCE: a principal allowed to bypass it may (COMPLIANCE would refuse even that).
    s3.delete_object(Bucket=bucket, Key="trail/record.json", VersionId=version, BypassGovernanceRetention=True)


def test_a_bucket_without_those_settings_stays_unversioned_and_unlocked(aws: Callable[[str], Any]) -> None:
    s3 = aws("s3")
    bucket = _deploy(aws, {})
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    with pytest.raises(ClientError) as missing:
        s3.get_object_lock_configuration(Bucket=bucket)
    assert missing.value.response["Error"]["Code"] == "ObjectLockConfigurationNotFoundError"
    s3.put_object(Bucket=bucket, Key="x", Body=b"1")
    s3.delete_object(Bucket=bucket, Key="x")
