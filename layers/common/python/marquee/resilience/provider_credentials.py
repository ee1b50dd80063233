"""Credentials of an external provider (payments, notifications): a Secrets Manager secret `{"url", "apiKey"}`, read at
run time through Powertools parameters with a cache. Errors never carry the value: parsers quote their input, so their
exceptions are neither included nor chained (a chained cause ends up in a logged traceback)."""

from __future__ import annotations

import json
from functools import cache

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from marquee.core import aws


class ProviderCredentials(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    url: str = Field(min_length=1)
    api_key: str = Field(alias="apiKey", min_length=1, repr=False)


class CredentialsUnusable(Exception):
    """The secret exists but is not a `{url, apiKey}` document. The message names the secret, never its value."""


@cache
def secrets_provider() -> SecretsProvider:
    return SecretsProvider(boto3_client=aws.secretsmanager())


def read_credentials(secret_id: str, *, max_age_s: int, force_fetch: bool = False) -> ProviderCredentials:
    """Raises Powertools' ``GetParameterError`` when the secret cannot be read, ``CredentialsUnusable`` when malformed."""
    raw = secrets_provider().get(secret_id, max_age=max_age_s, force_fetch=force_fetch)
    try:
        if not isinstance(raw, str | bytes):
            raise ValueError("not a string secret")
        return ProviderCredentials.model_validate(json.loads(raw))
    except (ValueError, ValidationError):
        raise CredentialsUnusable(f"secret {secret_id} is not a {{url, apiKey}} document") from None
