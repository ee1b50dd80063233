"""AWS::SQS::QueuePolicy and AWS::S3::BucketPolicy: resource policies set on existing queues and buckets."""

from __future__ import annotations

import json
from typing import Any

from moto.s3.models import s3_backends
from moto.sqs.models import sqs_backends

from .base import Context, FillIn, random_name_suffix, require


def _policy_text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def _queue_name(queue_url: str) -> str:
    """Queues is a list of queue URLs (what Ref on AWS::SQS::Queue returns); the name is the last path segment."""
    return queue_url.rstrip("/").rsplit("/", 1)[-1]


class QueuePolicy(FillIn):
    """Sets the `Policy` attribute of every queue in Queues; deleting it clears the attribute again."""

    CFN_TYPE = "AWS::SQS::QueuePolicy"
    ATTRIBUTES = frozenset({"Id"})

    def __init__(self, ctx: Context, physical_id: str, queue_names: list[str]) -> None:
        super().__init__(ctx, physical_id, {"Id": physical_id})
        self.queue_names = queue_names

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> QueuePolicy:
        queue_names = [_queue_name(url) for url in require(props, "Queues", cls.CFN_TYPE)]
        policy = _policy_text(require(props, "PolicyDocument", cls.CFN_TYPE))
        backend = sqs_backends[ctx.account_id][ctx.region_name]
        for name in queue_names:
            backend.set_queue_attributes(name, {"Policy": policy})
        # On AWS the physical id is a generated string like <stack>-<logicalId>-<random>.
        return cls(ctx, f"{ctx.stack_name}-{ctx.logical_id}-{random_name_suffix()}", queue_names)

    def remove(self) -> None:
        backend = sqs_backends[self.ctx.account_id][self.ctx.region_name]
        for name in self.queue_names:
            if name in backend.queues:
                backend.set_queue_attributes(name, {"Policy": ""})

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        self.remove()
        replacement = type(self).create(self.ctx, props)
        replacement._physical_id = self.physical_resource_id
        replacement.attributes = dict(self.attributes)
        return replacement


class BucketPolicy(FillIn):
    """PutBucketPolicy on Bucket; deleting it is DeleteBucketPolicy. The CDK bootstrap stack uses this type."""

    CFN_TYPE = "AWS::S3::BucketPolicy"

    def __init__(self, ctx: Context, physical_id: str, bucket: str) -> None:
        super().__init__(ctx, physical_id)
        self.bucket = bucket

    @staticmethod
    def _backend(ctx: Context) -> Any:
        return s3_backends[ctx.account_id][ctx.partition]

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> BucketPolicy:
        bucket = require(props, "Bucket", cls.CFN_TYPE)
        policy = _policy_text(require(props, "PolicyDocument", cls.CFN_TYPE))
        cls._backend(ctx).put_bucket_policy(bucket, policy.encode("utf-8"))
        return cls(ctx, f"{ctx.stack_name}-{ctx.logical_id}-{random_name_suffix()}", bucket)

    def remove(self) -> None:
        backend = self._backend(self.ctx)
        if self.bucket in backend.buckets:
            backend.delete_bucket_policy(self.bucket)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        if props.get("Bucket") != self.bucket:
            return super().update(props, new_resource_name)
        policy = _policy_text(require(props, "PolicyDocument", self.CFN_TYPE))
        self._backend(self.ctx).put_bucket_policy(self.bucket, policy.encode("utf-8"))
        return self
