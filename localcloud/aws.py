"""boto3 clients pointed at a local cloud, with moto's fixed test credentials (moto accepts any)."""

from __future__ import annotations

from typing import Any

import boto3

TEST_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}  # noqa: S105 - not a secret
REGION = "us-east-1"


def local_client(service: str, endpoint_url: str, region: str = REGION, **kwargs: Any) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=endpoint_url, **TEST_CREDENTIALS, **kwargs)
