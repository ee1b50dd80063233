"""The trail bucket: one object per access record, under its tenant and customer, read back a page at a time.

Key: ``access/{tenantId}/{customerId}/{at:%Y%m%dT%H%M%S%fZ}-{recordId}.json``. Every key starts from the tenant, so a
compliance officer's listing (``ListObjectsV2`` with that prefix) can only ever see their own tenant's records, and S3
lists keys in order, so a page is oldest first and its cursor is the last key's name after the prefix. The bucket is
encrypted with the audit KMS key (SSE-KMS, bucket key on), refuses plain HTTP, and expires objects after the retention.
"""

from __future__ import annotations

import re
from typing import Any

from marquee.audit.access import AccessRecord
from marquee.core import aws
from marquee.core.errors import BadRequestError
from marquee.tenancy.tenant import TenantContext

PREFIX = "access"
CURSOR = re.compile(r"^[0-9]{8}T[0-9]{12}Z-[0-9a-f]{32}\.json$")


def customer_prefix(tenant_id: str, customer_id: str) -> str:
    return f"{PREFIX}/{tenant_id}/{customer_id}/"


def record_key(record: AccessRecord) -> str:
    return (
        f"{customer_prefix(record.tenant_id, record.customer_id)}{record.at:%Y%m%dT%H%M%S%f}Z-{record.record_id}.json"
    )


class TrailBucket:
    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        return self._client if self._client is not None else aws.s3()

    def put(self, record: AccessRecord) -> str:
        """Store ``record`` (idempotent: a redelivered record writes the same key with the same bytes)."""
        key = record_key(record)
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=record.model_dump_json(by_alias=True).encode(),
            ContentType="application/json",
            ServerSideEncryption="aws:kms",  # the bucket's default key; explicit so a policy can require it
            # The bucket is write-once (Object Lock): S3 requires an integrity checksum on every put to it, and an
            # older runtime's boto3 sends none unless asked.
            ChecksumAlgorithm="SHA256",
        )
        return key

    def page(
        self, tenant: TenantContext, customer_id: str, *, limit: int, cursor: str | None = None
    ) -> tuple[list[AccessRecord], str | None]:
        """The customer's records in ``tenant``, oldest first, and the cursor of the next page (None at the end)."""
        prefix = customer_prefix(tenant.tenant_id, customer_id)
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": limit}
        if cursor is not None:
            if not CURSOR.match(cursor):
                raise BadRequestError("The cursor is not one this API returned.")
            kwargs["StartAfter"] = prefix + cursor
        listing = self.client.list_objects_v2(**kwargs)
        keys = [item["Key"] for item in listing.get("Contents", [])]
        records = [
            AccessRecord.model_validate_json(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
            for key in keys
        ]
        more = listing.get("IsTruncated") and keys
        return records, (keys[-1][len(prefix) :] if more else None)
