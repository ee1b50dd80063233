"""Each endpoint's signing secrets in Secrets Manager: a JSON ``SecretDocument`` (current and, during an overlap window,
previous), read through Powertools parameters with a cache; values are never logged."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from marquee.core import aws
from marquee.webhooks.signing import new_secret


class SecretDocument(BaseModel):
    """An endpoint's secret in Secrets Manager: the current secret and, during an overlap window, the previous one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    current: str = Field(repr=False)
    previous: str | None = Field(default=None, repr=False)
    previous_expires_at: int | None = None

    def signing_keys(self, now: float) -> list[str]:
        keys = [self.current]
        if self.previous and self.previous_expires_at and now < self.previous_expires_at:
            keys.append(self.previous)
        return keys


class SigningSecrets:
    """Endpoint secrets in Secrets Manager. Reads go through Powertools parameters, cached for ``max_age`` seconds."""

    def __init__(self, *, max_age: int, client: Any | None = None) -> None:
        self.max_age = max_age
        self._client = client
        self._provider: SecretsProvider | None = None

    @property
    def client(self) -> Any:
        return self._client or aws.secretsmanager()

    @property
    def provider(self) -> SecretsProvider:
        if self._provider is None:
            self._provider = SecretsProvider(boto3_client=self.client)
        return self._provider

    def create(self, name: str, *, description: str) -> SecretDocument:
        document = SecretDocument(version=1, current=new_secret())
        self.client.create_secret(Name=name, Description=description, SecretString=document.model_dump_json())
        return document

    def read(self, name: str, *, min_version: int = 0) -> SecretDocument:
        """The cached document, fetched again when it is older than the version the endpoint item names."""
        document = SecretDocument.model_validate(self.provider.get(name, transform="json", max_age=self.max_age))
        if document.version < min_version:
            document = SecretDocument.model_validate(
                self.provider.get(name, transform="json", max_age=self.max_age, force_fetch=True)
            )
        return document

    def rotate(self, name: str, *, version: int, overlap_seconds: int, now: float) -> SecretDocument:
        """Make a new current secret; the old one keeps signing until ``now + overlap_seconds``."""
        old = SecretDocument.model_validate(self.provider.get(name, transform="json", force_fetch=True))
        document = SecretDocument(
            version=version,
            current=new_secret(),
            previous=old.current,
            previous_expires_at=int(now + overlap_seconds),
        )
        self.client.put_secret_value(SecretId=name, SecretString=document.model_dump_json())
        return document

    def delete(self, name: str) -> None:
        try:
            self.client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
