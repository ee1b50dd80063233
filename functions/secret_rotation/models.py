"""Rotation event, environment, the provider-secret document, typed errors and the two ports the steps use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from marquee.core.env import BaseEnv
from marquee.core.errors import MarqueeError

AWSCURRENT = "AWSCURRENT"
AWSPENDING = "AWSPENDING"


class RotationEnv(BaseEnv):
    provider_timeout_ms: int = Field(gt=0)
    api_key_length: int = Field(ge=20, le=4096)


class Step(StrEnum):
    CREATE = "createSecret"
    SET = "setSecret"
    TEST = "testSecret"
    FINISH = "finishSecret"


class RotationEvent(BaseModel):
    """What Secrets Manager sends for each step (and what moto's RotateSecret sends)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    step: Step = Field(alias="Step")
    secret_id: str = Field(alias="SecretId", min_length=1, max_length=2048)
    token: str = Field(alias="ClientRequestToken", min_length=32, max_length=64)


class ProviderSecret(BaseModel):
    """``marquee/payments/{primary,secondary}`` and ``marquee/notifications/{channel}-{role}``: {url, apiKey}.

    Other fields are kept through a rotation."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="allow")

    url: str = Field(min_length=1)
    api_key: str = Field(alias="apiKey", min_length=1, repr=False)

    @classmethod
    def parse(cls, secret_id: str, raw: str) -> ProviderSecret:
        try:
            return cls.model_validate(json.loads(raw))
        except (ValueError, ValidationError):
            # Never the value: only which secret is unusable. Not chained either: pydantic's error quotes the input,
            # and a logged traceback would carry it.
            raise MalformedSecret(f"{secret_id} is not a {{url, apiKey}} document") from None

    def with_api_key(self, api_key: str) -> str:
        document = self.model_dump(by_alias=True)
        document["apiKey"] = api_key
        return json.dumps(document)


@dataclass(frozen=True)
class SecretMetadata:
    """DescribeSecret, reduced to what the steps check."""

    rotation_enabled: bool
    versions: dict[str, list[str]]  # VersionIdsToStages

    def version_with(self, stage: str) -> str | None:
        return next((version for version, stages in self.versions.items() if stage in stages), None)


class RotationError(MarqueeError):
    """A step could not complete: Secrets Manager keeps AWSCURRENT where it was, and a retry may resume."""

    slug = "rotation-failed"
    title = "Secret rotation failed"


class RotationNotEnabled(RotationError):
    slug = "rotation-not-enabled"
    title = "Rotation is not enabled on the secret"


class VersionNotStaged(RotationError):
    slug = "version-not-staged"
    title = "The token is not a version staged for rotation"


class MalformedSecret(RotationError):
    slug = "malformed-secret"
    title = "The secret is not a provider credential document"


class KeyNotAccepted(RotationError):
    """The provider refused to register or to authenticate the pending key."""

    slug = "key-not-accepted"
    title = "The provider did not accept the key"


class SecretsPort(Protocol):
    def describe(self, secret_id: str) -> SecretMetadata: ...

    def value(self, secret_id: str, *, stage: str, version_id: str | None = None) -> str | None:
        """The SecretString at that stage (and version), or None when that version has no value."""
        ...

    def put_pending(self, secret_id: str, token: str, secret_string: str) -> None: ...

    def random_key(self, length: int) -> str: ...

    def move_stage(self, secret_id: str, stage: str, *, to_version: str | None, from_version: str | None) -> None: ...


class ProviderKeysPort(Protocol):
    def register(self, url: str, *, auth_key: str, new_key: str, name: str) -> int:
        """``POST /v1/api_keys`` authorized by ``auth_key``: the HTTP status."""
        ...

    def ping(self, url: str, *, key: str) -> int:
        """``GET /v1/ping`` with ``key``: the HTTP status."""
        ...


Outcome = dict[str, Any]
