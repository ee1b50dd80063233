"""Imports (challenge 15): the imports bucket, the API that hands out presigned multipart URLs, and the validator the
bucket notifies on ObjectCreated (the coordinator, which invokes itself as a range validator for big files).

The bucket's notification names the validator, so the validator must not reference the bucket (a cycle through its
role's policy): the bucket has a fixed name (account and region), and the validator's S3 grants are written with that
name, not with the bucket's token. ``NotificationConfiguration`` is the bucket's own CloudFormation property
(never CDK's custom resource, which the local cloud does not run).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration, Fn
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants
from infra.constructs.api import Api
from infra.constructs.function import PythonFunction
from infra.constructs.tenant_access import TenantAccess
from infra.nag import Waiver, waive

MIB = 1024 * 1024


class Imports(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Api,
        layer: lambda_.ILayerVersion,
        target: str,
        tenant_access: TenantAccess,
    ) -> None:
        super().__init__(scope, construct_id)
        # The validator has a fixed name, so that it can invoke itself (range tasks; a publish handed on to a fresh
        # invocation) with its ARN built from the name: its own ARN token in its role's policy would be a cycle
        # (function -> role's default policy -> function). The API resumes stalled publishes through the same ARN.
        # Unqualified only: no version or alias ("ARN:*", which grant_invoke would add) is ever invoked.
        validator_arn = Fn.join(
            "",
            ["arn:", Aws.PARTITION, ":lambda:", Aws.REGION, ":", Aws.ACCOUNT_ID, ":function:",
             constants.IMPORT_VALIDATOR_FUNCTION_NAME],
        )  # fmt: skip
        bucket_name = Fn.join("-", ["marquee-imports", Aws.ACCOUNT_ID, Aws.REGION])
        bucket_arn = Fn.join("", ["arn:", Aws.PARTITION, ":s3:::", bucket_name])
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=constants.REMOVAL_POLICY,
            lifecycle_rules=[
                s3.LifecycleRule(
                    abort_incomplete_multipart_upload_after=Duration.days(constants.IMPORT_ABORT_INCOMPLETE_UPLOAD_DAYS)
                ),
                s3.LifecycleRule(prefix="imports/", expiration=Duration.days(30)),
                s3.LifecycleRule(prefix="reports/", expiration=Duration.days(90)),
            ],
        )
        waive(
            self.bucket,
            Waiver(
                "AwsSolutions-S1", "Uploads are audited by the import jobs (who, when, what); no access-log bucket."
            ),
        )

        self.api = PythonFunction(
            self,
            "Api",
            name="imports",
            description="Imports: a job and its presigned multipart upload, resume (ListParts), complete, abort, status",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=Duration.seconds(29),
            environment={
                "IMPORTS_BUCKET": self.bucket.bucket_name,
                "PART_SIZE_BYTES": str(constants.IMPORT_PART_SIZE_BYTES),
                "URL_EXPIRY_SECONDS": str(constants.IMPORT_URL_EXPIRY_SECONDS),
                "ABORT_INCOMPLETE_UPLOAD_DAYS": str(constants.IMPORT_ABORT_INCOMPLETE_UPLOAD_DAYS),
                "VALIDATOR_FUNCTION_NAME": constants.IMPORT_VALIDATOR_FUNCTION_NAME,
            },
        )
        tenant_access.grant_to(self.api)
        # Presigned URLs carry the signer's permissions: UploadPart (s3:PutObject), ListParts, and reading reports;
        # AbortMultipartUpload for DELETE /imports/{id}.
        self.api.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
                resources=[self.bucket.arn_for_objects("imports/*")],
            )
        )
        # After NoSuchUpload: was the upload completed (its object is listed) or aborted? Listing under imports/ only.
        self.api.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": ["imports/*"]}},
            )
        )
        self.api.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[self.bucket.arn_for_objects("reports/*")])
        )
        # POST /imports/{id}/resume: an asynchronous Invoke of the validator, and of nothing else.
        self.api.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[validator_arn])
        )
        waive(
            self.api.role,
            *(
                Waiver(
                    "AwsSolutions-IAM5", "One object per job under the prefix; keys are per tenant and job.", finding=f
                )
                for f in (
                    "Resource::<ImportsBucketB463A28B.Arn>/imports/*",
                    "Resource::<ImportsBucketB463A28B.Arn>/reports/*",
                )
            ),
        )
        for method, path in (
            ("POST", "/imports"),
            ("GET", "/imports/{importId}"),
            ("DELETE", "/imports/{importId}"),
            ("POST", "/imports/{importId}/parts"),
            ("POST", "/imports/{importId}/complete"),
            ("POST", "/imports/{importId}/resume"),
        ):
            api.add_route(method, path, self.api.function)

        # One function for its three roles (coordinator, range validator, publisher handing on to itself): the stack is
        # near CloudFormation's 500 resources.
        self.validator = PythonFunction(
            self,
            "Validator",
            name="import-validator",
            code="import_validator",
            description="Imports: on ObjectCreated, validates the file (itself, or by byte ranges it invokes itself "
            "for, in parallel), reports, and publishes it through the catalog",
            layer=layer,
            target=target,
            memory_size=constants.IMPORT_VALIDATOR_MEMORY_MB,
            timeout=Duration.minutes(15),
            environment={
                "IMPORTS_BUCKET": bucket_name,
                "RANGE_BYTES": str(constants.IMPORT_RANGE_BYTES),
                "MAX_PARALLEL_RANGES": str(constants.IMPORT_MAX_PARALLEL_RANGES),
                "DEFAULT_HOLD_LEASE_SECONDS": str(constants.HOLD_LEASE_DEFAULT_SECONDS),
                "MAX_ERRORS_PER_FIELD": str(constants.IMPORT_MAX_ERRORS_PER_FIELD),
                "RANGE_FUNCTION_NAME": constants.IMPORT_VALIDATOR_FUNCTION_NAME,
            },
        )
        cfn_function: Any = self.validator.function.node.default_child
        cfn_function.function_name = constants.IMPORT_VALIDATOR_FUNCTION_NAME
        tenant_access.grant_to(self.validator)
        role = self.validator.role
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[Fn.join("", [bucket_arn, "/imports/*"])])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[Fn.join("", [bucket_arn, "/reports/*"])])
        )
        role.add_to_principal_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[validator_arn]))
        waive(
            role,
            *(
                Waiver(
                    "AwsSolutions-IAM5",
                    "One object per job under the prefix (imports/ to read, reports/ to write); keys are per tenant "
                    "and job.",
                    finding=f"Resource::arn:<AWS::Partition>:s3:::marquee-imports-<AWS::AccountId>-<AWS::Region>/{p}/*",
                )
                for p in ("imports", "reports")
            ),
        )
        permission = lambda_.CfnPermission(
            self,
            "S3InvokesValidator",
            action="lambda:InvokeFunction",
            function_name=self.validator.function.function_name,
            principal="s3.amazonaws.com",
            source_account=Aws.ACCOUNT_ID,
            source_arn=bucket_arn,
        )
        cfn_bucket: Any = self.bucket.node.default_child
        cfn_bucket.add_property_override(
            "NotificationConfiguration",
            {
                "LambdaConfigurations": [
                    {
                        "Event": "s3:ObjectCreated:*",
                        "Function": self.validator.function.function_arn,
                        "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "imports/"}]}},
                    }
                ]
            },
        )
        self.bucket.node.add_dependency(permission)  # S3 checks it may invoke the function when the notification is set
