"""The only modules here that touch the network: Secrets Manager (boto3, reads through Powertools) and the provider."""

from __future__ import annotations

from typing import Any

import urllib3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from .models import RotationError, SecretMetadata

NOT_FOUND = "ResourceNotFoundException"


class SecretsManagerStore:
    """Reads go through Powertools parameters with no cache (a rotation must see each write); writes use boto3."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.reader = SecretsProvider(boto3_client=client)

    def describe(self, secret_id: str) -> SecretMetadata:
        found = self.client.describe_secret(SecretId=secret_id)
        return SecretMetadata(
            rotation_enabled=bool(found.get("RotationEnabled")),
            versions={version: list(stages) for version, stages in found.get("VersionIdsToStages", {}).items()},
        )

    def value(self, secret_id: str, *, stage: str, version_id: str | None = None) -> str | None:
        options: dict[str, str] = {"VersionStage": stage}
        if version_id is not None:
            options["VersionId"] = version_id
        try:
            raw = self.reader.get(secret_id, max_age=0, transform=None, force_fetch=True, **options)
        except GetParameterError as exc:
            cause = exc.__cause__ or exc.__context__  # Powertools re-raises inside its except block
            if isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") == NOT_FOUND:
                return None
            raise
        if isinstance(raw, bytes):
            return raw.decode()
        if not isinstance(raw, str):
            raise RotationError(f"{secret_id} is not a string secret")
        return raw

    def put_pending(self, secret_id: str, token: str, secret_string: str) -> None:
        self.client.put_secret_value(
            SecretId=secret_id, ClientRequestToken=token, SecretString=secret_string, VersionStages=["AWSPENDING"]
        )

    def random_key(self, length: int) -> str:
        return str(self.client.get_random_password(PasswordLength=length, ExcludePunctuation=True)["RandomPassword"])

    def move_stage(self, secret_id: str, stage: str, *, to_version: str | None, from_version: str | None) -> None:
        options: dict[str, str] = {}
        if to_version is not None:
            options["MoveToVersionId"] = to_version
        if from_version is not None:
            options["RemoveFromVersionId"] = from_version
        self.client.update_secret_version_stage(SecretId=secret_id, VersionStage=stage, **options)


class ProviderKeyApi:
    """The provider's key API over HTTPS (HTTP on the local cloud), with connect and read timeouts and no retries."""

    def __init__(self, timeout_ms: int) -> None:
        seconds = timeout_ms / 1000.0
        self.pool = urllib3.PoolManager(
            num_pools=2, timeout=urllib3.Timeout(connect=seconds, read=seconds), retries=False
        )

    def register(self, url: str, *, auth_key: str, new_key: str, name: str) -> int:
        return self._call("POST", url, "/v1/api_keys", auth_key, {"apiKey": new_key, "name": name})

    def ping(self, url: str, *, key: str) -> int:
        return self._call("GET", url, "/v1/ping", key, None)

    def _call(self, method: str, url: str, path: str, key: str, body: dict[str, str] | None) -> int:
        try:
            response = self.pool.request(
                method,
                url.rstrip("/") + path,
                json=body,
                headers={"Authorization": f"Bearer {key}"},
            )
        except urllib3.exceptions.HTTPError as exc:
            raise RotationError(f"the provider at {url} could not be reached ({type(exc).__name__})") from exc
        return int(response.status)
