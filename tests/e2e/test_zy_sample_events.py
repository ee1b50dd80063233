"""Every sample event in events/ replayed through its deployed function (what `marquee invoke` does).

- An API Gateway event must come back as a well-formed proxy response: a string body and a status below 500.
- Any other event must not crash its function with a bug: a function error is allowed only as a domain error that the
  caller handles by design (a saga task's typed error for Step Functions' Catch), never a Python built-in exception.

Named to run late in the session: it replays real writes (an outbox event, a rotation) on the shared stack.
"""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import Any

import pytest

from devkit.functions import functions_by_service as deployed_functions

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
# Folders whose events go to more than one deployed function: file-name prefix -> the function's service name.
SERVICES_BY_PREFIX = {
    "notifications": {"router_": "notifications_router", "worker_email_": "notifications_email"},
    "projector": {"router_": "projections_router", "project_": "projector"},
    "access_audit": {"writer_": "access_audit_writer"},
    "import_validator": {"": "import-validator"},
}
# The rotation steps only make sense in Secrets Manager's order.
ROTATION_ORDER = ["create_secret.json", "set_secret.json", "test_secret.json", "finish_secret.json"]
BUILTIN_ERRORS = {
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
}


def service_of(event_file: Path) -> str:
    folder = event_file.parent.name
    for prefix, service in SERVICES_BY_PREFIX.get(folder, {}).items():
        if event_file.name.startswith(prefix):
            return service
    if folder == "order_saga":  # one function per saga step: order-saga-reserve-seats, ...
        return f"order-saga-{event_file.stem.replace('_', '-')}"
    return folder


def sample_events() -> list[Any]:
    files = sorted(
        EVENTS_DIR.glob("*/*.json"),
        key=lambda p: (p.parent.name, ROTATION_ORDER.index(p.name) if p.name in ROTATION_ORDER else 0, p.name),
    )
    return [pytest.param(path, id=f"{path.parent.name}/{path.name}") for path in files]


@pytest.fixture(scope="module")
def functions_by_service(deployed: dict[str, Any]) -> dict[str, str]:
    return deployed_functions(deployed["endpoint"])


def test_every_events_folder_has_a_deployed_function(functions_by_service: dict[str, str]) -> None:
    for path in EVENTS_DIR.glob("*/*.json"):
        assert service_of(path) in functions_by_service, path


@pytest.mark.parametrize("path", sample_events())
def test_sample_event_replays_without_a_server_error(
    path: Path, sdk: Any, functions_by_service: dict[str, str]
) -> None:
    event = json.loads(path.read_text())
    response = sdk("lambda").invoke(FunctionName=functions_by_service[service_of(path)], Payload=json.dumps(event))
    payload = json.loads(response["Payload"].read() or b"null")
    if "httpMethod" in event:
        assert response.get("FunctionError") is None, payload
        assert isinstance(payload["body"], str), payload
        assert 200 <= payload["statusCode"] < 500, payload
        return
    if response.get("FunctionError"):
        assert payload["errorType"] not in BUILTIN_ERRORS, payload
        assert not payload["errorType"].startswith("Runtime."), payload
