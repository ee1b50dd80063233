"""The Lambda runner: Python handlers run for real, in worker processes, from the deployed code.

What it mirrors (each item has a parity test in tests/localcloud/test_runner.py):
- the code comes from the function's deployed zip (moto keeps the bytes it fetched from S3), the layers are put on the
  path the way /opt/python is, and boto3 comes from a runtime directory, as the AWS Python runtime ships it;
- a version or an alias runs that version's code and configuration (handler, environment, memory, timeout, layers);
- the function's environment plus the runtime variables and the endpoint variables;
- a warm pool per function version (a cold start, then reuse) and the reserved-concurrency cap, shared by all the
  function's versions (a throttle beyond it, with the Reason AWS gives);
- the timeout kills the worker and reports ``Task timed out after N.00 seconds``;
- errors in the Lambda format (errorType, errorMessage, stackTrace) with the X-Amz-Function-Error header;
- START/END/REPORT and the handler's own lines go to CloudWatch Logs and the console;
- ``Event`` invocations retry twice, then go to the on-failure destination or the dead-letter queue.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import logging
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localcloud.activity import Activity
from localcloud.lambda_ import event_invoke_config as invoke_configs
from localcloud.lambda_ import worker_bootstrap

log = logging.getLogger("localcloud.runner")

DEFAULT_ACCOUNT = "123456789012"
INIT_TIMEOUT_S = 10.0
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")


class LambdaError(Exception):
    """An invoke that fails before the handler runs, in AWS's error vocabulary."""

    status = 400
    code = "InvalidRequestContentException"
    reason: str | None = None  # the Invoke API's "Reason" member, where AWS's error has one


class FunctionNotFound(LambdaError):
    status = 404
    code = "ResourceNotFoundException"


class Throttled(LambdaError):
    """429 TooManyRequestsException. ``reason`` is one of the Invoke API's ThrottleReason values."""

    status = 429
    code = "TooManyRequestsException"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class ShuttingDown(LambdaError):
    status = 503
    code = "ServiceException"


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    arn: str
    version: str
    handler: str
    runtime: str
    timeout: int
    memory: int
    env: tuple[tuple[str, str], ...]
    code_sha: str
    layer_arns: tuple[str, ...]
    reserved_concurrency: int | None
    account: str
    region: str
    qualifier: str | None = None  # as invoked: None (unqualified), $LATEST, a version number or an alias name

    @property
    def function_arn(self) -> str:
        """The unqualified ARN (``arn`` is qualified for a published version)."""
        return ":".join(self.arn.split(":")[:7])

    @property
    def invoked_arn(self) -> str:
        """The ARN the caller invoked (the context's ``invoked_function_arn``): qualified when a qualifier was given."""
        return self.function_arn if self.qualifier is None else f"{self.function_arn}:{self.qualifier}"

    @property
    def pool_key(self) -> tuple[Any, ...]:
        """Workers are reused only while code and configuration are unchanged, as on AWS; each version has its own
        (``arn`` is the version's ARN)."""
        return (
            self.arn,
            self.version,
            self.code_sha,
            self.handler,
            self.env,
            self.layer_arns,
            self.memory,
            self.reserved_concurrency,
        )


@dataclass
class InvokeResult:
    request_id: str
    payload: bytes
    function_error: str | None = None
    log_tail: str = ""
    executed_version: str = "$LATEST"
    cold_start: bool = False
    duration_ms: float = 0.0


@dataclass
class _Invocation:
    request_id: str
    started: float
    lines: list[str] = field(default_factory=list)
    logs_done: threading.Event = field(default_factory=threading.Event)


class Worker:
    """One worker process: one execution environment, serving one invocation at a time."""

    def __init__(self, runner: LambdaRunner, config: FunctionConfig, sys_path: list[str], task_root: Path) -> None:
        self.config = config
        self.runner = runner
        self.id = uuid.uuid4().hex
        self.log_stream = f"{datetime.now(UTC):%Y/%m/%d}/[{config.version}]{self.id}"
        self.responses: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.current: _Invocation | None = None
        self.init_ms = 0.0
        self.invocations = 0
        read_fd, write_fd = os.pipe()
        env = runner.worker_environment(config, self.log_stream, task_root)
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", worker_bootstrap.__file__, str(write_fd)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(write_fd,),
            env=env,
            cwd=task_root,
            text=True,
            encoding="utf-8",
            start_new_session=True,  # a Ctrl-C on the local cloud's terminal reaches the workers only through drain
        )
        os.close(write_fd)
        self._response_file = os.fdopen(read_fd, "r", encoding="utf-8")
        threading.Thread(target=self._read_responses, name=f"resp-{config.name}", daemon=True).start()
        threading.Thread(target=self._read_logs, name=f"logs-{config.name}", daemon=True).start()
        assert self.proc.stdin is not None
        self.proc.stdin.write(
            json.dumps(
                {
                    "sysPath": sys_path,
                    "taskRoot": str(task_root),
                    "handler": config.handler,
                    "functionName": config.name,
                    "functionArn": config.arn,
                    "functionVersion": config.version,
                    "memorySize": config.memory,
                    "logGroupName": f"/aws/lambda/{config.name}",
                    "logStreamName": self.log_stream,
                }
            )
            + "\n"
        )
        self.proc.stdin.flush()

    def _read_responses(self) -> None:
        for line in self._response_file:
            self.responses.put(json.loads(line))
        self.responses.put(None)  # the process is gone

    def _read_logs(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.rstrip("\n")
            current = self.current
            if line.startswith(worker_bootstrap.END_MARKER):
                if current is not None:
                    current.logs_done.set()
                continue
            self.runner.emit_log(self.config, self.log_stream, line)
            if current is not None:
                current.lines.append(line)
        if self.current is not None:
            self.current.logs_done.set()

    def wait_ready(self) -> dict[str, Any] | None:
        """Wait for the init phase; returns the init error in the Lambda format, or None when ready."""
        try:
            message = self.responses.get(timeout=INIT_TIMEOUT_S)
        except queue.Empty:
            self.kill()
            return {"errorType": "Runtime.InitTimeout", "errorMessage": "Init phase timed out"}
        if message is None:
            return {"errorType": "Runtime.ExitError", "errorMessage": "Runtime exited during init"}
        if message["type"] == "init_error":
            error: dict[str, Any] = message["error"]
            return error
        self.init_ms = float(message["initMs"])
        return None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, request: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()

    def max_memory_mb(self) -> int:
        try:
            for row in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if row.startswith("VmHWM:"):
                    return int(row.split()[1]) // 1024
        except OSError:
            return 0
        return 0

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def terminate(self, grace_s: float) -> None:
        """SIGTERM first, so the handler's shutdown hooks run; SIGKILL after the grace period."""
        if not self.alive():
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.kill()


class _Concurrency:
    """A function's concurrency, shared by the pools of all its versions: reserved concurrency caps the function as a
    whole, not each version (Lambda DG, "Configuring reserved concurrency for a function")."""

    def __init__(self, cap: int, reserved: bool) -> None:
        self.cap = cap
        self.reserved = reserved
        self.busy = 0
        self.cond = threading.Condition()


class _Pool:
    """The execution environments of one version with one code and configuration."""

    def __init__(self, limit: _Concurrency) -> None:
        self.idle: list[Worker] = []
        self.busy: set[Worker] = set()
        self.limit = limit
        self.cond = limit.cond


class LambdaRunner:
    def __init__(
        self,
        *,
        state_dir: Path,
        endpoint_url: str,
        max_workers_per_function: int = 8,
        console: Callable[[str], None] | None = None,
        log_shipper: Callable[[str, str, str, str, list[dict[str, Any]]], None] | None = None,
        async_retry_delays: tuple[float, ...] = (1.0, 2.0),
    ) -> None:
        self.state_dir = state_dir
        self.endpoint_url = endpoint_url
        self.max_workers_per_function = max_workers_per_function
        self.console = console or (lambda line: print(line, flush=True))
        self.log_shipper = log_shipper
        self.async_retry_delays = async_retry_delays
        self._pools: dict[tuple[Any, ...], _Pool] = {}
        self._limits: dict[str, _Concurrency] = {}  # per unqualified function ARN
        self._pools_lock = threading.Lock()
        self._accepting = True
        self._inflight = 0
        self._inflight_cond = threading.Condition()
        self._log_queue: queue.Queue[tuple[FunctionConfig, str, str, float] | None] = queue.Queue()
        self._async_queue: queue.Queue[_AsyncEvent | None] = queue.Queue()
        self._async_pending = 0
        self.destinations: Callable[[FunctionConfig, str, dict[str, Any]], None] | None = None
        self.recorder: Activity | None = None  # localcloud/activity.py: what the console shows
        # localcloud/lambda_/metrics.py: Invocations, Errors, Duration and Throttles in CloudWatch (AWS/Lambda)
        self.metrics: Callable[[FunctionConfig, str, float], None] | None = None
        threading.Thread(target=self._ship_logs, name="log-shipper", daemon=True).start()
        for i in range(4):
            threading.Thread(target=self._async_loop, name=f"async-{i}", daemon=True).start()
        self.runtime_dir = self._prepare_runtime_dir()
        invoke_configs.install()  # event invoke configs per qualifier, which the async path reads

    # ---- configuration --------------------------------------------------------------------------------------------
    def _prepare_runtime_dir(self) -> Path:
        """The packages the AWS Python runtime ships (boto3 and its dependencies), linked from this interpreter."""
        runtime = self.state_dir / "runtime" / "python"
        runtime.mkdir(parents=True, exist_ok=True)
        spec = importlib.util.find_spec("boto3")  # found, not imported: the cloud starts without boto3
        assert spec is not None and spec.origin is not None, "boto3 is a dependency of the local cloud"
        site = Path(spec.origin).parent.parent
        for name in RUNTIME_PACKAGES:
            target, link = site / name, runtime / name
            if target.exists() and not link.exists():
                link.symlink_to(target)
        return runtime

    def resolve(self, name_or_arn: str, qualifier: str | None = None, region: str = "us-east-1") -> FunctionConfig:
        """The configuration an invoke of ``name_or_arn`` (with ``qualifier``) runs: that of ``$LATEST``, of the
        version, or of the version the alias points at. A qualifier in the name or ARN wins over ``qualifier``."""
        from moto.awslambda.models import lambda_backends
        from moto.core.exceptions import ServiceException, _RESTError

        account = DEFAULT_ACCOUNT
        if name_or_arn.startswith("arn:"):
            parts = name_or_arn.split(":")
            region, account = parts[3], parts[4]
        qualifier = invoke_configs.qualifier_in(name_or_arn) or qualifier
        base = name_or_arn.rsplit(":", 1)[0] if invoke_configs.qualifier_in(name_or_arn) else name_or_arn
        backend = lambda_backends[account][region]
        try:
            fn = backend.get_function(base, self._version_for(backend, base, qualifier))
            latest = backend.get_function(base, None)
        except (ServiceException, _RESTError) as exc:
            raise FunctionNotFound(f"Function not found: {name_or_arn} ({exc})") from exc
        if fn is None:
            raise FunctionNotFound(f"Function not found: {name_or_arn}")
        reserved = latest.reserved_concurrency  # set on the function, shared by all its versions
        return FunctionConfig(
            name=fn.function_name,
            arn=fn.function_arn,
            version=str(fn.version),
            handler=fn.handler or "",
            runtime=fn.run_time or "",
            timeout=int(fn.timeout),
            memory=int(fn.memory_size),
            env=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
            code_sha=fn.code_sha_256,
            layer_arns=tuple(layer["Arn"] for layer in fn.layers),
            reserved_concurrency=None if reserved is None else int(reserved),
            account=account,
            region=region,
            qualifier=qualifier,
        )

    @staticmethod
    def _version_for(backend: Any, name: str, qualifier: str | None) -> str | None:
        """The version an invoke of ``qualifier`` runs: ``$LATEST`` or the version itself, or one of the alias's.
        An alias with a RoutingConfig sends each invoke to an additional version with that version's weight and to
        its ``FunctionVersion`` otherwise, drawn per invoke: "a simple probabilistic model" (Lambda DG, "Implement
        Lambda canary deployments using a weighted alias"), so low traffic varies around the weight, as on AWS."""
        if qualifier is None or qualifier == "$LATEST" or qualifier.isdigit():
            return qualifier
        alias = backend.get_alias(qualifier, name)
        weights = (alias.routing_config or {}).get("AdditionalVersionWeights") or {}
        roll = random.random()  # noqa: S311 - traffic splitting, not a secret
        for version, weight in weights.items():
            if roll < float(weight):
                return str(version)
            roll -= float(weight)
        return str(alias.function_version)

    def _function_code(self, config: FunctionConfig) -> bytes:
        """The zip of the version that runs: moto keeps each published version's bytes apart from $LATEST's."""
        from moto.awslambda.models import lambda_backends

        fn = lambda_backends[config.account][config.region].get_function(config.name, config.version)
        code: bytes = fn.code_bytes
        if not code:
            raise LambdaError(f"Function {config.name} has no deployed code (image functions are not supported)")
        return base64.b64decode(code) if not code.startswith(b"PK") else code

    def _layer_code(self, config: FunctionConfig, arn: str) -> bytes:
        from moto.awslambda.models import lambda_backends

        layer = lambda_backends[config.account][config.region]._layers.get_layer_version_by_arn(arn)
        if layer is None:
            raise LambdaError(f"Layer not found: {arn}")
        code: bytes = layer.code_bytes
        return base64.b64decode(code) if not code.startswith(b"PK") else code

    def _extract(self, kind: str, data: bytes) -> Path:
        digest = hashlib.sha256(data).hexdigest()[:24]
        target = self.state_dir / kind / digest
        if not target.exists():
            tmp = target.with_name(f"{digest}.{uuid.uuid4().hex}.tmp")
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                archive.extractall(tmp)
            try:
                tmp.rename(target)
            except OSError:  # another thread extracted it first
                shutil.rmtree(tmp, ignore_errors=True)
        return target

    def _sys_path(self, config: FunctionConfig) -> tuple[list[str], Path]:
        task_root = self._extract("code", self._function_code(config))
        paths = [str(task_root)]
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        for arn in config.layer_arns:  # /opt/python and /opt/python/lib/pythonX.Y/site-packages, per layer
            opt = self._extract("layers", self._layer_code(config, arn))
            paths += [str(opt / "python"), str(opt / "python" / "lib" / version / "site-packages")]
        paths.append(str(self.runtime_dir))
        return paths, task_root

    def worker_environment(self, config: FunctionConfig, log_stream: str, task_root: Path) -> dict[str, str]:
        """The Lambda DG's "Defined runtime environment variables" that apply to a local worker. Not set:
        AWS_LAMBDA_RUNTIME_API (there is no Runtime API: the bootstrap talks to the runner over pipes),
        AWS_XRAY_DAEMON_ADDRESS (no X-Ray daemon), and the path variables (PYTHONPATH, LD_LIBRARY_PATH), because the
        worker runs isolated (``python -I``) and its path is set from the task root, the layers and the runtime
        directory. ``_X_AMZN_TRACE_ID`` is set per invocation by the bootstrap."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(task_root),  # /var/task on AWS: the extracted deployment package
            "LAMBDA_RUNTIME_DIR": str(self.runtime_dir),  # /var/runtime on AWS: the runtime's own libraries
            "AWS_REGION": config.region,
            "AWS_DEFAULT_REGION": config.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_VERSION": config.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "_HANDLER": config.handler,
            # Credentials of the local cloud (moto accepts any); on AWS these come from the execution role.
            "AWS_ACCESS_KEY": "test",  # AWS sets both spellings of the key id
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",  # noqa: S105 - moto's fixed test credentials, not a secret
            "AWS_SESSION_TOKEN": "test",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",  # as Lambda sets it: a missing trace context is logged, not raised
            # The endpoint variables that point every SDK call at the local cloud.
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "LOCALSTACK_HOSTNAME": "localhost",
            "MARQUEE_LOCAL_CLOUD": "1",
        }
        env.update(dict(config.env))
        return env

    # ---- pools ----------------------------------------------------------------------------------------------------
    def _pool(self, config: FunctionConfig) -> _Pool:
        with self._pools_lock:
            pool = self._pools.get(config.pool_key)
            if pool is None:
                reserved = config.reserved_concurrency is not None
                cap = int((config.reserved_concurrency if reserved else self.max_workers_per_function) or 0)
                limit = self._limits.get(config.function_arn)
                if limit is None or (limit.cap, limit.reserved) != (cap, reserved):
                    limit = self._limits[config.function_arn] = _Concurrency(cap, reserved)
                pool = _Pool(limit)
                # Code or configuration changed: retire the old environments, as AWS does on update.
                for key in [k for k in self._pools if k[0] == config.arn]:
                    for worker in self._pools.pop(key).idle:
                        worker.terminate(grace_s=0.5)
                self._pools[config.pool_key] = pool
            return pool

    def _acquire(self, config: FunctionConfig, pool: _Pool, internal: bool = False) -> tuple[Worker, bool]:
        limit = pool.limit
        with pool.cond:
            while limit.busy >= limit.cap:
                if limit.reserved:
                    if self.metrics is not None:
                        self.metrics(config, "throttled", 0.0)
                    raise Throttled("Rate Exceeded.", reason="ReservedFunctionConcurrentInvocationLimitExceeded")
                # Unreserved functions share the account's 1,000; locally, extra requests wait for a worker instead.
                pool.cond.wait(timeout=1.0)
                if not self._accepting and not internal:
                    raise ShuttingDown("The local cloud is shutting down")
            limit.busy += 1
            while pool.idle:
                worker = pool.idle.pop()
                if worker.alive():
                    pool.busy.add(worker)
                    return worker, False
            sentinel = _Slot()
            pool.busy.add(sentinel)  # type: ignore[arg-type]
        try:
            sys_path, task_root = self._sys_path(config)
            worker = Worker(self, config, sys_path, task_root)
        except BaseException:
            with pool.cond:
                pool.busy.discard(sentinel)  # type: ignore[arg-type]
                limit.busy -= 1
                pool.cond.notify()
            raise
        with pool.cond:
            pool.busy.discard(sentinel)  # type: ignore[arg-type]
            pool.busy.add(worker)
        return worker, True

    def _release(self, pool: _Pool, worker: Worker, reusable: bool) -> None:
        with pool.cond:
            if worker in pool.busy:
                pool.busy.discard(worker)
                pool.limit.busy -= 1
            keep = reusable and worker.alive()
            if keep:
                # Kept even while draining: shutdown() SIGTERMs every idle worker, so its hooks run.
                pool.idle.append(worker)
            pool.cond.notify()
        if not keep:
            worker.kill()

    # ---- invoke ---------------------------------------------------------------------------------------------------
    def invoke(
        self,
        name_or_arn: str,
        payload: bytes,
        *,
        qualifier: str | None = None,
        region: str = "us-east-1",
        client_context: str | None = None,
        internal: bool = False,
    ) -> InvokeResult:
        """A synchronous (RequestResponse) invoke. While draining, only ``internal`` invokes (the next step of work
        already in flight, such as a running Step Functions execution's task) are accepted."""
        config = self.resolve(name_or_arn, qualifier, region)
        with self._inflight_cond:
            if not self._accepting and not internal:
                raise ShuttingDown("The local cloud is shutting down")
            self._inflight += 1
        try:
            return self._invoke(config, payload, client_context, internal)
        finally:
            with self._inflight_cond:
                self._inflight -= 1
                self._inflight_cond.notify_all()

    def _invoke(
        self, config: FunctionConfig, payload: bytes, client_context: str | None, internal: bool
    ) -> InvokeResult:
        pool = self._pool(config)
        request_id = str(uuid.uuid4())
        worker, cold = self._acquire(config, pool, internal)
        if cold:
            init_error = worker.wait_ready()
            if init_error is not None:
                self._release(pool, worker, reusable=False)
                self._log_lines(
                    config, worker, [f"INIT_REPORT Init Duration: 0 ms Phase: init Status: error {init_error}"]
                )
                init_error.setdefault("requestId", request_id)
                result = InvokeResult(request_id, json.dumps(init_error).encode(), "Unhandled", cold_start=True)
                self._record(config, result, payload, time.time(), "error", [])
                return result
        invocation = _Invocation(request_id, time.monotonic())
        worker.current = invocation
        started_at = time.time()
        started = time.perf_counter()
        self.emit_log(config, worker.log_stream, f"START RequestId: {request_id} Version: {config.version}")
        deadline_ms = int(time.time() * 1000) + config.timeout * 1000
        try:
            worker.send(
                {
                    "requestId": request_id,
                    "payload": payload.decode("utf-8") if payload else "",
                    "deadlineMs": deadline_ms,
                    "clientContext": client_context,
                    "invokedFunctionArn": config.invoked_arn,
                }
            )
            message = worker.responses.get(timeout=config.timeout)
        except queue.Empty:
            worker.kill()
            message = {"timeout": True}
        except (BrokenPipeError, OSError):
            message = None
        duration = (time.perf_counter() - started) * 1000
        reusable = message is not None and "timeout" not in message
        function_error: str | None = "Unhandled"
        if message is None:
            code = worker.proc.wait()
            reason = f"signal: {signal.Signals(-code).name.lower()[3:]}" if code and code < 0 else f"exit status {code}"
            error = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {reason}",
            }
            body = json.dumps(error).encode()
        elif "timeout" in message:
            text = f"RequestId: {request_id} Error: Task timed out after {config.timeout:.2f} seconds"
            error = {"errorType": "Sandbox.Timedout", "errorMessage": text}
            self.emit_log(config, worker.log_stream, f"{datetime.now(UTC).isoformat()} {text}")
            body = json.dumps(error).encode()
        else:
            invocation.logs_done.wait(timeout=1.0)
            body = message["payload"].encode("utf-8")
            function_error = None if message["ok"] else "Unhandled"
        worker.current = None
        worker.invocations += 1
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {max(1, int(duration + 0.999))} ms"
            f"\tMemory Size: {config.memory} MB\tMax Memory Used: {worker.max_memory_mb()} MB"
        )
        if cold:
            report += f"\tInit Duration: {worker.init_ms:.2f} ms"
        self.emit_log(config, worker.log_stream, f"END RequestId: {request_id}")
        self.emit_log(config, worker.log_stream, report)
        self._release(pool, worker, reusable=reusable)
        tail = "\n".join(invocation.lines)[-4096:]
        result = InvokeResult(request_id, body, function_error, tail, config.version, cold, duration)
        status = "ok" if function_error is None else "timeout" if message and "timeout" in message else "error"
        self._record(config, result, payload, started_at, status, invocation.lines)
        return result

    def _record(
        self, config: FunctionConfig, result: InvokeResult, payload: bytes, started: float, status: str, logs: list[str]
    ) -> None:
        if self.metrics is not None:
            self.metrics(config, status, result.duration_ms)
        if self.recorder is not None:
            self.recorder.invocation(
                function=config.name,
                qualifier=config.qualifier,
                version=config.version,
                request_id=result.request_id,
                started=started,
                duration_ms=result.duration_ms,
                cold=result.cold_start,
                status=status,
                event=payload,
                response=result.payload,
                logs=logs,
            )

    # ---- async invoke ---------------------------------------------------------------------------------------------
    def invoke_async(
        self, name_or_arn: str, payload: bytes, *, qualifier: str | None = None, region: str = "us-east-1"
    ) -> str:
        """An ``Event`` invoke: queued, then run with retries; failures go to the destination or the DLQ. The
        qualifier (or the one in the name or ARN) picks the version that runs and the event invoke config read."""
        config = self.resolve(name_or_arn, qualifier, region)
        with self._inflight_cond:
            if not self._accepting:
                raise ShuttingDown("The local cloud is shutting down")
            self._async_pending += 1
        request_id = str(uuid.uuid4())
        self._async_queue.put(_AsyncEvent(config, payload, request_id, time.time()))
        return request_id

    def _async_loop(self) -> None:
        while True:
            event = self._async_queue.get()
            if event is None:
                return
            try:
                self._run_async(event)
            except Exception:  # noqa: BLE001 - a failing destination must not kill the dispatcher
                log.exception("async invocation of %s failed", event.config.name)
            finally:
                with self._inflight_cond:
                    self._async_pending -= 1
                    self._inflight_cond.notify_all()

    def _run_async(self, event: _AsyncEvent) -> None:
        invoke_config = self.event_invoke_config(event.config)
        retries = int(invoke_config.get("MaximumRetryAttempts", 2))
        max_age = float(invoke_config.get("MaximumEventAgeInSeconds", 21600))
        attempts = 0
        result: InvokeResult | None = None
        condition = "RetriesExhausted"
        error: str | None = None
        while True:
            attempts += 1
            try:
                # The invoked ARN again (an alias is resolved at each attempt), so the context names what was invoked.
                result = self.invoke(event.config.invoked_arn, event.payload, region=event.config.region)
                error = None if result.function_error is None else "Unhandled"
            except Throttled:
                error = "TooManyRequestsException"
            except ShuttingDown:
                log.warning(
                    "async event %s for %s dropped: the local cloud stopped before it ran",
                    event.request_id,
                    event.config.name,
                )
                return
            if error is None:
                break
            if attempts > retries:
                break
            delay = self.async_retry_delays[min(attempts - 1, len(self.async_retry_delays) - 1)]
            if time.time() + delay - event.received > max_age:
                condition = "EventAgeExceeded"
                break
            time.sleep(delay)
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "requestId": event.request_id,
                "functionArn": f"{event.config.function_arn}:{event.config.qualifier or '$LATEST'}",
                "condition": "Success" if error is None else condition,
                "approximateInvokeCount": attempts,
            },
            "requestPayload": _json_or_text(event.payload),
            "responseContext": {
                "statusCode": 200,
                "executedVersion": result.executed_version if result else event.config.version,
            },
            "responsePayload": _json_or_text(result.payload) if result else None,
        }
        if error is not None:
            record["responseContext"]["functionError"] = error
        if self.destinations is not None:
            self.destinations(event.config, "OnSuccess" if error is None else "OnFailure", record)

    def event_invoke_config(self, config: FunctionConfig) -> dict[str, Any]:
        """The asynchronous invocation settings of the qualifier that was invoked (``$LATEST`` when unqualified);
        {} when it has none, so Lambda's defaults apply."""
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[config.account][config.region]
        return invoke_configs.settings_for(backend, config.name, config.qualifier)

    def dead_letter_target(self, config: FunctionConfig) -> str | None:
        """The DeadLetterConfig target of the version that ran (it is part of the version's configuration)."""
        from moto.awslambda.models import lambda_backends

        fn = lambda_backends[config.account][config.region].get_function(config.name, config.version)
        target: str | None = (getattr(fn, "dead_letter_config", {}) or {}).get("TargetArn")
        return target

    # ---- logs -----------------------------------------------------------------------------------------------------
    def emit_log(self, config: FunctionConfig, stream: str, line: str) -> None:
        self.console(f"[{config.name}] {line}")
        self._log_queue.put((config, stream, line, time.time()))

    def _log_lines(self, config: FunctionConfig, worker: Worker, lines: list[str]) -> None:
        for line in lines:
            self.emit_log(config, worker.log_stream, line)

    def _ship_logs(self) -> None:
        """Batches log lines into CloudWatch Logs off the invoke path."""
        while True:
            item = self._log_queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < 500:
                try:
                    nxt = self._log_queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._log_queue.put(None)
                    break
                batch.append(nxt)
            grouped: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
            for config, stream, line, ts in batch:
                key = (config.account, config.region, f"/aws/lambda/{config.name}", stream)
                grouped.setdefault(key, []).append({"timestamp": int(ts * 1000), "message": line})
            if self.log_shipper is not None:
                for (account, region, group, stream), events in grouped.items():
                    try:
                        self.log_shipper(account, region, group, stream, events)
                    except Exception:  # noqa: BLE001 - losing a log line must never fail an invocation
                        log.exception("could not ship logs to %s", group)

    def flush_logs(self, timeout: float = 2.0) -> None:
        end = time.monotonic() + timeout
        while not self._log_queue.empty() and time.monotonic() < end:
            time.sleep(0.01)
        time.sleep(0.05)

    # ---- operations -----------------------------------------------------------------------------------------------
    def kill_busy_worker(self, function_name: str, *, limit: int | None = None) -> int:
        """Chaos: SIGKILL the workers of a function that are in the middle of an invocation (at most ``limit``)."""
        killed = 0
        with self._pools_lock:
            pools = [p for k, p in self._pools.items() if k[0].split(":")[6] == function_name]
        for pool in pools:
            with pool.cond:
                busy = [w for w in pool.busy if isinstance(w, Worker)]
            for worker in busy:
                if limit is not None and killed >= limit:
                    return killed
                worker.kill()
                killed += 1
        return killed

    def stats(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        with self._pools_lock:
            for key, pool in self._pools.items():
                name = key[0].split(":")[6]
                entry = out.setdefault(name, {"idle": 0, "busy": 0})
                entry["idle"] += len(pool.idle)
                entry["busy"] += len(pool.busy)
        return out

    def stop_accepting(self) -> None:
        with self._inflight_cond:
            self._accepting = False
            self._inflight_cond.notify_all()

    def drain(self, deadline: float) -> bool:
        """Wait for in-flight and queued invocations until ``deadline`` (monotonic); True when all finished."""
        with self._inflight_cond:
            while self._inflight or self._async_pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._inflight_cond.wait(timeout=remaining)
        return True

    def shutdown(self, grace_s: float = 2.0) -> None:
        """SIGTERM every worker (their shutdown hooks run), then SIGKILL what is left."""
        with self._pools_lock:
            workers = [w for p in self._pools.values() for w in [*p.idle, *p.busy] if isinstance(w, Worker)]
            self._pools.clear()
            self._limits.clear()
        threads = [threading.Thread(target=w.terminate, args=(grace_s,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.flush_logs()


class _Slot:
    """Reserves a place in a pool while a new worker starts."""


@dataclass
class _AsyncEvent:
    config: FunctionConfig
    payload: bytes
    request_id: str
    received: float


def _json_or_text(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return data.decode("utf-8", "replace")
