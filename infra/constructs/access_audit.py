"""Sensitive-data audit (design question 7): the access trail and its unusual-access alerts.

    catalog (staff GET /customers/{id}/profile) --SendMessage--> trail queue (KMS) --> access_audit_writer
        --> trail bucket (SSE-KMS, TLS only, versioned, expires after the retention)
        --> audit table (KMS): rule state and tenants' security settings
        --> alerts: the notifications pipeline's email FIFO queue
    API: access_audit (compliance officers): GET /audit/access, GET/PUT /settings/security

One customer-managed KMS key (rotated yearly) encrypts the queue, its DLQ, the bucket and the table; every queue and
the bucket refuse requests that do not use TLS.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants
from infra.constructs.api import Api
from infra.constructs.function import PythonFunction
from infra.nag import Waiver, waive

CODE = "access_audit"
TRAIL_PREFIX = "access"  # marquee.audit.trail.PREFIX: every record's key starts with it
# What a function needs of the key to read and write the encrypted table, bucket and queue (no action wildcards).
KEY_USE = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]


class AccessAudit(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Api,
        layer: lambda_.ILayerVersion,
        target: str,
        alert_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)

        self.key = kms.Key(
            self,
            "Key",
            description="Marquee access trail: queue, bucket and audit table",
            enable_key_rotation=True,
            removal_policy=constants.REMOVAL_POLICY,
        )
        self.dlq = sqs.Queue(
            self,
            "TrailDeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=constants.DLQ_RETENTION,
            removal_policy=constants.REMOVAL_POLICY,
        )
        self.queue = sqs.Queue(
            self,
            "TrailQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(60),
            retention_period=Duration.days(14),  # a writer outage of up to two weeks loses no record
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=5),
            removal_policy=constants.REMOVAL_POLICY,
        )
        self.bucket = s3.Bucket(
            self,
            "TrailBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,  # an overwritten or deleted record stays recoverable until the lifecycle expires it
            # Write once: every record version is locked for the retention period. GOVERNANCE, not COMPLIANCE: a
            # principal granted s3:BypassGovernanceRetention (nobody in this stack) can still remove a record a
            # court or a regulator orders removed; no function's role can delete or shorten a locked version.
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.governance(
                Duration.days(constants.ACCESS_TRAIL_RETENTION_DAYS)
            ),
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="retention",
                    expiration=Duration.days(constants.ACCESS_TRAIL_RETENTION_DAYS),
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=constants.REMOVAL_POLICY,
        )
        waive(
            self.bucket,
            Waiver(
                "AwsSolutions-S1",
                "The bucket IS an access log (one object per read of personal data); its own reads go through "
                "GET /audit/access by compliance officers. S3 server access logs would need a second, unencrypted-"
                "by-KMS bucket; CloudTrail data events on it are the per-deployment option.",
            ),
        )
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute="expiresAt",
            removal_policy=constants.REMOVAL_POLICY,
        )
        storage = {"TRAIL_BUCKET_NAME": self.bucket.bucket_name, "AUDIT_TABLE_NAME": self.table.table_name}

        # ---- writer: trail queue -> bucket, rules, alerts -----------------------------------------------------------
        self.writer = PythonFunction(
            self,
            "Writer",
            name="access_audit_writer",
            code=CODE,
            handler="handler.write",
            description="Access trail writer: records -> encrypted bucket; unusual-access rules -> alert e-mails",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=Duration.seconds(30),
            environment={**storage, "ALERT_QUEUE_URL": alert_queue.queue_url},
        )
        self.writer.function.add_event_source(
            sources.SqsEventSource(self.queue, batch_size=10, report_batch_item_failures=True)
        )
        # Explicit, least-privilege statements (the grant_* helpers add action wildcards such as kms:ReEncrypt*).
        self._allow(self.writer.role, ["s3:PutObject"], [self.bucket.arn_for_objects(f"{TRAIL_PREFIX}/*")])
        self._allow(self.writer.role, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"], [self.table.table_arn])
        self._allow(self.writer.role, KEY_USE, [self.key.key_arn])
        alert_queue.grant_send_messages(self.writer.role)

        # ---- API: compliance officers ---------------------------------------------------------------------------
        self.api_function = PythonFunction(
            self,
            "Api",
            name="access_audit",
            code=CODE,
            handler="handler.api",
            description="Access trail (GET /audit/access) and security settings, for compliance officers",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=Duration.seconds(15),
            environment=storage,
        )
        self._allow(self.api_function.role, ["s3:ListBucket"], [self.bucket.bucket_arn])
        self._allow(self.api_function.role, ["s3:GetObject"], [self.bucket.arn_for_objects(f"{TRAIL_PREFIX}/*")])
        self._allow(self.api_function.role, ["dynamodb:GetItem", "dynamodb:PutItem"], [self.table.table_arn])
        self._allow(self.api_function.role, KEY_USE, [self.key.key_arn])
        for method, path in (("GET", "/audit/access"), ("GET", "/settings/security"), ("PUT", "/settings/security")):
            api.add_route(method, path, self.api_function.function)

        objects = f"Resource::<{Stack.of(self).resolve(self.bucket.node.default_child.logical_id)}.Arn>/{TRAIL_PREFIX}/*"  # type: ignore[union-attr]
        for role in (self.writer.role, self.api_function.role):
            waive(
                role,
                Waiver(
                    "AwsSolutions-IAM5",
                    "S3 object permissions name objects by key: one object per access record, all under the trail's "
                    f"'{TRAIL_PREFIX}/' prefix in this construct's bucket.",
                    finding=objects,
                ),
            )

    def grant_record(self, role: iam.IRole) -> dict[str, str]:
        """Let ``role`` send access records (SendMessage, and the key to encrypt them); the variable it needs."""
        self._allow(role, ["sqs:SendMessage"], [self.queue.queue_arn])
        self._allow(role, ["kms:GenerateDataKey", "kms:Decrypt"], [self.key.key_arn])
        return {"ACCESS_TRAIL_QUEUE_URL": self.queue.queue_url}

    @staticmethod
    def _allow(role: iam.IRole, actions: list[str], resources: list[str]) -> None:
        role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=resources))
