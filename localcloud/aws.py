"""boto3 clients pointed at a local cloud, with moto's fixed test credentials (moto accepts any)."""

from __future__ import annotations

from typing import Any

TEST_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}  # noqa: S105 - not a secret
REGION = "us-east-1"


def local_client(service: str, endpoint_url: str, region: str = REGION, **kwargs: Any) -> Any:
    import boto3

    return boto3.client(service, region_name=region, endpoint_url=endpoint_url, **TEST_CREDENTIALS, **kwargs)


def client_errors() -> tuple[Any, ...]:
    """botocore's ClientError and BotoCoreError, for ``except client_errors():``.

    An except clause's expression is evaluated only when an exception reaches it, so the cloud's modules can catch
    botocore's errors without importing botocore (0.2 s) at start: by the time one is raised, a client imported it.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def client_error() -> Any:
    """botocore's ClientError, for ``except client_error():`` (see :func:`client_errors`)."""
    from botocore.exceptions import ClientError

    return ClientError


def botocore_error() -> Any:
    """botocore's BotoCoreError, for ``except botocore_error():`` (see :func:`client_errors`)."""
    from botocore.exceptions import BotoCoreError

    return BotoCoreError


def botocore_config(**settings: Any) -> Any:
    """``botocore.config.Config(**settings)``, imported when the first client is made."""
    from botocore.config import Config

    return Config(**settings)
