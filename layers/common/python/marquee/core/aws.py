"""Lazy, cached boto3 client factories.

- No client is ever created at import time (that breaks moto and slows cold starts); each factory builds its client on
  first call and caches it for the life of the execution environment.
- The endpoint is never set here: botocore honours ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``), which the
  local cloud injects. Against AWS those variables are absent and the real endpoints are used.
- ``probe_client`` builds clients for health checks: short connect/read timeouts and a single attempt, so a dependency
  that hangs is reported as failed instead of hanging the request.
- ``clear_clients()`` drops every cached client (tests call it between cases, e.g. around ``moto.mock_aws``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import boto3
from botocore.config import Config

if TYPE_CHECKING:  # the stubs are a development dependency; they are not shipped in the layer
    from botocore.client import BaseClient
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    BaseClient = Any
    DynamoDBClient = Any

ServiceName = Literal[
    "dynamodb", "sqs", "events", "secretsmanager", "stepfunctions", "cognito-idp", "s3", "lambda", "sts", "rds-data"
]

# boto3's default session is not safe to share across threads while clients are being created.
_create_lock = threading.Lock()
_caches: list[Any] = []
F = TypeVar("F", bound=Callable[..., Any])


def _client(service: ServiceName, config: Config | None = None) -> Any:
    with _create_lock:
        return boto3.client(service, config=config)  # type: ignore[call-overload]


def _registered(factory: F) -> F:
    cached = cache(factory)
    _caches.append(cached)
    return cast(F, cached)


@_registered
def region() -> str | None:
    """The region this execution environment's clients call, so the region every write of this function lands in.

    Lambda sets ``AWS_REGION`` and ``AWS_DEFAULT_REGION``; boto3 reads the latter. ``None`` outside Lambda when no
    region is configured (a tool or a test writing with explicit clients)."""
    with _create_lock:
        name = boto3.session.Session().region_name
    return str(name) if name else None


@_registered
def dynamodb() -> DynamoDBClient:
    """The function's DynamoDB client; main-table calls are routed to the tenant's shard when sharding is on."""
    from marquee.sharding.routing import routed

    routed_client: DynamoDBClient = routed(dynamodb_unrouted())
    return routed_client


@_registered
def dynamodb_unrouted() -> DynamoDBClient:
    """The raw client (the shard router's own reads of the control table, the shard mover)."""
    return _client("dynamodb")


@_registered
def sqs() -> BaseClient:
    return _client("sqs")


@_registered
def events() -> BaseClient:
    return _client("events")


@_registered
def secretsmanager() -> BaseClient:
    return _client("secretsmanager")


@_registered
def stepfunctions() -> BaseClient:
    return _client("stepfunctions")


@_registered
def cognito_idp() -> BaseClient:
    return _client("cognito-idp")


@_registered
def s3() -> BaseClient:
    return _client("s3")


@_registered
def lambda_() -> BaseClient:
    return _client("lambda")


@_registered
def sts() -> BaseClient:
    return _client("sts")


@_registered
def rds_data() -> BaseClient:
    return _client("rds-data")


@_registered
def probe_client(service: ServiceName, timeout_ms: int) -> BaseClient:
    """A client for health probes: one attempt, connect/read timeouts bounded by ``timeout_ms``."""
    seconds = max(timeout_ms / 1000.0, 0.1)
    config = Config(
        connect_timeout=seconds,
        read_timeout=seconds,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    return _client(service, config)


def clear_clients() -> None:
    """Forget every cached client, so the next call builds a fresh one (against the current endpoint/mock)."""
    for cached in _caches:
        cached.cache_clear()
    from marquee.sharding.routing import reset

    reset()
