"""The Lambda runtime inside one worker process of the local cloud.

Started by the runner as ``python -I -S worker_bootstrap.py <response-fd>``: isolated, with no site-packages, so the only
third-party code importable is what the function's zip, its layers and the runtime directory (boto3, as the AWS Python
runtime ships it) provide. This file must only use the standard library.

Protocol: JSON lines. The runner writes requests to stdin; this process writes responses to ``response-fd``. The handler's
own stdout and stderr go to the runner's log pipe, one line per log line, exactly as on AWS.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback
from typing import Any

END_MARKER = "\x00marquee-end "


class LambdaContext:
    """The context object the AWS Python runtime passes to handlers (same attribute names)."""

    def __init__(self, request: dict[str, Any], config: dict[str, Any]) -> None:
        self.aws_request_id: str = request["requestId"]
        self.invoked_function_arn: str = request.get("invokedFunctionArn") or config["functionArn"]
        self.function_name: str = config["functionName"]
        self.function_version: str = config["functionVersion"]
        self.memory_limit_in_mb: str = str(config["memorySize"])
        self.log_group_name: str = config["logGroupName"]
        self.log_stream_name: str = config["logStreamName"]
        self.identity = None
        self.client_context = request.get("clientContext")
        self._deadline_ms: int = request["deadlineMs"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error_payload(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def _load_handler(spec: str) -> Any:
    module_name, _, attr = spec.rpartition(".")
    if not module_name:
        raise ValueError(f"Bad handler '{spec}': not enough values to unpack")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _InitError(f"Unable to import module '{module_name}': {exc}", "Runtime.ImportModuleError") from exc
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise _InitError(f"Handler '{attr}' missing on module '{module_name}'", "Runtime.HandlerNotFound") from exc


class _InitError(Exception):
    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _on_sigterm(_signum: int, _frame: Any) -> None:
    # The default shutdown: leave through SystemExit so that atexit hooks run (flush metrics, close clients).
    # A handler that registered its own SIGTERM hook replaces this one, as on AWS.
    sys.exit(0)


def main() -> None:
    response_fd = int(sys.argv[1])
    responses = os.fdopen(response_fd, "w", buffering=1, encoding="utf-8")
    requests = sys.stdin
    # Handler prints must not reach the protocol channel: stdout becomes the log pipe (stderr).
    os.dup2(2, 1)
    sys.stdout = os.fdopen(1, "w", buffering=1, encoding="utf-8", closefd=False)
    signal.signal(signal.SIGTERM, _on_sigterm)

    config = json.loads(requests.readline())
    # The task root first, then the layers (/opt/python), then the runtime's own packages (boto3).
    sys.path[:0] = config["sysPath"]
    os.chdir(config["taskRoot"])

    started = time.perf_counter()
    try:
        handler = _load_handler(config["handler"])
    except _InitError as exc:
        responses.write(json.dumps({"type": "init_error", "error": _error_payload(exc, exc.error_type)}) + "\n")
        return
    except Exception as exc:  # noqa: BLE001 - an init failure of user code is reported, in the Lambda format
        responses.write(json.dumps({"type": "init_error", "error": _error_payload(exc)}) + "\n")
        return
    responses.write(json.dumps({"type": "ready", "initMs": (time.perf_counter() - started) * 1000}) + "\n")

    for line in requests:
        request = json.loads(line)
        context = LambdaContext(request, config)
        os.environ["_X_AMZN_TRACE_ID"] = request.get("traceId", "")
        event = json.loads(request["payload"]) if request["payload"] else {}
        error: dict[str, Any] | None = None
        try:
            result = handler(event, context)
        except Exception as exc:  # noqa: BLE001 - every handler error goes back as an Unhandled function error
            traceback.print_exc()
            error = _error_payload(exc)
        else:
            try:
                body = json.dumps(result)
            except (TypeError, ValueError) as exc:
                error = _error_payload(exc, "Runtime.MarshalError")
                error["errorMessage"] = f"Unable to marshal response: {exc}"
        if error is not None:
            error["requestId"] = context.aws_request_id
            message = {"type": "result", "ok": False, "payload": json.dumps(error)}
        else:
            message = {"type": "result", "ok": True, "payload": body}
        message["requestId"] = context.aws_request_id
        sys.stdout.flush()
        # The end-of-invocation marker tells the runner that every log line of this request has been written.
        sys.stderr.write(f"{END_MARKER}{context.aws_request_id}\n")
        sys.stderr.flush()
        responses.write(json.dumps(message) + "\n")


if __name__ == "__main__":
    main()
