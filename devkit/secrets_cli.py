"""`marquee secrets rotate NAME`: rotate a secret now, on the local cloud (RotateSecret runs the four steps).

moto's RotateSecret invokes the rotation function synchronously for createSecret, setSecret, testSecret and
finishSecret (on the local cloud, on the real Lambda runner), and ignores a step's failure. So the outcome is read
back from the secret's stages: AWSCURRENT must have moved to a new version that has a value, and no AWSPENDING
may be left. RotationLambdaARN is passed explicitly: moto's RotateSecret without it clears the configured function
and promotes an empty version without running any step (AWS uses the configured function).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devkit import notification_providers
from localcloud.aws import local_client

PROVIDER_SECRET_PREFIX = "marquee/payments/"  # noqa: S105 - a name prefix, not a secret


class RotationFailed(RuntimeError):
    """The secret could not be rotated; the message names the secret and the stage it was left in, never a value."""


@dataclass(frozen=True)
class Rotation:
    secret: str
    previous_version: str
    current_version: str
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "secret": self.secret,
            "previousVersion": self.previous_version,
            "currentVersion": self.current_version,
            "seconds": round(self.seconds, 3),
        }


def secret_name(name: str) -> str:
    """``primary`` and ``secondary`` name the payment providers' secrets, ``email-primary`` .. ``push-backup`` the
    notification providers'; any other name is used as given."""
    if name in ("primary", "secondary"):
        return f"{PROVIDER_SECRET_PREFIX}{name}"
    if name in notification_providers.PROVIDER_NAMES:
        return f"{notification_providers.SECRET_NAME_PREFIX}{name}"
    return name


def current_version(client: Any, secret_id: str) -> str:
    stages = client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
    return next((version for version, labels in stages.items() if "AWSCURRENT" in labels), "")


def rotate(endpoint_url: str, name: str) -> Rotation:
    client = local_client("secretsmanager", endpoint_url)
    secret_id = secret_name(name)
    started = time.monotonic()
    try:
        described = client.describe_secret(SecretId=secret_id)
        if not described.get("RotationEnabled") or not described.get("RotationLambdaARN"):
            raise RotationFailed(f"{secret_id} has no rotation function: is the stack deployed?")
        before = current_version(client, secret_id)
        client.rotate_secret(SecretId=secret_id, RotationLambdaARN=described["RotationLambdaARN"])
        stages = client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
        has_value = "SecretString" in client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
    except (ClientError, BotoCoreError) as exc:
        raise RotationFailed(f"{secret_id}: {exc}") from exc
    after = next((version for version, labels in stages.items() if "AWSCURRENT" in labels), "")
    pending = [version for version, labels in stages.items() if "AWSPENDING" in labels]
    if after == before or pending or not has_value:
        raise RotationFailed(
            f"{secret_id} was not rotated (AWSCURRENT {after or 'missing'}, AWSPENDING {pending or 'none'}): "
            "see the rotation function's logs (/aws/lambda/...SecretRotation...)"
        )
    return Rotation(secret_id, before, after, time.monotonic() - started)
