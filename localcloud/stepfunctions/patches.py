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
    accepts them (it refuses new invokes). moto's interpreter calls Lambda through its own boto3 client; this tags it.

    moto builds that client anew for every Lambda task (tens of milliseconds of CPU each, a profile's top allocation
    under the saga load). The client depends only on the region and moto's endpoint, so one per region is kept; boto3
    clients are thread-safe, and its pool is sized for the executions that run at once."""
    from botocore.config import Config
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    original = lambda_eval_utils.boto_client_for
    clients: dict[tuple[str, str, str], Any] = {}
    lock = threading.Lock()

    def add_header(request: Any, **_: Any) -> None:
        request.headers[INTERNAL_HEADER] = "1"

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        if botocore_stubber.enabled:  # moto in-process (decorator mode): its own client, as before
            client = original(region=region, service=service, state_credentials=state_credentials)
            client.meta.events.register("before-sign.lambda.*", add_header)
            return client
        endpoint = f"http://localhost:{moto_server_port()}"
        key = (region, service, endpoint)
        with lock:
            client = clients.get(key)
            if client is None:
                import boto3  # imported by the first client: the cloud starts without it

                client = boto3.client(  # the same settings as moto's boto_client_for, with a larger pool
                    service,
                    region_name=region,
                    endpoint_url=endpoint,
                    aws_access_key_id="ak",
                    aws_secret_access_key="sk",  # noqa: S106 - moto's fixed local credentials
                    config=Config(
                        parameter_validation=False,
                        retries={"max_attempts": 0, "total_max_attempts": 1},
                        connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                        read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                        max_pool_connections=64,
                    ),
                )
                client.meta.events.register("before-sign.lambda.*", add_header)
                clients[key] = client
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
