"""The four-step Secrets Manager rotation protocol for the providers' API keys (payments and notifications).

As AWS's template rotation functions do it: every step first checks that rotation is enabled and that the token is a
version staged for rotation (AWSPENDING), and does nothing if that version is already AWSCURRENT. Every step is safe
to retry.

- createSecret: puts a new version under the token, labelled AWSPENDING, with a fresh random ``apiKey`` and the
  current ``url``, unless that version already has a value.
- setSecret: registers the pending key with the provider (``POST /v1/api_keys``, authorized by the current key).
- testSecret: an authenticated ``GET /v1/ping`` with the pending key; anything but 200 fails the rotation.
- finishSecret: moves AWSCURRENT to the token's version (the old one becomes AWSPREVIOUS) and takes AWSPENDING off it.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from .models import (
    AWSCURRENT,
    AWSPENDING,
    KeyNotAccepted,
    Outcome,
    ProviderKeysPort,
    ProviderSecret,
    RotationEvent,
    RotationNotEnabled,
    SecretsPort,
    Step,
    VersionNotStaged,
)

logger = Logger(child=True)


def rotate(event: RotationEvent, *, secrets: SecretsPort, provider: ProviderKeysPort, api_key_length: int) -> Outcome:
    metadata = secrets.describe(event.secret_id)
    if not metadata.rotation_enabled:
        raise RotationNotEnabled(f"secret {event.secret_id} is not enabled for rotation")
    stages = metadata.versions.get(event.token)
    if stages is None:
        raise VersionNotStaged(f"version {event.token} has no stage for rotation of secret {event.secret_id}")
    if AWSCURRENT in stages:
        if event.step is Step.FINISH and AWSPENDING in stages:
            secrets.move_stage(event.secret_id, AWSPENDING, to_version=None, from_version=event.token)
        logger.info("version already AWSCURRENT: nothing to do", extra={"step": event.step, "version": event.token})
        return {"step": event.step.value, "outcome": "already-current"}
    if AWSPENDING not in stages:
        raise VersionNotStaged(f"version {event.token} is not AWSPENDING for secret {event.secret_id}")

    if event.step is Step.CREATE:
        outcome = create_secret(event, secrets, api_key_length)
    elif event.step is Step.SET:
        outcome = set_secret(event, secrets, provider)
    elif event.step is Step.TEST:
        outcome = test_secret(event, secrets, provider)
    else:
        outcome = finish_secret(event, secrets, metadata.version_with(AWSCURRENT))
    logger.info("rotation step done", extra={"step": event.step, "version": event.token, "outcome": outcome})
    return {"step": event.step.value, "outcome": outcome}


def _current(event: RotationEvent, secrets: SecretsPort) -> ProviderSecret:
    raw = secrets.value(event.secret_id, stage=AWSCURRENT)
    if raw is None:
        raise VersionNotStaged(f"secret {event.secret_id} has no AWSCURRENT value")
    return ProviderSecret.parse(event.secret_id, raw)


def _pending(event: RotationEvent, secrets: SecretsPort) -> ProviderSecret:
    raw = secrets.value(event.secret_id, stage=AWSPENDING, version_id=event.token)
    if raw is None:
        raise VersionNotStaged(f"version {event.token} of {event.secret_id} has no value yet (createSecret first)")
    return ProviderSecret.parse(event.secret_id, raw)


def create_secret(event: RotationEvent, secrets: SecretsPort, api_key_length: int) -> str:
    current = _current(event, secrets)
    if secrets.value(event.secret_id, stage=AWSPENDING, version_id=event.token) is not None:
        return "pending-exists"
    secrets.put_pending(event.secret_id, event.token, current.with_api_key(secrets.random_key(api_key_length)))
    return "pending-created"


def set_secret(event: RotationEvent, secrets: SecretsPort, provider: ProviderKeysPort) -> str:
    current, pending = _current(event, secrets), _pending(event, secrets)
    status = provider.register(pending.url, auth_key=current.api_key, new_key=pending.api_key, name=event.token)
    if status not in (200, 201):
        raise KeyNotAccepted(f"the provider at {pending.url} refused to register the key (HTTP {status})")
    return "registered" if status == 201 else "already-registered"


def test_secret(event: RotationEvent, secrets: SecretsPort, provider: ProviderKeysPort) -> str:
    pending = _pending(event, secrets)
    status = provider.ping(pending.url, key=pending.api_key)
    if status != 200:
        raise KeyNotAccepted(f"the provider at {pending.url} refused the pending key (HTTP {status})")
    return "accepted"


def finish_secret(event: RotationEvent, secrets: SecretsPort, current_version: str | None) -> str:
    secrets.move_stage(event.secret_id, AWSCURRENT, to_version=event.token, from_version=current_version)
    # AWS drops AWSPENDING once rotation succeeds; moto's RotateSecret refuses the next rotation while it stays.
    secrets.move_stage(event.secret_id, AWSPENDING, to_version=None, from_version=event.token)
    return "promoted"
