"""`marquee invoke --local` imports the deployed function's handler setting (``functions.<name>.handler.<entry>``) from
the working tree, the same module name the function's asset uses (no cloud: the two API calls are faked)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from devkit import functions
from devkit.state import PROJECT_ROOT
from tools.api_functions import forget_package

ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "health",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "MarqueeTest",
    "LOG_LEVEL": "WARNING",
    "TABLE_NAME": "t",
    "QUEUE_URL": "q",
    "EVENT_BUS_NAME": "b",
    "SECRET_ARN": "s",
    "STATE_MACHINE_ARN": "m",
    "HEALTH_CHECK_TIMEOUT_MS": "2000",
    "HEALTH_CHECK_WARN_MS": "1000",
    "DB_HEALTH_CHECK_TIMEOUT_MS": "5000",
    "DB_CLUSTER_ARN": "arn:aws:rds:us-east-1:000000000000:cluster:marquee",
    "DB_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:marquee-db",
    "DB_NAME": "marquee",
    "CACHE_ADDRESS": "127.0.0.1",
    "CACHE_PORT": "6379",
    "CACHE_TLS": "false",
    "CACHE_CLUSTER": "false",
    "CACHE_HEALTH_CHECK_TIMEOUT_MS": "1000",
}


class FakeCloud:
    def list_stack_resources(self, **_: Any) -> dict[str, Any]:
        summary = {
            "ResourceType": "AWS::Lambda::Function",
            "LogicalResourceId": "HealthHandlerFunction29D00AB2",
            "PhysicalResourceId": "marquee-health",
        }
        return {"StackResourceSummaries": [summary]}

    def get_function_configuration(self, **_: Any) -> dict[str, Any]:
        return {
            "Handler": "functions.health.handler.handler",
            "Environment": {"Variables": ENVIRONMENT},
            "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:marquee-health",
            "Timeout": 3,
            "MemorySize": 128,
        }


def test_invoke_local_runs_the_handler_setting_from_the_working_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    # invoke_in_process changes the process's environment and sys.path (it is a one-shot CLI): keep them here.
    monkeypatch.setattr(os, "environ", os.environ.copy())
    # Without the repo root on sys.path (as in the installed CLI), it must put it there itself.
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".") and Path(p).resolve() != PROJECT_ROOT])
    monkeypatch.setattr(functions, "_client", lambda service, endpoint_url: FakeCloud())
    forget_package("functions")
    event = functions.load_event(PROJECT_ROOT / "events" / "health" / "liveness.json")

    result = functions.invoke_in_process("health", event, "http://127.0.0.1:1")

    assert result["functionName"] == "marquee-health"
    assert result["payload"]["statusCode"] == 200
    assert sys.modules["functions.health.handler"].__file__ == str(PROJECT_ROOT / "functions" / "health" / "handler.py")
