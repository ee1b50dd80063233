"""Sample events and `marquee invoke`: find a deployed function by its folder name and run an event through it."""

from __future__ import annotations

import base64
import importlib
import json
import os
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from devkit.state import PROJECT_ROOT, REGION, STACK_NAME
from localcloud.aws import local_client
from localcloud.lambda_.worker_bootstrap import LambdaContext


class EventFileError(Exception):
    pass


class FunctionLookupError(Exception):
    pass


def load_event(path: Path) -> Any:
    """Read a sample event; malformed JSON names the file, line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EventFileError(f"cannot read event file {path}: {exc.strerror}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise EventFileError(
            f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno} (char {exc.pos}): {exc.msg}"
        ) from exc


def _client(service: str, endpoint_url: str) -> Any:
    return local_client(service, endpoint_url)


def _normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _is_capability(logical_id: str, wanted: str) -> bool:
    """CDK logical ids are the construct path in PascalCase: `HealthHandlerFunction29D00AB2` belongs to `health`."""
    head, rest = logical_id[: len(wanted)], logical_id[len(wanted) :]
    return _normalise(head) == wanted and rest[:1].isupper() and "Function" in rest


def resolve_function_name(function: str, endpoint_url: str) -> str:
    """`health` -> the physical name of the stack's function whose logical id starts with `Health...Function`."""
    if not (PROJECT_ROOT / "functions" / function).is_dir():
        known = sorted(p.name for p in (PROJECT_ROOT / "functions").iterdir() if (p / "handler.py").exists())
        raise FunctionLookupError(f"unknown function {function!r}; functions/ has: {', '.join(known)}")
    resources = _client("cloudformation", endpoint_url).list_stack_resources(StackName=STACK_NAME)[
        "StackResourceSummaries"
    ]
    wanted = _normalise(function)
    matches = [
        r["PhysicalResourceId"]
        for r in resources
        if r["ResourceType"] == "AWS::Lambda::Function" and _is_capability(r["LogicalResourceId"], wanted)
    ]
    if len(matches) != 1:
        raise FunctionLookupError(
            f"expected one deployed function for {function!r} in stack {STACK_NAME}, found {matches}"
        )
    return matches[0]


def invoke_deployed(function: str, event: Any, endpoint_url: str) -> dict[str, Any]:
    name = resolve_function_name(function, endpoint_url)
    response = _client("lambda", endpoint_url).invoke(
        FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail"
    )
    body = response["Payload"].read()
    return {
        "functionName": name,
        "statusCode": response["StatusCode"],
        "functionError": response.get("FunctionError"),
        "payload": json.loads(body) if body else None,
        "log": base64.b64decode(response.get("LogResult", "")).decode(errors="replace").splitlines(),
    }


def invoke_in_process(function: str, event: Any, endpoint_url: str) -> dict[str, Any]:
    """Run the handler in this process (breakpoints work) with the deployed function's environment; its AWS calls
    still go to the local cloud."""
    name = resolve_function_name(function, endpoint_url)
    config = _client("lambda", endpoint_url).get_function_configuration(FunctionName=name)
    env = config.get("Environment", {}).get("Variables", {})
    os.environ.update(env)
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        }
    )
    # The handler setting names the package as the asset lays it out: functions.<folder>.handler.<entry>.
    sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "layers" / "common" / "python")]
    module_name, _, attr = config["Handler"].rpartition(".")
    handler = getattr(importlib.import_module(module_name), attr)
    context = LambdaContext(
        {"requestId": str(uuid.uuid4()), "deadlineMs": int(time.time() * 1000) + config["Timeout"] * 1000},
        {
            "functionArn": config["FunctionArn"],
            "functionName": name,
            "functionVersion": "$LATEST",
            "memorySize": config["MemorySize"],
            "logGroupName": f"/aws/lambda/{name}",
            "logStreamName": "in-process",
        },
    )
    return {"functionName": name, "inProcess": True, "payload": handler(event, context)}


def functions_by_service(endpoint_url: str) -> dict[str, str]:
    """Every deployed function's service name (``POWERTOOLS_SERVICE_NAME``: its code folder's, or a role such as
    ``notifications_router``) -> its FunctionName, through ListFunctions (paginated: a page holds 50). Tours, benches
    and tests use it to invoke, kill or watch one function without CloudFormation's generated names."""
    found: dict[str, str] = {}
    for page in _client("lambda", endpoint_url).get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            service = (function.get("Environment") or {}).get("Variables", {}).get("POWERTOOLS_SERVICE_NAME")
            if service:
                found[str(service)] = str(function["FunctionName"])
    return found


def deployed_function(endpoint_url: str, service: str) -> str:
    """The FunctionName of ``service``; LookupError when no such function is deployed."""
    name = functions_by_service(endpoint_url).get(service)
    if name is None:
        raise LookupError(f"no {service} function deployed")
    return name
