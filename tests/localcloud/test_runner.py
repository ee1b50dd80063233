"""Parity tests of the Lambda runner. Each docstring states the AWS behaviour it mirrors."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.localcloud.conftest import invoke, log_messages, zip_code
from tests.waiting import wait_for

ECHO = """
import os, sys
def handler(event, context):
    return {
        "event": event,
        "pid": os.getpid(),
        "requestId": context.aws_request_id,
        "functionName": context.function_name,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "remaining": context.get_remaining_time_in_millis(),
        "env": {k: os.environ.get(k) for k in ("GREETING", "AWS_ENDPOINT_URL", "AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION")},
        "sysPath": sys.path[:3],
    }
"""


def test_handler_runs_in_a_worker_with_context_and_environment(
    aws: Callable[[str], Any], make_function: Any, endpoint: str
) -> None:
    """AWS: the handler gets the event and a context (request id, function name and ARN, memory, remaining time);
    the function's variables are in the environment; here the endpoint variable points SDKs at the local cloud."""
    name = make_function(ECHO, MemorySize=256, Environment={"Variables": {"GREETING": "hello"}})
    response, body = invoke(aws, name, {"a": 1})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert body["event"] == {"a": 1}
    assert body["requestId"] == response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert body["functionName"] == name
    assert body["arn"].endswith(f":function:{name}")
    assert body["memory"] == "256"
    assert 0 < body["remaining"] <= 5000
    assert body["env"] == {
        "GREETING": "hello",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_REGION": "us-east-1",
    }


def test_warm_pool_reuses_the_worker_after_a_cold_start(aws: Callable[[str], Any], make_function: Any) -> None:
    """AWS: the first invoke initialises an execution environment (cold start); the next ones reuse it (warm)."""
    name = make_function(ECHO)
    pids = {invoke(aws, name, {})[1]["pid"] for _ in range(5)}
    assert len(pids) == 1

    def reports_so_far() -> list[str] | None:  # logs are shipped after the invoke answers, as on AWS
        found = [m for m in log_messages(aws, name) if m.startswith("REPORT")]
        return found if len(found) >= 5 else None

    reports = wait_for(reports_so_far, timeout=10, interval=0.1)
    assert len(reports) == 5
    assert sum("Init Duration" in r for r in reports) == 1


def test_code_runs_isolated_from_the_local_cloud_interpreter(aws: Callable[[str], Any], make_function: Any) -> None:
    """AWS: only the deployment package, the layers and the runtime's boto3 are importable (not the developer's venv)."""
    source = """
def handler(event, context):
    import importlib.util
    return {m: importlib.util.find_spec(m) is not None for m in ("boto3", "moto", "pytest", "helper")}
"""
    name = make_function(source, files={"helper.py": "X = 1\n"})
    _, body = invoke(aws, name, {})
    assert body == {"boto3": True, "moto": False, "pytest": False, "helper": True}


def test_layers_are_on_the_path_like_opt_python(aws: Callable[[str], Any], make_function: Any) -> None:
    """AWS: a layer's python/ directory is extracted to /opt/python, which is on sys.path."""
    layer = aws("lambda").publish_layer_version(
        LayerName="shared",
        Content={"ZipFile": zip_code({"python/shared_lib.py": "VALUE = 'from the layer'\n"})},
        CompatibleRuntimes=["python3.11"],
    )
    name = make_function(
        "import shared_lib\ndef handler(e, c):\n    return shared_lib.VALUE\n", Layers=[layer["LayerVersionArn"]]
    )
    assert invoke(aws, name, {})[1] == "from the layer"


def test_timeout_kills_the_worker_and_reports_task_timed_out(aws: Callable[[str], Any], make_function: Any) -> None:
    """AWS: past its timeout the invocation is stopped; the error is Sandbox.Timedout, 'Task timed out after 1.00
    seconds', and the next invocation starts a fresh environment."""
    source = (
        "import os, time\n"
        "def handler(event, context):\n"
        "    if event.get('sleep'):\n"
        "        time.sleep(30)\n"
        "    return os.getpid()\n"
    )
    name = make_function(source, Timeout=1)
    first_pid = invoke(aws, name, {})[1]
    started = time.monotonic()
    response, body = invoke(aws, name, {"sleep": True})
    assert time.monotonic() - started < 10
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    assert invoke(aws, name, {})[1] != first_pid
    assert any("Task timed out after 1.00 seconds" in m for m in log_messages(aws, name))


def test_handler_exception_comes_back_in_the_lambda_error_format(aws: Callable[[str], Any], make_function: Any) -> None:
    """AWS: an unhandled exception gives X-Amz-Function-Error: Unhandled and {errorType, errorMessage, stackTrace}."""
    source = "class SeatTaken(Exception):\n    pass\ndef handler(event, context):\n    raise SeatTaken('A1 is taken')\n"
    name = make_function(source)
    response, body = invoke(aws, name, {})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "SeatTaken"
    assert body["errorMessage"] == "A1 is taken"
    assert isinstance(body["stackTrace"], list) and body["stackTrace"]


def test_import_error_is_runtime_import_module_error(aws: Callable[[str], Any], make_function: Any) -> None:
    """AWS: a handler module that cannot be imported fails with Runtime.ImportModuleError."""
    name = make_function("import not_a_module\ndef handler(e, c):\n    return 1\n")
    response, body = invoke(aws, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"


def test_logs_go_to_cloudwatch_with_start_end_report(aws: Callable[[str], Any], make_function: Any) -> None:
    """AWS: the log group /aws/lambda/<name> gets START, the handler's lines, END and REPORT for each request."""
    name = make_function("def handler(event, context):\n    print('hello from the handler')\n    return 1\n")
    response, _ = invoke(aws, name, {}, LogType="Tail")
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    messages = log_messages(aws, name)
    assert messages[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert "hello from the handler" in messages
    assert f"END RequestId: {request_id}" in messages
    assert any(m.startswith(f"REPORT RequestId: {request_id}") for m in messages)
    assert "hello from the handler" in _b64(response["LogResult"])


def test_reserved_concurrency_caps_and_throttles(aws: Callable[[str], Any], make_function: Any, endpoint: str) -> None:
    """AWS: with reserved concurrency N, at most N run at once; a synchronous invoke beyond it gets 429
    TooManyRequestsException."""
    source = "import time\ndef handler(event, context):\n    time.sleep(1.5)\n    return 'done'\n"
    name = make_function(source)
    aws("lambda").put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    outcomes: list[str] = []

    no_retries = boto3.client(
        "lambda", endpoint_url=endpoint, region_name="us-east-1", config=Config(retries={"total_max_attempts": 1})
    )

    def call() -> None:
        try:
            no_retries.invoke(FunctionName=name, Payload=b"{}")
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
        time.sleep(0.1)
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["TooManyRequestsException", "TooManyRequestsException", "ok"]


def test_async_invoke_retries_twice_then_goes_to_the_on_failure_destination(
    aws: Callable[[str], Any], make_function: Any
) -> None:
    """AWS: an Event invoke that fails is retried twice (3 attempts), then the invocation record goes to the
    on-failure destination with condition RetriesExhausted and approximateInvokeCount 3."""
    queue_url = aws("sqs").create_queue(QueueName="async-failures")["QueueUrl"]
    queue_arn = aws("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    name = make_function("def handler(event, context):\n    print('attempt')\n    raise ValueError('always')\n")
    aws("lambda").put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnFailure": {"Destination": queue_arn}}
    )
    response = aws("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=b'{"order": 7}')
    assert response["StatusCode"] == 202
    record = _receive_one(aws, queue_url, timeout=15)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == {"order": 7}
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert sum(m == "attempt" for m in log_messages(aws, name)) == 3


def test_async_invoke_failure_goes_to_the_dead_letter_queue(aws: Callable[[str], Any], make_function: Any) -> None:
    """AWS: without a destination, a failed async event goes to the function's DLQ with its original body and the
    ErrorMessage attribute."""
    queue_url = aws("sqs").create_queue(QueueName="fn-dlq")["QueueUrl"]
    queue_arn = aws("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    name = make_function(
        "def handler(event, context):\n    raise RuntimeError('boom')\n", DeadLetterConfig={"TargetArn": queue_arn}
    )
    aws("lambda").put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    aws("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 1}')
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages = (
            aws("sqs")
            .receive_message(QueueUrl=queue_url, MessageAttributeNames=["All"], WaitTimeSeconds=1)
            .get("Messages", [])
        )
        if messages:
            break
    assert json.loads(messages[0]["Body"]) == {"n": 1}
    assert messages[0]["MessageAttributes"]["ErrorMessage"]["StringValue"] == "boom"


def test_worker_killed_mid_invocation_reports_runtime_exit(
    aws: Callable[[str], Any], make_function: Any, cloud: Any
) -> None:
    """AWS: if the runtime process dies during an invocation, the error is Runtime.ExitError."""
    name = make_function("import time\ndef handler(event, context):\n    time.sleep(3)\n    return 1\n")
    result: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: result.update(zip(("response", "body"), invoke(aws, name, {}), strict=True))
    )
    thread.start()
    deadline = time.monotonic() + 5
    while not cloud.runner.kill_busy_worker(name) and time.monotonic() < deadline:
        time.sleep(0.05)
    thread.join()
    assert result["response"]["FunctionError"] == "Unhandled"
    assert result["body"]["errorType"] == "Runtime.ExitError"


def test_the_chaos_endpoint_kills_at_most_limit_busy_workers_and_refuses_a_bad_limit(
    aws: Callable[[str], Any], make_function: Any, endpoint: str
) -> None:
    """Local cloud tool (no AWS counterpart): POST /_localcloud/chaos/kill/<function>?limit=N SIGKILLs at most N of the
    function's busy workers; the others finish their invocations."""
    name = make_function("import time\ndef handler(event, context):\n    time.sleep(2)\n    return 1\n")
    results: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: results.append(invoke(aws, name, {})[0])) for _ in range(3)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if requests.get(f"{endpoint}/_localcloud/stats", timeout=5).json()["workers"].get(name, {}).get("busy") == 3:
            break
        time.sleep(0.05)
    bad = requests.post(f"{endpoint}/_localcloud/chaos/kill/{name}?limit=zero", timeout=5)
    killed = requests.post(f"{endpoint}/_localcloud/chaos/kill/{name}?limit=1", timeout=5).json()["killed"]
    for thread in threads:
        thread.join()
    assert bad.status_code == 400 and bad.headers["Content-Type"] == "application/problem+json"
    assert killed == 1
    assert sorted(r.get("FunctionError", "") for r in results) == ["", "", "Unhandled"]


def _receive_one(aws: Callable[[str], Any], queue_url: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = aws("sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            return json.loads(messages[0]["Body"])  # type: ignore[no-any-return]
    pytest.fail(f"nothing arrived on {queue_url} within {timeout} s")


def _b64(text: str) -> str:
    import base64

    return base64.b64decode(text).decode()


VERSIONED = """
import os
CODE = {code!r}
def handler(event, context):
    return _describe(context, "handler")
def handler2(event, context):
    return _describe(context, "handler2")
def _describe(context, entry):
    import layer_mark
    return {{
        "code": CODE,
        "entry": entry,
        "layer": layer_mark.VALUE,
        "pid": os.getpid(),
        "arn": context.invoked_function_arn,
        "version": context.function_version,
        "memory": context.memory_limit_in_mb,
        "remaining": context.get_remaining_time_in_millis(),
        "greeting": os.environ.get("GREETING"),
        "envVersion": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
    }}
"""


def _layer(aws: Callable[[str], Any], value: str) -> str:
    published = aws("lambda").publish_layer_version(
        LayerName="mark", Content={"ZipFile": zip_code({"python/layer_mark.py": f"VALUE = {value!r}\n"})}
    )
    return str(published["LayerVersionArn"])


def test_a_version_and_its_alias_run_that_versions_code_and_configuration(
    aws: Callable[[str], Any], make_function: Any
) -> None:
    """AWS: a published version is an immutable snapshot of the function's code and configuration (handler,
    environment, memory, timeout, layers); invoking it, or an alias that points at it, runs that snapshot whatever
    $LATEST has become, and X-Amz-Executed-Version names it (Lambda DG, "Manage Lambda function versions" and
    "Create an alias for a Lambda function"; Lambda API, Invoke: Qualifier, X-Amz-Executed-Version). The context's
    invoked_function_arn is the ARN that was invoked, with its qualifier (Lambda DG, "Using the Lambda context
    object to retrieve Python function information")."""
    lam = aws("lambda")
    name = make_function(
        VERSIONED.format(code="v1"),
        Environment={"Variables": {"GREETING": "one"}},
        MemorySize=128,
        Timeout=5,
        Layers=[_layer(aws, "layer 1")],
    )
    assert lam.publish_version(FunctionName=name)["Version"] == "1"
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    lam.update_function_code(FunctionName=name, ZipFile=zip_code({"app.py": VERSIONED.format(code="v2")}))
    lam.update_function_configuration(
        FunctionName=name,
        Handler="app.handler2",
        Environment={"Variables": {"GREETING": "two"}},
        MemorySize=256,
        Timeout=3,
        Layers=[_layer(aws, "layer 2")],
    )

    latest_response, latest = invoke(aws, name, {})
    v1_response, v1 = invoke(aws, name, {}, Qualifier="1")
    alias_response, alias = invoke(aws, name, {}, Qualifier="live")
    _, by_name = invoke(aws, f"{name}:live", {})

    assert latest_response["ExecutedVersion"] == "$LATEST"
    assert (latest["code"], latest["entry"], latest["layer"], latest["greeting"]) == (
        "v2",
        "handler2",
        "layer 2",
        "two",
    )
    assert (latest["memory"], latest["version"], latest["envVersion"]) == ("256", "$LATEST", "$LATEST")
    assert latest["remaining"] <= 3000 and latest["arn"].endswith(f":function:{name}")

    assert v1_response["ExecutedVersion"] == alias_response["ExecutedVersion"] == "1"
    for body in (v1, alias, by_name):
        assert (body["code"], body["entry"], body["layer"], body["greeting"]) == ("v1", "handler", "layer 1", "one")
        assert (body["memory"], body["version"], body["envVersion"]) == ("128", "1", "1")
        assert 3000 < body["remaining"] <= 5000
    assert v1["arn"].endswith(f":function:{name}:1")
    assert alias["arn"].endswith(f":function:{name}:live") and by_name["arn"] == alias["arn"]
    # One warm pool per version: version 1 reuses its own environment, apart from $LATEST's.
    assert v1["pid"] == alias["pid"] == by_name["pid"] != latest["pid"]


def test_reserved_concurrency_is_shared_by_the_functions_versions(
    aws: Callable[[str], Any], make_function: Any, endpoint: str
) -> None:
    """AWS: reserved concurrency applies to the function as a whole, its published versions and aliases included
    (Lambda DG, "Configuring reserved concurrency for a function"): with 1 reserved, a call to version 1 while
    $LATEST runs is throttled."""
    name = make_function("import time\ndef handler(event, context):\n    time.sleep(1.5)\n    return 'done'\n")
    aws("lambda").publish_version(FunctionName=name)
    aws("lambda").put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    no_retries = boto3.client(
        "lambda", endpoint_url=endpoint, region_name="us-east-1", config=Config(retries={"total_max_attempts": 1})
    )
    outcomes: list[str] = []

    def call(**qualifier: str) -> None:
        try:
            no_retries.invoke(FunctionName=name, Payload=b"{}", **qualifier)
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])

    first = threading.Thread(target=call)
    first.start()
    time.sleep(0.5)
    call(Qualifier="1")
    first.join()
    assert sorted(outcomes) == ["TooManyRequestsException", "ok"]


def test_a_throttle_names_its_reason(aws: Callable[[str], Any], make_function: Any, endpoint: str) -> None:
    """AWS: Invoke's 429 TooManyRequestsException carries Type "User", message "Rate Exceeded." and a Reason; over
    reserved concurrency the Reason is ReservedFunctionConcurrentInvocationLimitExceeded (Lambda API reference,
    Invoke, Errors: TooManyRequestsException; botocore's lambda model lists the same members)."""
    name = make_function("def handler(event, context):\n    return 1\n")
    aws("lambda").put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    no_retries = boto3.client(
        "lambda", endpoint_url=endpoint, region_name="us-east-1", config=Config(retries={"total_max_attempts": 1})
    )
    with pytest.raises(ClientError) as caught:
        no_retries.invoke(FunctionName=name, Payload=b"{}")
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["Error"] == {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."}
    assert response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert response["Type"] == "User"


def test_async_invokes_use_the_event_invoke_config_of_the_qualifier_they_name(
    aws: Callable[[str], Any], make_function: Any
) -> None:
    """AWS: PutFunctionEventInvokeConfig takes a Qualifier, so $LATEST and an alias each have their own retries and
    destinations (Lambda API reference, PutFunctionEventInvokeConfig, GetFunctionEventInvokeConfig,
    ListFunctionEventInvokeConfigs). An Event invoke of the alias runs the alias's version with the alias's
    settings, and its invocation record names the invoked ARN and the executed version (Lambda DG, "Configuring
    error handling for asynchronous invocation"; "Capturing records of Lambda asynchronous invocations")."""
    lam, sqs = aws("lambda"), aws("sqs")
    queues = {}
    for label in ("alias", "latest"):
        url = sqs.create_queue(QueueName=f"async-{label}-{time.monotonic_ns()}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queues[label] = (url, arn)
    name = make_function("def handler(event, context):\n    raise ValueError('v1')\n")
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    lam.update_function_code(
        FunctionName=name,
        ZipFile=zip_code({"app.py": "def handler(event, context):\n    raise ValueError('latest')\n"}),
    )
    lam.put_function_event_invoke_config(
        FunctionName=name,
        Qualifier="live",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": queues["alias"][1]}},
    )
    lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=1, DestinationConfig={"OnFailure": {"Destination": queues["latest"][1]}}
    )

    assert lam.get_function_event_invoke_config(FunctionName=name, Qualifier="live")["MaximumRetryAttempts"] == 0
    unqualified = lam.get_function_event_invoke_config(FunctionName=name)
    assert unqualified["MaximumRetryAttempts"] == 1 and unqualified["FunctionArn"].endswith(f":{name}:$LATEST")
    listed = lam.list_function_event_invoke_configs(FunctionName=name)["FunctionEventInvokeConfigs"]
    assert sorted(c["FunctionArn"].rsplit(":", 1)[1] for c in listed) == ["$LATEST", "live"]
    with pytest.raises(ClientError) as missing:
        lam.get_function_event_invoke_config(FunctionName=name, Qualifier="1")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"

    assert lam.invoke(FunctionName=name, Qualifier="live", InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    assert lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    alias_record = _receive_one(aws, queues["alias"][0], timeout=15)
    latest_record = _receive_one(aws, queues["latest"][0], timeout=15)

    assert alias_record["requestContext"]["functionArn"].endswith(f":function:{name}:live")
    assert alias_record["requestContext"]["approximateInvokeCount"] == 1
    assert alias_record["responseContext"]["executedVersion"] == "1"
    assert alias_record["responsePayload"]["errorMessage"] == "v1"
    assert latest_record["requestContext"]["functionArn"].endswith(f":function:{name}:$LATEST")
    assert latest_record["requestContext"]["approximateInvokeCount"] == 2
    assert latest_record["responseContext"]["executedVersion"] == "$LATEST"
    assert latest_record["responsePayload"]["errorMessage"] == "latest"


def test_defined_runtime_variables_name_the_task_root_and_the_runtime_directory(
    aws: Callable[[str], Any], make_function: Any
) -> None:
    """AWS: LAMBDA_TASK_ROOT is the path to the function's code (the working directory), LAMBDA_RUNTIME_DIR the
    path to the runtime libraries (where the runtime's boto3 comes from); AWS_ACCESS_KEY is set beside
    AWS_ACCESS_KEY_ID, and AWS_XRAY_CONTEXT_MISSING is LOG_ERROR (Lambda DG, "Working with Lambda environment
    variables", "Defined runtime environment variables"). AWS_LAMBDA_RUNTIME_API is not set: there is no Runtime API
    locally."""
    source = """
import os, boto3
def handler(event, context):
    keys = ("LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_XRAY_CONTEXT_MISSING",
            "AWS_LAMBDA_RUNTIME_API")
    return {"env": {k: os.environ.get(k) for k in keys}, "cwd": os.getcwd(), "boto3": boto3.__file__,
            "code": sorted(os.listdir(os.environ["LAMBDA_TASK_ROOT"]))}
"""
    name = make_function(source)
    body = invoke(aws, name, {})[1]
    env = body["env"]
    assert env["LAMBDA_TASK_ROOT"] == body["cwd"] and "app.py" in body["code"]
    assert env["LAMBDA_RUNTIME_DIR"] and body["boto3"].startswith(env["LAMBDA_RUNTIME_DIR"] + "/")
    assert env["AWS_ACCESS_KEY"] == env["AWS_ACCESS_KEY_ID"]
    assert env["AWS_XRAY_CONTEXT_MISSING"] == "LOG_ERROR"
    assert env["AWS_LAMBDA_RUNTIME_API"] is None
