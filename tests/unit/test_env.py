from __future__ import annotations

import pytest
from pydantic import Field

from marquee.core.env import BaseEnv, PowertoolsEnv, load_env
from marquee.core.errors import ConfigurationError


class SampleEnv(PowertoolsEnv):
    table_name: str = Field(min_length=1)
    health_check_timeout_ms: int = Field(gt=0)


def test_env_is_read_from_upper_case_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "svc")
    monkeypatch.setenv("TABLE_NAME", "marquee")
    monkeypatch.setenv("HEALTH_CHECK_TIMEOUT_MS", "1500")
    env = load_env(SampleEnv)
    assert (env.table_name, env.health_check_timeout_ms, env.powertools_service_name) == ("marquee", 1500, "svc")


def test_missing_variable_fails_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "svc")
    monkeypatch.delenv("TABLE_NAME", raising=False)
    monkeypatch.setenv("HEALTH_CHECK_TIMEOUT_MS", "1500")
    with pytest.raises(ConfigurationError, match="TABLE_NAME is not set"):
        load_env(SampleEnv)


def test_invalid_variable_fails_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "svc")
    monkeypatch.setenv("TABLE_NAME", "marquee")
    monkeypatch.setenv("HEALTH_CHECK_TIMEOUT_MS", "soon")
    with pytest.raises(ConfigurationError, match="HEALTH_CHECK_TIMEOUT_MS is invalid"):
        load_env(SampleEnv)


def test_prefixed_models_report_the_prefixed_name(monkeypatch: pytest.MonkeyPatch) -> None:
    class Prefixed(BaseEnv):
        model_config = {**BaseEnv.model_config, "env_prefix": "MARQUEE_"}
        region: str

    monkeypatch.delenv("MARQUEE_REGION", raising=False)
    with pytest.raises(ConfigurationError, match="MARQUEE_REGION is not set"):
        load_env(Prefixed)
