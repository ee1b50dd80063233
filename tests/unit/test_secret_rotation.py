"""The four-step rotation protocol (functions/secret_rotation/logic.py) against in-memory fakes of its two ports."""

from __future__ import annotations

import importlib
import json
import uuid
from types import ModuleType
from typing import Any

import pytest

URL = "http://provider.test"
OLD_KEY = "old-key-0123456789abcdefghij"


@pytest.fixture(scope="module")
def fn() -> tuple[ModuleType, ModuleType]:
    """The function's logic and models modules (they read no environment at import)."""
    return importlib.import_module("functions.secret_rotation.logic"), importlib.import_module(
        "functions.secret_rotation.models"
    )


class FakeSecrets:
    """Secrets Manager's stages, as RotateSecret leaves them: the token's version exists, staged, without a value."""

    def __init__(self, models: ModuleType, *, rotation_enabled: bool = True) -> None:
        self.models = models
        self.rotation_enabled = rotation_enabled
        self.current = str(uuid.uuid4())
        self.values: dict[str, str] = {self.current: json.dumps({"url": URL, "apiKey": OLD_KEY})}
        self.stages: dict[str, list[str]] = {self.current: ["AWSCURRENT"]}
        self.generated = 0

    def start_rotation(self) -> str:
        token = str(uuid.uuid4())
        self.stages[token] = ["AWSPENDING"]
        return token

    def describe(self, secret_id: str) -> Any:
        return self.models.SecretMetadata(self.rotation_enabled, {v: list(s) for v, s in self.stages.items()})

    def value(self, secret_id: str, *, stage: str, version_id: str | None = None) -> str | None:
        version = version_id or next(v for v, s in self.stages.items() if stage in s)
        assert stage in self.stages[version]
        return self.values.get(version)

    def put_pending(self, secret_id: str, token: str, secret_string: str) -> None:
        assert token not in self.values, "a version's value never changes"
        self.values[token] = secret_string

    def random_key(self, length: int) -> str:
        self.generated += 1
        return uuid.uuid4().hex.ljust(length, "x")[:length]

    def move_stage(self, secret_id: str, stage: str, *, to_version: str | None, from_version: str | None) -> None:
        if from_version is not None:
            self.stages[from_version].remove(stage)
        if to_version is not None:
            self.stages[to_version].append(stage)
        if stage == "AWSCURRENT" and from_version is not None:
            for stages in self.stages.values():
                if "AWSPREVIOUS" in stages:
                    stages.remove("AWSPREVIOUS")
            self.stages[from_version].append("AWSPREVIOUS")

    def key_at(self, stage: str) -> str:
        version = next(v for v, s in self.stages.items() if stage in s)
        return str(json.loads(self.values[version])["apiKey"])


class FakeProvider:
    def __init__(self, *, refuse_registration: bool = False, refuse_new_keys: bool = False) -> None:
        self.accepted = {OLD_KEY}
        self.refuse_registration = refuse_registration
        self.refuse_new_keys = refuse_new_keys
        self.registrations: list[str] = []

    def register(self, url: str, *, auth_key: str, new_key: str, name: str) -> int:
        if self.refuse_registration or auth_key not in self.accepted:
            return 401
        self.registrations.append(name)
        again = new_key in self.accepted
        if not self.refuse_new_keys:
            self.accepted.add(new_key)
        return 200 if again else 201

    def ping(self, url: str, *, key: str) -> int:
        return 200 if key in self.accepted else 401


def step(fn: tuple[ModuleType, ModuleType], name: str, token: str, secrets: FakeSecrets, provider: Any) -> Any:
    logic, models = fn
    event = models.RotationEvent.model_validate(
        {"Step": name, "SecretId": "marquee/payments/primary", "ClientRequestToken": token}
    )
    return logic.rotate(event, secrets=secrets, provider=provider, api_key_length=40)


ALL_STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def test_the_four_steps_make_a_new_key_current_keep_the_url_and_leave_the_old_key_previous(fn: Any) -> None:
    secrets, provider = FakeSecrets(fn[1]), FakeProvider()
    token = secrets.start_rotation()
    outcomes = [step(fn, name, token, secrets, provider)["outcome"] for name in ALL_STEPS]
    assert outcomes == ["pending-created", "registered", "accepted", "promoted"]
    assert secrets.stages[token] == ["AWSCURRENT"]  # AWSPENDING taken off: the next rotation may start
    assert secrets.key_at("AWSPREVIOUS") == OLD_KEY
    new = json.loads(secrets.values[token])
    assert new["url"] == URL
    assert new["apiKey"] != OLD_KEY
    assert len(new["apiKey"]) == 40
    assert provider.registrations == [token]


def test_every_step_retried_is_harmless_and_create_generates_one_key(fn: Any) -> None:
    secrets, provider = FakeSecrets(fn[1]), FakeProvider()
    token = secrets.start_rotation()
    for name in ALL_STEPS:
        step(fn, name, token, secrets, provider)
        step(fn, name, token, secrets, provider)
    assert secrets.generated == 1
    assert secrets.stages[token] == ["AWSCURRENT"]
    assert secrets.key_at("AWSPREVIOUS") == OLD_KEY


def test_a_retried_create_keeps_the_pending_value(fn: Any) -> None:
    secrets, provider = FakeSecrets(fn[1]), FakeProvider()
    token = secrets.start_rotation()
    assert step(fn, "createSecret", token, secrets, provider)["outcome"] == "pending-created"
    first = secrets.values[token]
    assert step(fn, "createSecret", token, secrets, provider)["outcome"] == "pending-exists"
    assert secrets.values[token] == first


def test_a_second_registration_of_the_same_key_is_already_registered(fn: Any) -> None:
    secrets, provider = FakeSecrets(fn[1]), FakeProvider()
    token = secrets.start_rotation()
    step(fn, "createSecret", token, secrets, provider)
    assert step(fn, "setSecret", token, secrets, provider)["outcome"] == "registered"
    assert step(fn, "setSecret", token, secrets, provider)["outcome"] == "already-registered"


def test_rotation_not_enabled_is_refused_before_anything_is_written(fn: Any) -> None:
    secrets = FakeSecrets(fn[1], rotation_enabled=False)
    token = secrets.start_rotation()
    with pytest.raises(fn[1].RotationNotEnabled):
        step(fn, "createSecret", token, secrets, FakeProvider())
    assert token not in secrets.values


def test_a_token_that_is_not_a_version_of_the_secret_is_refused(fn: Any) -> None:
    secrets = FakeSecrets(fn[1])
    with pytest.raises(fn[1].VersionNotStaged):
        step(fn, "createSecret", str(uuid.uuid4()), secrets, FakeProvider())


def test_a_version_that_is_neither_pending_nor_current_is_refused(fn: Any) -> None:
    secrets = FakeSecrets(fn[1])
    token = secrets.start_rotation()
    secrets.stages[token] = ["AWSPREVIOUS"]
    with pytest.raises(fn[1].VersionNotStaged):
        step(fn, "setSecret", token, secrets, FakeProvider())


def test_set_before_create_is_refused(fn: Any) -> None:
    secrets = FakeSecrets(fn[1])
    with pytest.raises(fn[1].VersionNotStaged):
        step(fn, "setSecret", secrets.start_rotation(), secrets, FakeProvider())


def test_the_current_version_is_a_no_op_for_every_step(fn: Any) -> None:
    secrets, provider = FakeSecrets(fn[1]), FakeProvider()
    for name in ALL_STEPS:
        assert step(fn, name, secrets.current, secrets, provider)["outcome"] == "already-current"
    assert secrets.stages[secrets.current] == ["AWSCURRENT"]
    assert provider.registrations == []


def test_a_provider_refusing_the_registration_fails_set_and_leaves_the_current_key(fn: Any) -> None:
    secrets, provider = FakeSecrets(fn[1]), FakeProvider(refuse_registration=True)
    token = secrets.start_rotation()
    step(fn, "createSecret", token, secrets, provider)
    with pytest.raises(fn[1].KeyNotAccepted):
        step(fn, "setSecret", token, secrets, provider)
    assert secrets.key_at("AWSCURRENT") == OLD_KEY


def test_a_pending_key_the_provider_refuses_fails_test_and_is_never_promoted(fn: Any) -> None:
    secrets, provider = FakeSecrets(fn[1]), FakeProvider(refuse_new_keys=True)
    token = secrets.start_rotation()
    step(fn, "createSecret", token, secrets, provider)
    step(fn, "setSecret", token, secrets, provider)
    with pytest.raises(fn[1].KeyNotAccepted):
        step(fn, "testSecret", token, secrets, provider)
    assert secrets.key_at("AWSCURRENT") == OLD_KEY
    assert secrets.stages[token] == ["AWSPENDING"]


def test_a_malformed_secret_fails_without_its_value_in_the_error(fn: Any) -> None:
    secrets = FakeSecrets(fn[1])
    secrets.values[secrets.current] = json.dumps({"apiKey": OLD_KEY})  # no url
    with pytest.raises(fn[1].MalformedSecret) as raised:
        step(fn, "createSecret", secrets.start_rotation(), secrets, FakeProvider())
    assert OLD_KEY not in str(raised.value)
    assert raised.value.__cause__ is None  # pydantic's error quotes the input: it must not reach a traceback


def test_no_key_value_is_logged_by_a_rotation(fn: Any, caplog: pytest.LogCaptureFixture) -> None:
    secrets, provider = FakeSecrets(fn[1]), FakeProvider()
    token = secrets.start_rotation()
    with caplog.at_level("DEBUG"):
        for name in ALL_STEPS:
            step(fn, name, token, secrets, provider)
    logged = " ".join(str(record.__dict__) for record in caplog.records)
    assert token in logged  # the version id is logged...
    assert OLD_KEY not in logged  # ...never a key
    assert secrets.key_at("AWSCURRENT") not in logged


def test_an_event_with_an_unknown_step_is_refused(fn: Any) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        fn[1].RotationEvent.model_validate({"Step": "dropSecret", "SecretId": "s", "ClientRequestToken": "t" * 36})
