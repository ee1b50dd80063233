"""A malformed provider secret never puts its value into an error (or a chained cause that a traceback would log)."""

from __future__ import annotations

import json
import traceback
from typing import Any

import pytest

from marquee.payments import provider as provider_module
from marquee.payments.provider import ProviderNotReached
from marquee.resilience import provider_credentials

SECRET_VALUE = "sk_live_do_not_print_me_123456"  # noqa: S105 - a canary, not a secret


class _Secrets:
    def __init__(self, value: str) -> None:
        self.value = value

    def get(self, *_: Any, **__: Any) -> str:
        return self.value


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps({"apiKey": SECRET_VALUE}),  # no url: a pydantic ValidationError quoting the input
        json.dumps({"url": 42, "apiKey": SECRET_VALUE}),
        "{" + SECRET_VALUE,  # not JSON
    ],
)
def test_malformed_secret_error_never_contains_the_value(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provider_credentials, "secrets_provider", lambda: _Secrets(raw))
    client = provider_module.ProviderClient.__new__(provider_module.ProviderClient)
    client.name, client.secret_id, client.secret_max_age_s = "primary", "marquee/payments/primary", 0
    with pytest.raises(ProviderNotReached) as excinfo:
        client.credentials()
    rendered = "".join(traceback.format_exception(excinfo.value))
    assert SECRET_VALUE not in rendered
    assert excinfo.value.__cause__ is None


def test_the_notification_provider_secret_error_never_contains_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same reader serves the notification providers: same guarantee."""
    from marquee.notifications.providers import NotReached, ProviderClient

    monkeypatch.setattr(
        provider_credentials, "secrets_provider", lambda: _Secrets(json.dumps({"apiKey": SECRET_VALUE}))
    )
    client = ProviderClient(
        "email-primary",
        "marquee/notifications/email-primary",
        connect_timeout_ms=100,
        read_timeout_ms=100,
        secret_max_age_s=0,
    )
    with pytest.raises(NotReached) as excinfo:
        client.credentials()
    assert SECRET_VALUE not in "".join(traceback.format_exception(excinfo.value))
    assert excinfo.value.__cause__ is None
