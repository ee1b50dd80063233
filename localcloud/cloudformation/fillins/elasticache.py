"""AWS::ElastiCache::ServerlessCache: a serverless cache on the local cloud's Valkey engine.

moto 5.2.5 has no serverless caches at all; the API operations are the local cloud's (``localcloud/elasticache/
caches.py``, added to moto's ElastiCache when it is imported). This fill-in creates the cache through the same function
as CreateServerlessCache, so DescribeServerlessCaches and the engine see a deployed cache exactly as one made through
the API:
- properties as in CreateServerlessCache (``ServerlessCacheName``, ``Engine``, ``MajorEngineVersion``, ``Description``,
  ``SecurityGroupIds``, ``SubnetIds``, ``KmsKeyId``, ``CacheUsageLimits``, ``UserGroupId``, snapshot settings, ``Tags``):
  the VPC settings are recorded and described back, not enforced;
- ``Ref`` is the cache's name; ``Fn::GetAtt`` answers ``ARN``, ``Endpoint.Address``, ``Endpoint.Port`` (a string, as
  CloudFormation documents it), ``ReaderEndpoint.Address``, ``ReaderEndpoint.Port``, ``FullEngineVersion``, ``Status``
  and ``CreateTime``;
- a new name or engine replaces the cache (a new, empty keyspace); the other properties change in place, as
  ModifyServerlessCache; stack delete deletes the cache and flushes its keyspace.
"""

from __future__ import annotations

from typing import Any

from .base import Context, FillIn, as_int, random_name_suffix, require, tags_to_list


def _backend(ctx: Context) -> Any:
    # Importing moto's ElastiCache runs the local cloud's hook that adds the serverless operations to it.
    from moto.elasticache.models import elasticache_backends

    return elasticache_backends[ctx.account_id][ctx.region_name]


def _caches() -> Any:
    # moto's ElastiCache first: its post-import hook imports `caches` whole and installs it. Importing `caches` first
    # would import moto's ElastiCache from inside it, and the hook would find `caches` half-initialised (a deploy that
    # creates a cache before any ElastiCache call failed that way).
    import moto.elasticache  # noqa: F401

    from localcloud.elasticache import caches

    return caches


def _params(props: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation properties to the CreateServerlessCache/ModifyServerlessCache parameters (the same names)."""
    limits = props.get("CacheUsageLimits")
    params: dict[str, Any] = {
        "Description": props.get("Description"),
        "Engine": props.get("Engine"),
        "MajorEngineVersion": props.get("MajorEngineVersion"),
        "SecurityGroupIds": props.get("SecurityGroupIds"),
        "SubnetIds": props.get("SubnetIds"),
        "KmsKeyId": props.get("KmsKeyId"),
        "CacheUsageLimits": _limits(limits) if limits else None,
        "UserGroupId": props.get("UserGroupId"),
        "SnapshotRetentionLimit": as_int(props.get("SnapshotRetentionLimit")),
        "DailySnapshotTime": props.get("DailySnapshotTime"),
        "Tags": tags_to_list(props.get("Tags")) or None,
    }
    return {k: v for k, v in params.items() if v is not None}


def _limits(limits: dict[str, Any]) -> dict[str, Any]:
    """Template numbers may arrive as strings; the API's are integers."""
    out: dict[str, Any] = {}
    for key, value in limits.items():
        out[key] = {k: (as_int(v) if k in ("Maximum", "Minimum") else v) for k, v in dict(value).items()}
    return out


class ServerlessCache(FillIn):
    CFN_TYPE = "AWS::ElastiCache::ServerlessCache"
    NAME_PROPERTY = "ServerlessCacheName"
    ATTRIBUTES = frozenset(
        {
            "ARN",
            "CreateTime",
            "Endpoint.Address",
            "Endpoint.Port",
            "FullEngineVersion",
            "ReaderEndpoint.Address",
            "ReaderEndpoint.Port",
            "Status",
        }
    )

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> ServerlessCache:
        require(props, "Engine", cls.CFN_TYPE)
        name = str(props.get("ServerlessCacheName") or cls._generated_name(ctx))
        cache = _caches().create_serverless_cache(_backend(ctx), {**_params(props), "ServerlessCacheName": name})
        return cls(ctx, cache.name, cls._attributes(cache))

    @staticmethod
    def _generated_name(ctx: Context) -> str:
        """CloudFormation's name for a cache without one: lowercase, at most 40 characters, starting with a letter."""
        base = "".join(c if c.isalnum() else "-" for c in f"{ctx.stack_name}-{ctx.logical_id}".lower())
        if not base[:1].isalpha():
            base = "c" + base
        return f"{base[:27].rstrip('-')}-{random_name_suffix(12).lower()}"

    @staticmethod
    def _attributes(cache: Any) -> dict[str, Any]:
        return {
            "ARN": cache.arn,
            "CreateTime": cache.create_time.isoformat(),
            "Endpoint.Address": cache.address,
            "Endpoint.Port": str(cache.port),
            "FullEngineVersion": cache.full_engine_version,
            "ReaderEndpoint.Address": cache.address,
            "ReaderEndpoint.Port": str(cache.port),
            "Status": cache.status,
        }

    def remove(self) -> None:
        backend = _backend(self.ctx)
        caches = _caches()
        if self.physical_resource_id in caches.caches_of(backend):
            caches.delete_serverless_cache(backend, self.physical_resource_id)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        """A new name, engine, subnets or KMS key replaces the cache (as CloudFormation documents them: "Replacement");
        everything else is ModifyServerlessCache, in place, keeping the keyspace."""
        backend = _backend(self.ctx)
        caches = _caches()
        current = caches.caches_of(backend).get(self.physical_resource_id)
        params = _params(props)
        replaced = current is None or (
            props.get("ServerlessCacheName", self.physical_resource_id) != self.physical_resource_id
            or str(params.get("Engine") or "").lower() != current.engine
            or list(params.get("SubnetIds") or []) != current.subnet_ids
            or params.get("KmsKeyId") != current.kms_key_id
        )
        if replaced:
            return super().update(props, new_resource_name)
        for fixed in ("Engine", "Tags", "SubnetIds", "KmsKeyId"):
            params.pop(fixed, None)
        cache = caches.modify_serverless_cache(backend, {**params, "ServerlessCacheName": self.physical_resource_id})
        self.attributes = self._attributes(cache)
        return self
