"""Step Functions fixes on top of moto's ASL interpreter (``execute_state_machine``), for AWS's StartExecution rules.

moto 5.2.5 already treats a same-name, same-input StartExecution on a running Standard execution as idempotent and
raises ExecutionAlreadyExists for a different input or a closed execution, as AWS does. It gets two things wrong:
- an unnamed StartExecution (EventBridge targets, most SDK calls) is stored under the name ``None``, so a second
  unnamed start returns the first execution or fails with ExecutionAlreadyExists; AWS names it with a fresh UUID;
- the name check and the start are not atomic: two concurrent starts with one name can both run. AWS runs one.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

_state = {"installed": False}
_lock = threading.Lock()
_start_lock = threading.RLock()


def install() -> None:
    """Idempotent."""
    with _lock:
        if _state["installed"]:
            return
        _state["installed"] = True
        from moto.stepfunctions.models import StepFunctionBackend
        from moto.stepfunctions.parser.models import StepFunctionsParserBackend

        for backend_class in (StepFunctionBackend, StepFunctionsParserBackend):
            _patch_start_execution(backend_class)
        _mark_lambda_tasks_internal()


INTERNAL_HEADER = "X-Localcloud-Internal"


def _mark_lambda_tasks_internal() -> None:
    """A running execution's Lambda tasks are work already in flight: while the local cloud drains, the runner still
    accepts them (it refuses new invokes). moto's interpreter calls Lambda through its own boto3 client; this tags it."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    original = lambda_eval_utils.boto_client_for

    def add_header(request: Any, **_: Any) -> None:
        request.headers[INTERNAL_HEADER] = "1"

    def boto_client_for(*args: Any, **kwargs: Any) -> Any:
        client = original(*args, **kwargs)
        client.meta.events.register("before-sign.lambda.*", add_header)
        return client

    lambda_eval_utils.boto_client_for = boto_client_for


def _patch_start_execution(backend_class: Any) -> None:
    original = backend_class.__dict__.get("start_execution")
    if original is None:
        return

    def start_execution(self: Any, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        with _start_lock:
            return original(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    backend_class.start_execution = start_execution
