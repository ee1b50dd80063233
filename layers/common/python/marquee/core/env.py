"""Environment models: each function declares one, validated once at cold start.

A missing or invalid variable fails the cold start with the variable's NAME, never with a silent default.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from marquee.core.errors import ConfigurationError


class BaseEnv(BaseSettings):
    """Base for every function's environment model. Field ``table_name`` reads variable ``TABLE_NAME``."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)


class PowertoolsEnv(BaseEnv):
    """Variables every Marquee function gets from its construct."""

    powertools_service_name: str = Field(min_length=1)


E = TypeVar("E", bound=BaseEnv)


def variable_name(model: type[BaseEnv], field: str) -> str:
    """The environment variable that feeds ``field`` of ``model``."""
    prefix = model.model_config.get("env_prefix", "") or ""
    return f"{prefix}{field}".upper()


def load_env(model: type[E]) -> E:
    """Validate the environment into ``model``; raise ``ConfigurationError`` naming every bad variable."""
    try:
        return model()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            name = variable_name(model, field)
            reason = "is not set" if error["type"] == "missing" else f"is invalid: {error['msg']}"
            problems.append(f"{name} {reason}")
        raise ConfigurationError(f"{model.__name__}: " + "; ".join(problems)) from exc
