"""The REST API's functions, loaded in-process without AWS: for the OpenAPI generator and the route/bad-input tests.

An API function is a module under ``functions/`` that builds its app with ``ApiResolver(...)``. Loading one imports it
under the name its Lambda handler setting uses (``functions.<name>.handler``, its package's modules dropped first, so
that it is a cold start), with an environment of placeholders that satisfies its env model: cold-start validation runs
for real, and nothing touches AWS until a route runs past validation.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import ModuleType
from typing import Any, get_args, get_origin

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"
LAYER_DIR = ROOT / "layers" / "common" / "python"
_LOAD_ENV = re.compile(r"^env = load_env\((\w+)\)", re.MULTILINE)

# Env values that a placeholder cannot guess (cross-field rules).
OVERRIDES: dict[str, dict[str, str]] = {
    "health": {"HEALTH_CHECK_TIMEOUT_MS": "2000", "HEALTH_CHECK_WARN_MS": "1000"},
    "webhooks_api": {"WEBHOOK_SECRET_PREFIX": "marquee/webhooks/"},
}


@dataclass(frozen=True)
class ApiFunction:
    name: str  # the directory under functions/
    module: str  # the module that builds the app (``handler`` or ``api``)

    @property
    def path(self) -> Path:
        return FUNCTIONS_DIR / self.name / f"{self.module}.py"

    @property
    def package(self) -> str:
        """The function's package, as in its asset and its Lambda handler setting: ``functions.<name>``."""
        return f"{FUNCTIONS_DIR.name}.{self.name}"


def api_functions() -> list[ApiFunction]:
    """Every module under functions/ that builds an ``ApiResolver``, sorted by name."""
    found = []
    for path in sorted(FUNCTIONS_DIR.glob("*/*.py")):
        if "ApiResolver(" in path.read_text():
            found.append(ApiFunction(path.parent.name, path.stem))
    return found


def _placeholder(annotation: Any, metadata: list[Any]) -> str:
    if get_origin(annotation) is not None and type(None) in get_args(annotation):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return str(next(iter(annotation)).value)
    if annotation is bool:
        return "false"
    if annotation in (int, float):
        low, high = 1, None
        for rule in metadata:
            if getattr(rule, "ge", None) is not None:
                low = max(low, int(rule.ge))
            if getattr(rule, "gt", None) is not None:
                low = max(low, int(rule.gt) + 1)
            if getattr(rule, "le", None) is not None:
                high = int(rule.le)
            if getattr(rule, "lt", None) is not None:
                high = int(rule.lt) - 1
        return str(low if high is None else min(low, high))
    if get_origin(annotation) in (list, tuple):
        return "[]"
    return "placeholder"


def placeholder_env(model: type[Any]) -> dict[str, str]:
    """A value for every field of an env model (pydantic-settings), chosen to pass its constraints."""
    from marquee.core.env import variable_name

    return {
        variable_name(model, name): _placeholder(field.annotation, list(field.metadata))
        for name, field in model.model_fields.items()
    }


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def forget_package(package: str) -> None:
    """Drop a function package and its modules from ``sys.modules``: the next import of it is a cold start."""
    for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
        del sys.modules[name]


def load(function: ApiFunction, env: dict[str, str] | None = None) -> ModuleType:
    """Import the function's app module as a fresh cold start, with placeholder env unless ``env`` is given."""
    for directory in (str(ROOT), str(LAYER_DIR)):
        if directory not in sys.path:
            sys.path.append(directory)
    forget_package(function.package)
    models = importlib.import_module(f"{function.package}.models")
    if env is None:
        match = _LOAD_ENV.search(function.path.read_text())
        if match is None:
            raise LookupError(f"{function.path} has no `env = load_env(Model)` line")
        env = {
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "MarqueeOpenApi",
            **placeholder_env(getattr(models, match.group(1))),
            **OVERRIDES.get(function.name, {}),
        }
    with _environment(env):
        module = importlib.import_module(f"{function.package}.{function.module}")
    module.function_models = models  # type: ignore[attr-defined] # its request/response models, for the generator
    return module


def load_all() -> dict[ApiFunction, ModuleType]:
    return {function: load(function) for function in api_functions()}
