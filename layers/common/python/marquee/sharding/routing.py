"""The one resolver: every DynamoDB call on the main table goes to the shard table of the tenant in its keys.

``routed(client)`` wraps a DynamoDB client (the function's own, or a tenant-scoped session's). Callers keep naming
the main table (``TABLE_NAME``); the wrapper reads the tenant from each key (``TENANT#{t}#...``), asks the cached shard
map where that tenant lives and rewrites ``TableName``. Keys without a tenant go to the home shard. Other tables pass
through untouched.

While a tenant moves, its writes carry the fence check (``fence.WRITE_ALLOWED``): single writes and transactions
become a transaction with one more ``ConditionCheck``; writes that cannot be in a transaction (``ReturnValues``,
batches, a 100-item transaction) read the fence first (check-then-write; the mover's grace covers the gap). A write
refused by a ``MOVED`` tombstone reloads the map and goes to the new shard; one refused by a live fence raises
``ShardFenced`` (HTTP 503, ``Retry-After: 1``; nothing was written, so a retry is safe).

The map is cached per process for ``staleness_s`` (5 s); the mover waits out that bound before it fences and before
it cleans up, so no writer can still use a map older than the move.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from functools import cache
from http import HTTPStatus
from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field

from marquee.core.env import BaseEnv
from marquee.core.errors import ConfigurationError, MarqueeError
from marquee.dynamo.conditions import CONDITION_FAILED
from marquee.dynamo.transactions import cancellation_reasons, is_cancelled
from marquee.sharding import fence
from marquee.sharding.control import ControlStore
from marquee.sharding.ring import ShardMap

DEFAULT_STALENESS_S = 5.0
MAX_TRANSACT_ITEMS = 100
_TRANSACT_FIELDS = {
    "put_item": ("Put", ("TableName", "Item", "ConditionExpression", "ExpressionAttributeNames",
                         "ExpressionAttributeValues", "ReturnValuesOnConditionCheckFailure")),
    "update_item": ("Update", ("TableName", "Key", "UpdateExpression", "ConditionExpression",
                               "ExpressionAttributeNames", "ExpressionAttributeValues",
                               "ReturnValuesOnConditionCheckFailure")),
    "delete_item": ("Delete", ("TableName", "Key", "ConditionExpression", "ExpressionAttributeNames",
                               "ExpressionAttributeValues", "ReturnValuesOnConditionCheckFailure")),
}  # fmt: skip


class ShardFenced(MarqueeError):
    """The tenant's data is being moved and writes are fenced for a moment (under a second): retry."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    slug = "tenant-moving"
    title = "Tenant data is moving"
    retry_after_s = 1


class CrossShardRequest(MarqueeError):
    """One request touched tenants on different shards (a transaction cannot span tables by tenant): a bug."""

    slug = "cross-shard-request"
    title = "Cross-shard request"


class _Refused(Exception):
    """The fence refused the write (nothing was written)."""


def tenant_from_pk(pk: str | None) -> str | None:
    if not pk or not pk.startswith("TENANT#"):
        return None
    parts = pk.split("#", 2)
    return parts[1] if len(parts) == 3 else None


def tenant_of(key_or_item: Mapping[str, Any] | None) -> str | None:
    return tenant_from_pk((key_or_item or {}).get("pk", {}).get("S"))


class ShardRouter:
    """The shard map, cached for ``staleness_s`` and reloaded on demand (after a refused write)."""

    def __init__(
        self,
        control: ControlStore,
        *,
        default: ShardMap,
        staleness_s: float = DEFAULT_STALENESS_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.control = control
        self.default = default
        self.staleness_s = staleness_s
        self._clock = clock
        self._lock = threading.Lock()
        self._map: ShardMap | None = None
        self._loaded_at = 0.0
        self.loads = 0

    def current(self) -> ShardMap:
        with self._lock:
            if self._map is not None and self._clock() - self._loaded_at < self.staleness_s:
                return self._map
        return self.refresh()

    def refresh(self) -> ShardMap:
        loaded = self.control.load() or self.control.ensure(self.default)
        with self._lock:
            self._map, self._loaded_at = loaded, self._clock()
            self.loads += 1
        return loaded

    def table_for(self, tenant_id: str | None) -> str:
        return self.current().table_of(tenant_id)


def scan_targets(client: Any, table_name: str) -> list[tuple[str, Callable[[str | None], bool]]]:
    """Where a platform-wide scan of ``table_name`` must read: each shard table, with the test of which tenants' items
    to keep from it (those the map places there: a tenant being moved is read from its source until the flip, and a
    copy left behind until clean-up is not read twice). Unrouted clients and other tables: the table itself, all."""
    if not isinstance(client, RoutedDynamoDB) or table_name != client.logical_table:
        return [(table_name, lambda _tenant: True)]
    shard_map = client.router.current()

    def holds(table: str) -> Callable[[str | None], bool]:
        return lambda tenant: shard_map.table_of(tenant) == table

    return [(table, holds(table)) for table in dict.fromkeys(shard_map.shards.values())]


def _moving_source(shard_map: ShardMap, tenant_id: str | None) -> bool:
    if tenant_id is None or tenant_id not in shard_map.moving:
        return False
    return shard_map.moving[tenant_id].source == shard_map.shard_of(tenant_id)


def _now_ms() -> int:
    return int(time.time() * 1000)


class RoutedDynamoDB:
    """A DynamoDB client whose main-table calls go to the tenant's shard. Anything not overridden passes through."""

    MAX_REROUTES = 2

    def __init__(self, client: Any, router: ShardRouter, logical_table: str) -> None:
        self._client = client
        self.router = router
        self.logical_table = logical_table

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    @property
    def unrouted(self) -> Any:
        return self._client

    # ---- reads ------------------------------------------------------------------------------------------------------
    def get_item(self, **kwargs: Any) -> Any:
        return self._client.get_item(**self._rewrite(kwargs, tenant_of(kwargs.get("Key"))))

    def query(self, **kwargs: Any) -> Any:
        return self._client.query(**self._rewrite(kwargs, self._query_tenant(kwargs)))

    def scan(self, **kwargs: Any) -> Any:
        """A scan has no tenant: it reads the home shard only (see the pattern page: scans are not fanned out)."""
        return self._client.scan(**self._rewrite(kwargs, None))

    def transact_get_items(self, **kwargs: Any) -> Any:
        shard_map = self.router.current()
        items = []
        for entry in kwargs["TransactItems"]:
            get = entry["Get"]
            if get["TableName"] == self.logical_table:
                get = {**get, "TableName": shard_map.table_of(tenant_of(get["Key"]))}
            items.append({"Get": get})
        return self._client.transact_get_items(**{**kwargs, "TransactItems": items})

    def batch_get_item(self, **kwargs: Any) -> Any:
        request = dict(kwargs["RequestItems"])
        spec = request.pop(self.logical_table, None)
        if spec is None:
            return self._client.batch_get_item(**kwargs)
        shard_map = self.router.current()
        physical: set[str] = set()
        for key in spec["Keys"]:
            table = shard_map.table_of(tenant_of(key))
            physical.add(table)
            request.setdefault(table, {**spec, "Keys": []})["Keys"].append(key)
        response = self._client.batch_get_item(**{**kwargs, "RequestItems": request})
        for field in ("Responses", "UnprocessedKeys"):
            found = response.get(field) or {}
            merged: Any = [] if field == "Responses" else None
            for table in physical:
                part = found.pop(table, None)
                if part is None:
                    continue
                if field == "Responses":
                    merged.extend(part)
                elif merged is None:
                    merged = part
                else:
                    merged["Keys"].extend(part["Keys"])
            if merged:
                found[self.logical_table] = merged
        return response

    # ---- writes -----------------------------------------------------------------------------------------------------
    def put_item(self, **kwargs: Any) -> Any:
        return self._write("put_item", kwargs, tenant_of(kwargs.get("Item")))

    def update_item(self, **kwargs: Any) -> Any:
        return self._write("update_item", kwargs, tenant_of(kwargs.get("Key")))

    def delete_item(self, **kwargs: Any) -> Any:
        return self._write("delete_item", kwargs, tenant_of(kwargs.get("Key")))

    def transact_write_items(self, **kwargs: Any) -> Any:
        entries = kwargs["TransactItems"]
        tenants = {tenant_of(self._entry_key(e)) for e in entries if self._entry_table(e) == self.logical_table}
        if not tenants:
            return self._client.transact_write_items(**kwargs)
        for _ in range(self.MAX_REROUTES + 1):
            shard_map = self.router.current()
            if len({shard_map.table_of(t) for t in tenants}) > 1:
                raise CrossShardRequest(
                    f"one transaction touched tenants on different shards: {sorted(map(str, tenants))}"
                )
            rewritten = [self._rewrite_entry(e, shard_map) for e in entries]
            moving = sorted(t for t in tenants if t is not None and _moving_source(shard_map, t))
            try:
                if not moving:
                    return self._client.transact_write_items(**{**kwargs, "TransactItems": rewritten})
                table = shard_map.table_of(moving[0])
                if len(rewritten) + len(moving) > MAX_TRANSACT_ITEMS:
                    self._check_fences(table, moving)
                    return self._client.transact_write_items(**{**kwargs, "TransactItems": rewritten})
                checks = [fence.fence_check(table, t, _now_ms()) for t in moving]
                try:
                    return self._client.transact_write_items(**{**kwargs, "TransactItems": rewritten + checks})
                except ClientError as exc:
                    if is_cancelled(exc):
                        reasons = cancellation_reasons(exc)
                        if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons[len(rewritten) :]):
                            raise _Refused from exc
                        exc.response["CancellationReasons"] = reasons[: len(rewritten)]  # type: ignore[typeddict-unknown-key]
                    raise
            except _Refused:
                if not self._rerouted(shard_map, tenants):
                    raise ShardFenced("The tenant's data is moving; retry in a second.") from None
        raise ShardFenced("The tenant's data moved while the request retried; retry in a second.")

    def batch_write_item(self, **kwargs: Any) -> Any:
        request = dict(kwargs["RequestItems"])
        entries = request.pop(self.logical_table, None)
        if entries is None:
            return self._client.batch_write_item(**kwargs)
        shard_map = self.router.current()
        physical: set[str] = set()
        moving: dict[str, set[str]] = {}
        for entry in entries:
            key = entry.get("PutRequest", {}).get("Item") or entry.get("DeleteRequest", {}).get("Key")
            tenant = tenant_of(key)
            table = shard_map.table_of(tenant)
            physical.add(table)
            request.setdefault(table, []).append(entry)
            if tenant is not None and _moving_source(shard_map, tenant):
                moving.setdefault(table, set()).add(tenant)
        try:
            for table, fenced in moving.items():
                self._check_fences(table, sorted(fenced))
        except _Refused:
            self.router.refresh()
            raise ShardFenced("The tenant's data is moving; retry in a second.") from None
        response = self._client.batch_write_item(**{**kwargs, "RequestItems": request})
        unprocessed = response.get("UnprocessedItems") or {}
        back = [e for table in physical for e in (unprocessed.pop(table, None) or [])]
        if back:
            unprocessed[self.logical_table] = back
        return response

    # ---- internals --------------------------------------------------------------------------------------------------
    def _rewrite(self, kwargs: dict[str, Any], tenant_id: str | None) -> dict[str, Any]:
        if kwargs.get("TableName") != self.logical_table:
            return kwargs
        return {**kwargs, "TableName": self.router.table_for(tenant_id)}

    def _query_tenant(self, kwargs: Mapping[str, Any]) -> str | None:
        values = kwargs.get("ExpressionAttributeValues") or {}
        tenants = {tenant_from_pk(v.get("S")) for v in values.values() if isinstance(v, dict)} - {None}
        if len(tenants) > 1:
            raise CrossShardRequest(f"one query named several tenants: {sorted(map(str, tenants))}")
        return next(iter(tenants), None)

    @staticmethod
    def _entry_table(entry: Mapping[str, Any]) -> str:
        return str(next(iter(entry.values()))["TableName"])

    @staticmethod
    def _entry_key(entry: Mapping[str, Any]) -> Any:
        op = next(iter(entry.values()))
        return op.get("Key") or op.get("Item")

    def _rewrite_entry(self, entry: dict[str, Any], shard_map: ShardMap) -> dict[str, Any]:
        (kind, op), *_ = entry.items()
        if op["TableName"] != self.logical_table:
            return entry
        return {kind: {**op, "TableName": shard_map.table_of(tenant_of(op.get("Key") or op.get("Item")))}}

    def _rerouted(self, old: ShardMap, tenants: set[str | None]) -> bool:
        """After a refusal: reload the map; True if a tenant now lives elsewhere (retry there)."""
        fresh = self.router.refresh()
        return any(fresh.table_of(t) != old.table_of(t) for t in tenants)

    def _check_fences(self, table: str, tenants: list[str]) -> None:
        now = _now_ms()
        for tenant in tenants:
            item = self._client.get_item(TableName=table, Key=fence.fence_key(tenant), ConsistentRead=True).get("Item")
            if not fence.allows_write(item, now):
                raise _Refused

    def _write(self, op: str, kwargs: dict[str, Any], tenant_id: str | None) -> Any:
        call = getattr(self._client, op)
        if kwargs.get("TableName") != self.logical_table:
            return call(**kwargs)
        for _ in range(self.MAX_REROUTES + 1):
            shard_map = self.router.current()
            request = {**kwargs, "TableName": shard_map.table_of(tenant_id)}
            if not _moving_source(shard_map, tenant_id):
                return call(**request)
            assert tenant_id is not None  # noqa: S101 - a moving tenant has an id
            try:
                return self._fenced_write(op, request, tenant_id)
            except _Refused:
                if not self._rerouted(shard_map, {tenant_id}):
                    raise ShardFenced("The tenant's data is moving; retry in a second.") from None
        raise ShardFenced("The tenant's data moved while the request retried; retry in a second.")

    def _fenced_write(self, op: str, request: dict[str, Any], tenant_id: str) -> Any:
        kind, fields = _TRANSACT_FIELDS[op]
        transactable = request.get("ReturnValues", "NONE") == "NONE" and set(request) <= {*fields, "ReturnValues"}
        table = request["TableName"]
        if not transactable:
            self._check_fences(table, [tenant_id])
            return getattr(self._client, op)(**request)
        entry = {kind: {k: v for k, v in request.items() if k in fields}}
        try:
            self._client.transact_write_items(TransactItems=[entry, fence.fence_check(table, tenant_id, _now_ms())])
        except ClientError as exc:
            if not is_cancelled(exc):
                raise
            reasons = cancellation_reasons(exc)
            if len(reasons) > 1 and reasons[1].get("Code") == "ConditionalCheckFailed":
                raise _Refused from exc
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                error: dict[str, Any] = {
                    "Error": {"Code": CONDITION_FAILED, "Message": "The conditional request failed"},
                    "ResponseMetadata": exc.response.get("ResponseMetadata", {}),
                }
                if "Item" in reasons[0]:
                    error["Item"] = reasons[0]["Item"]
                raise ClientError(error, op.title().replace("_", "")) from exc  # type: ignore[arg-type]
            raise
        return {}


# ---- configuration ----------------------------------------------------------------------------------------------------
class ShardingEnv(BaseEnv):
    """Sharding is on when ``SHARD_CONTROL_TABLE_NAME`` is set; then ``TABLE_NAME`` (the logical main table, also
    shard s0) and ``SHARD_TABLES`` (every shard's table, comma-separated, s0 first) are required."""

    table_name: str | None = None
    shard_control_table_name: str | None = None
    shard_tables: str | None = None
    shard_ring_size: int | None = Field(default=None, ge=1)
    shard_staleness_s: float = Field(default=DEFAULT_STALENESS_S, gt=0, le=60)


def default_map(tables: list[str], ring_size: int | None = None) -> ShardMap:
    """Version 0: shards s0..sN-1 over ``tables``; the first ``ring_size`` on the ring, the rest kept for silos."""
    shards = {f"s{i}": table for i, table in enumerate(tables)}
    ring = tuple(list(shards)[: ring_size or len(shards)])
    return ShardMap(version=0, shards=shards, ring=ring, home="s0")


@cache
def _env() -> ShardingEnv:
    return ShardingEnv()


@cache
def process_router() -> ShardRouter | None:
    """The process's router (one map cache per execution environment), or None when sharding is off. A function that
    only asks where tenants live (the projector) needs the map's variables, not ``TABLE_NAME``."""
    env = _env()
    if not env.shard_control_table_name:
        return None
    if not env.shard_tables:
        raise ConfigurationError("sharding is on (SHARD_CONTROL_TABLE_NAME) but SHARD_TABLES is not set")
    from marquee.core import aws

    tables = [t.strip() for t in env.shard_tables.split(",") if t.strip()]
    control = ControlStore(env.shard_control_table_name, aws.dynamodb_unrouted())
    return ShardRouter(control, default=default_map(tables, env.shard_ring_size), staleness_s=env.shard_staleness_s)


def routed(client: Any) -> Any:
    """``client`` routed by tenant when sharding is configured; ``client`` itself otherwise."""
    router = process_router()
    if router is None:
        return client
    if not _env().table_name:
        raise ConfigurationError("sharding is on (SHARD_CONTROL_TABLE_NAME) but TABLE_NAME is not set")
    return RoutedDynamoDB(client, router, _env().table_name or "")


def reset() -> None:
    """Forget the configuration and the cached map (tests)."""
    _env.cache_clear()
    process_router.cache_clear()
