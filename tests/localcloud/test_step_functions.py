"""Parity tests of Step Functions on the local cloud: moto's ASL interpreter with Lambda tasks on the runner.
Each docstring states the AWS behaviour it mirrors."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.stepfunctions import patches as stepfunctions_patches
from tests.localcloud.conftest import log_messages
from tests.localcloud.test_sqs_poller import wait_for

ROLE = "arn:aws:iam::123456789012:role/local-test"
TOTAL = """
def handler(event, context):
    return {"total": sum(event["items"]), "pid_free": True}
"""
FAILS = """
class SeatTaken(Exception):
    pass
def handler(event, context):
    print("ATTEMPT")
    raise SeatTaken("A1 is taken")
"""


@pytest.fixture(autouse=True)
def _patched(cloud: Any) -> None:
    stepfunctions_patches.install()  # LocalCloud should install it; idempotent


def machine(aws: Callable[[str], Any], definition: dict[str, Any]) -> str:
    name = f"sm-{uuid.uuid4().hex[:8]}"
    return str(
        aws("stepfunctions").create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
            "stateMachineArn"
        ]
    )


def finished(aws: Callable[[str], Any], execution_arn: str) -> dict[str, Any]:
    result: dict[str, Any] = wait_for(
        lambda: (lambda e: e if e["status"] != "RUNNING" else None)(
            aws("stepfunctions").describe_execution(executionArn=execution_arn)
        ),
        timeout=30,
    )
    return result


def function_arn(aws: Callable[[str], Any], name: str) -> str:
    return str(aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"])


def test_lambda_tasks_run_on_the_runner_and_the_execution_succeeds_with_their_output(
    aws: Callable[[str], Any], make_function: Any
) -> None:
    """AWS: a Task with arn:aws:states:::lambda:invoke returns {Payload, StatusCode, ...} (OutputPath $.Payload picks
    the handler's output); a Task whose Resource is the function ARN returns the output itself."""
    arn = function_arn(aws, make_function(TOTAL))
    definition = {
        "StartAt": "Integration",
        "States": {
            "Integration": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": arn, "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "Next": "Direct",
            },
            "Direct": {
                "Type": "Task",
                "Resource": arn,
                "Parameters": {"items.$": "States.Array($.total, 1)"},
                "End": True,
            },
        },
    }
    execution = aws("stepfunctions").start_execution(
        stateMachineArn=machine(aws, definition), input=json.dumps({"items": [1, 2, 3]})
    )
    result = finished(aws, execution["executionArn"])
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"total": 7, "pid_free": True}


def test_retry_then_catch_on_a_lambda_error(aws: Callable[[str], Any], make_function: Any) -> None:
    """AWS: Retry re-runs the task on a matching error (MaxAttempts retries); when retries are exhausted, Catch
    routes to its state with the error (Error = the errorType, Cause = the Lambda error) at ResultPath."""
    name = make_function(FAILS)
    definition = {
        "StartAt": "Hold",
        "States": {
            "Hold": {
                "Type": "Task",
                "Resource": function_arn(aws, name),
                "Retry": [{"ErrorEquals": ["SeatTaken"], "MaxAttempts": 1, "IntervalSeconds": 1, "BackoffRate": 1.0}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Compensate"}],
                "End": True,
            },
            "Compensate": {"Type": "Pass", "End": True},
        },
    }
    execution = aws("stepfunctions").start_execution(
        stateMachineArn=machine(aws, definition), input=json.dumps({"seat": "A1"})
    )
    result = finished(aws, execution["executionArn"])
    assert result["status"] == "SUCCEEDED"
    output = json.loads(result["output"])
    assert output["seat"] == "A1" and output["error"]["Error"] == "SeatTaken"
    assert json.loads(output["error"]["Cause"])["errorMessage"] == "A1 is taken"
    assert wait_for(lambda: log_messages(aws, name).count("ATTEMPT") == 2)


WAIT = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 2, "End": True}}}


def test_an_execution_started_twice_with_the_same_name_runs_once(aws: Callable[[str], Any]) -> None:
    """AWS (Standard): StartExecution with the name and input of an open execution returns that execution; a
    different input gets ExecutionAlreadyExists; once the execution is closed, any reuse of the name does."""
    arn = machine(aws, WAIT)
    sfn = aws("stepfunctions")
    first = sfn.start_execution(stateMachineArn=arn, name="order-1", input='{"n": 1}')
    again = sfn.start_execution(stateMachineArn=arn, name="order-1", input='{"n": 1}')
    assert again["executionArn"] == first["executionArn"]
    with pytest.raises(ClientError) as different:
        sfn.start_execution(stateMachineArn=arn, name="order-1", input='{"n": 2}')
    assert different.value.response["Error"]["Code"] == "ExecutionAlreadyExists"
    assert finished(aws, first["executionArn"])["status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as closed:
        sfn.start_execution(stateMachineArn=arn, name="order-1", input='{"n": 1}')
    assert closed.value.response["Error"]["Code"] == "ExecutionAlreadyExists"
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 1


def test_concurrent_starts_with_the_same_name_run_one_execution(
    aws: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS: however many clients race to start the same name with the same input, one execution runs. (moto's name
    check is slowed down here so that the race is certain to happen.)"""
    from moto.stepfunctions.models import StateMachine

    original = StateMachine._handle_name_input_idempotency

    def slow_check(self: Any, name: str, execution_input: str) -> Any:
        found = original(self, name, execution_input)
        time.sleep(0.2)
        return found

    monkeypatch.setattr(StateMachine, "_handle_name_input_idempotency", slow_check)
    arn = machine(aws, WAIT)
    arns: list[str] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        barrier.wait()
        arns.append(aws("stepfunctions").start_execution(stateMachineArn=arn, name="race", input="{}")["executionArn"])

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(arns)) == 1
    assert len(aws("stepfunctions").list_executions(stateMachineArn=arn)["executions"]) == 1


def test_unnamed_executions_get_their_own_names(aws: Callable[[str], Any]) -> None:
    """AWS: StartExecution without a name generates a unique one (a UUID); two unnamed starts are two executions."""
    arn = machine(aws, {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
    first = aws("stepfunctions").start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    finished(aws, first)
    second = aws("stepfunctions").start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    assert first != second
    assert len(aws("stepfunctions").list_executions(stateMachineArn=arn)["executions"]) == 2
    uuid.UUID(first.rsplit(":", 1)[-1])


def test_lambda_tasks_share_one_client_that_marks_them_as_in_flight_work(cloud: Any) -> None:
    """The interpreter's Lambda client is built once per region (moto built one per task), and every call it makes
    carries the header that lets a draining cloud finish running executions."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    from localcloud.stepfunctions.patches import INTERNAL_HEADER

    first = lambda_eval_utils.boto_client_for(region="us-east-1", service="lambda")
    assert lambda_eval_utils.boto_client_for(region="us-east-1", service="lambda") is first
    assert lambda_eval_utils.boto_client_for(region="eu-west-1", service="lambda") is not first
    seen: list[Any] = []
    first.meta.events.register(
        "before-send.lambda.*", lambda request, **_: seen.append(request.headers[INTERNAL_HEADER])
    )
    first.list_functions()
    assert seen == [b"1"]  # botocore has encoded the header value by the time it sends
