"""Serverless caches in moto's ElastiCache backend, each with a real keyspace on the Valkey engine.

moto 5.2.5's ElastiCache has cache clusters, replication groups, users and snapshots, but no serverless caches: botocore
knows ``CreateServerlessCache`` and moto answers it with an unknown-action error. :func:`install` adds four operations
to moto's ``ElastiCacheBackend`` (state) and ``ElastiCacheResponse`` (the query protocol), answered through moto's own
serializer from botocore's output shapes, so every field has AWS's name and type:
- ``CreateServerlessCache``: engine ``valkey`` or ``redis`` (both served by Valkey, as AWS serves Redis OSS 7 caches
  with a Redis-compatible engine); ``memcached`` is refused by name. The engine gives the cache a keyspace first, then
  the cache is recorded with ``Status: available`` at once (AWS: ``creating`` for a minute or so). ``Endpoint`` and
  ``ReaderEndpoint`` are both ``{Address: 127.0.0.1, Port: <its server's port>}`` (AWS: a DNS name, ports 6379 and
  6380). ``SecurityGroupIds``, ``SubnetIds``, ``KmsKeyId``, ``CacheUsageLimits``, ``UserGroupId``, snapshot settings
  and tags are recorded and described back; nothing enforces them;
- ``DescribeServerlessCaches`` (one by name, or all; no pagination: every cache in one page);
- ``ModifyServerlessCache``: description, limits, security groups, user group, snapshot settings;
- ``DeleteServerlessCache``: answers the cache with ``Status: deleting``; its keyspace is flushed and its server stopped
  at once, and it is gone from the next describe (AWS: listed as ``deleting`` for a while).

The module imports moto at the top: the local cloud imports it only from the hook that moto's ElastiCache import runs
(``localcloud.patches.when_imported``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from moto.core.responses import ActionResult
from moto.elasticache.exceptions import ElastiCacheException
from moto.elasticache.models import ElastiCacheBackend
from moto.elasticache.responses import ElastiCacheResponse

if TYPE_CHECKING:
    from localcloud.elasticache.engine import ValkeyEngine

log = logging.getLogger("localcloud.elasticache")

ENGINES = {"valkey": "8", "redis": "7"}  # AWS's default major version for each engine it serves serverless
NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")  # AWS: 1-40 lowercase letters, digits, hyphens; starting with a letter
_MARK = "__localcloud_serverless__"


class ServerlessCacheNotFoundFault(ElastiCacheException):
    code = "ServerlessCacheNotFoundFault"

    def __init__(self, name: str) -> None:
        super().__init__(f"Serverless cache {name} not found.")


class ServerlessCacheAlreadyExistsFault(ElastiCacheException):
    code = "ServerlessCacheAlreadyExistsFault"

    def __init__(self, name: str) -> None:
        super().__init__(f"Serverless cache {name} already exists.")


class InvalidParameterValue(ElastiCacheException):
    code = "InvalidParameterValue"


@dataclass
class ServerlessCache:
    name: str
    account_id: str
    region: str
    engine: str
    major_engine_version: str
    full_engine_version: str
    address: str
    port: int
    description: str = ""
    security_group_ids: list[str] = field(default_factory=list)
    subnet_ids: list[str] = field(default_factory=list)
    kms_key_id: str | None = None
    cache_usage_limits: dict[str, Any] | None = None
    user_group_id: str | None = None
    snapshot_retention_limit: int | None = None
    daily_snapshot_time: str | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    status: str = "available"
    create_time: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def arn(self) -> str:
        partition = "aws-cn" if self.region.startswith("cn-") else "aws"
        return f"arn:{partition}:elasticache:{self.region}:{self.account_id}:serverlesscache:{self.name}"

    @property
    def key(self) -> str:
        return f"{self.account_id}/{self.region}/{self.name}"

    def to_api(self) -> dict[str, Any]:
        """The ``ServerlessCache`` shape of the ElastiCache API."""
        endpoint = {"Address": self.address, "Port": self.port}
        shape: dict[str, Any] = {
            "ServerlessCacheName": self.name,
            "Description": self.description,
            "CreateTime": self.create_time,
            "Status": self.status,
            "Engine": self.engine,
            "MajorEngineVersion": self.major_engine_version,
            "FullEngineVersion": self.full_engine_version,
            "SecurityGroupIds": self.security_group_ids,
            "Endpoint": endpoint,
            "ReaderEndpoint": dict(endpoint),
            "ARN": self.arn,
            "SubnetIds": self.subnet_ids,
            "NetworkType": "ipv4",
        }
        optional = {
            "CacheUsageLimits": self.cache_usage_limits,
            "KmsKeyId": self.kms_key_id,
            "UserGroupId": self.user_group_id,
            "SnapshotRetentionLimit": self.snapshot_retention_limit,
            "DailySnapshotTime": self.daily_snapshot_time,
        }
        shape.update({k: v for k, v in optional.items() if v is not None})
        return shape


# --- the backend's state and operations -----------------------------------------------------------------------------

_engine: Callable[[], ValkeyEngine] | None = None


def caches_of(backend: ElastiCacheBackend) -> dict[str, ServerlessCache]:
    """The backend's serverless caches. Kept in its ``__dict__``, so moto's reset (a fresh ``__dict__``) forgets them
    with everything else; the local cloud's reset releases their keyspaces."""
    found: dict[str, ServerlessCache] = backend.__dict__.setdefault("serverless_caches", {})
    return found


def create_serverless_cache(backend: ElastiCacheBackend, params: dict[str, Any]) -> ServerlessCache:
    name = str(params.get("ServerlessCacheName") or "")
    engine_name = str(params.get("Engine") or "").lower()
    if not NAME.match(name):
        raise InvalidParameterValue(
            f"Invalid serverless cache name {name!r}: 1 to 40 lowercase letters, digits or hyphens, "
            "starting with a letter."
        )
    if engine_name not in ENGINES:
        raise InvalidParameterValue(
            f"Engine {engine_name!r} is not served by the local cloud: serverless caches run Valkey (engine valkey or "
            "redis); memcached is not emulated."
        )
    caches = caches_of(backend)
    if name in caches:
        raise ServerlessCacheAlreadyExistsFault(name)
    if _engine is None:
        raise InvalidParameterValue("the local cloud's Valkey engine is not installed in this process")
    engine = _engine()
    from localcloud.elasticache.engine import EngineError

    key = f"{backend.account_id}/{backend.region_name}/{name}"
    try:
        server = engine.create(key)
    except EngineError as exc:
        log.exception("creating serverless cache %s on the Valkey engine failed", name)
        raise InvalidParameterValue(f"the local cloud's Valkey engine: {exc}") from exc
    cache = ServerlessCache(
        name=name,
        account_id=backend.account_id,
        region=backend.region_name,
        engine=engine_name,
        major_engine_version=str(params.get("MajorEngineVersion") or ENGINES[engine_name]),
        full_engine_version=engine.version or "unknown",
        address=server.host,
        port=server.port,
        description=str(params.get("Description") or ""),
        security_group_ids=list(params.get("SecurityGroupIds") or []),
        subnet_ids=list(params.get("SubnetIds") or []),
        kms_key_id=params.get("KmsKeyId"),
        cache_usage_limits=params.get("CacheUsageLimits"),
        user_group_id=params.get("UserGroupId"),
        snapshot_retention_limit=params.get("SnapshotRetentionLimit"),
        daily_snapshot_time=params.get("DailySnapshotTime"),
        tags=[{"Key": t["Key"], "Value": t.get("Value", "")} for t in params.get("Tags") or []],
    )
    caches[name] = cache
    return cache


def describe_serverless_caches(backend: ElastiCacheBackend, name: str | None = None) -> list[ServerlessCache]:
    caches = caches_of(backend)
    if name:
        if name not in caches:
            raise ServerlessCacheNotFoundFault(name)
        return [caches[name]]
    return list(caches.values())


def modify_serverless_cache(backend: ElastiCacheBackend, params: dict[str, Any]) -> ServerlessCache:
    cache = describe_serverless_caches(backend, str(params.get("ServerlessCacheName") or ""))[0]
    if "Description" in params:
        cache.description = str(params["Description"])
    if "CacheUsageLimits" in params:
        cache.cache_usage_limits = params["CacheUsageLimits"]
    if "SecurityGroupIds" in params:
        cache.security_group_ids = list(params["SecurityGroupIds"] or [])
    if params.get("RemoveUserGroup"):
        cache.user_group_id = None
    elif "UserGroupId" in params:
        cache.user_group_id = params["UserGroupId"]
    if "SnapshotRetentionLimit" in params:
        cache.snapshot_retention_limit = params["SnapshotRetentionLimit"]
    if "DailySnapshotTime" in params:
        cache.daily_snapshot_time = params["DailySnapshotTime"]
    if "MajorEngineVersion" in params:
        cache.major_engine_version = str(params["MajorEngineVersion"])
    return cache


def delete_serverless_cache(backend: ElastiCacheBackend, name: str) -> ServerlessCache:
    cache = describe_serverless_caches(backend, name)[0]
    del caches_of(backend)[name]
    cache.status = "deleting"
    if _engine is not None:
        _engine().delete(cache.key)
    return cache


# --- the query protocol ---------------------------------------------------------------------------------------------


def _backend(response: ElastiCacheResponse) -> ElastiCacheBackend:
    return response.elasticache_backend


def _create(response: ElastiCacheResponse) -> ActionResult:
    return ActionResult(
        {"ServerlessCache": create_serverless_cache(_backend(response), response._get_params()).to_api()}
    )


def _describe(response: ElastiCacheResponse) -> ActionResult:
    name = response._get_param("ServerlessCacheName")
    return ActionResult(
        {"ServerlessCaches": [c.to_api() for c in describe_serverless_caches(_backend(response), name)]}
    )


def _modify(response: ElastiCacheResponse) -> ActionResult:
    return ActionResult(
        {"ServerlessCache": modify_serverless_cache(_backend(response), response._get_params()).to_api()}
    )


def _delete(response: ElastiCacheResponse) -> ActionResult:
    name = str(response._get_param("ServerlessCacheName") or "")
    return ActionResult({"ServerlessCache": delete_serverless_cache(_backend(response), name).to_api()})


def install(engine: Callable[[], ValkeyEngine]) -> None:
    """Point the operations at ``engine`` (the latest local cloud's) and add them to moto's ElastiCache, once."""
    global _engine
    _engine = engine
    if getattr(ElastiCacheResponse, _MARK, False):
        return
    ElastiCacheResponse.create_serverless_cache = _create  # type: ignore[attr-defined]
    ElastiCacheResponse.describe_serverless_caches = _describe  # type: ignore[attr-defined]
    ElastiCacheResponse.modify_serverless_cache = _modify  # type: ignore[attr-defined]
    ElastiCacheResponse.delete_serverless_cache = _delete  # type: ignore[attr-defined]
    setattr(ElastiCacheResponse, _MARK, True)
