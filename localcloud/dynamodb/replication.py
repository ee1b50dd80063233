"""DynamoDB global tables (version 2019.11.21) on one local cloud: a stream-driven replicator between regions.

moto keeps regions apart but ignores replicas. This fills them in, as AWS documents global tables (MREC):
- a replica is added with ``UpdateTable`` ``ReplicaUpdates`` (``Create``/``Delete``) or by CloudFormation's
  ``AWS::DynamoDB::GlobalTable`` (localcloud/cloudformation/fillins/dynamodb.py). The replica table gets the same name,
  key schema, indexes and a ``NEW_AND_OLD_IMAGES`` stream (AWS enables it; another view type is refused), and the
  items the table already holds. ``DescribeTable`` answers ``Replicas`` and ``GlobalTableVersion: 2019.11.21``;
- every write a replica accepts appears in its stream; the replicator reads every replica's stream and applies each
  item write (put or delete, item by item: a transaction's items are not replicated together) to every other replica
  after ``lag_s``. A replicated write appears in the receiving replica's stream too, as on AWS, and is never sent on;
- conflicts: last writer wins on the write's timestamp. Each item's last-write timestamp is kept per replica (AWS keeps
  it as a private system attribute); an incoming write lands only if its timestamp is later than the item's there,
  otherwise it is dropped silently (AWS records conflicts nowhere either). Equal timestamps: the higher region name
  wins, so every replica converges on the same item;
- ``ReplicationLatency`` (namespace ``AWS/DynamoDB``, milliseconds, dimensions ``TableName`` and ``ReceivingRegion``)
  goes to CloudWatch in the source region, aggregated once a second: the time from the write to its appearance in the
  other replica;
- a region made unavailable (:meth:`Replication.set_region_down`, the cloud's region chaos) neither sends nor receives:
  its writes wait in the replicator, as writes wait in a failed AWS region, and replicate when it is back (where they
  can lose to later writes made elsewhere meanwhile). What waits is what a failover loses: the RPO.

The replicator reads moto's stream shards in process, under the DynamoDB lock (localcloud/dynamodb/atomicity.py), so a
write and the check that decides a conflict never interleave.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("localcloud.replication")

GLOBAL_TABLE_VERSION = "2019.11.21"
DEFAULT_LAG_S = 0.5  # AWS: "typically within a second"
METRIC_NAMESPACE = "AWS/DynamoDB"
METRIC_NAME = "ReplicationLatency"
METRIC_PERIOD_S = 1.0


class ReplicaError(ValueError):
    """A replica update AWS would refuse (ValidationException)."""


@dataclass(order=True)
class _Pending:
    due: float
    written_at: float = field(compare=False)
    account: str = field(compare=False)
    table: str = field(compare=False)
    source: str = field(compare=False)
    dest: str = field(compare=False)
    key: dict[str, Any] = field(compare=False)
    image: dict[str, Any] | None = field(compare=False)  # None: a delete


class _Applying(threading.local):
    source: str | None = None
    written_at: float = 0.0


_applying = _Applying()
_current: Replication | None = None


def current() -> Replication:
    """The running cloud's replicator (one per process, like moto's backends)."""
    global _current
    if _current is None:
        _current = Replication()
    return _current


class Replication:
    def __init__(self, lag_s: float = DEFAULT_LAG_S, interval_s: float = 0.02) -> None:
        self.lag_s = lag_s
        self.interval_s = interval_s
        self.groups: dict[tuple[str, str], set[str]] = {}  # (account, table) -> regions holding a replica
        self.down: set[str] = set()
        self.conflicts_lost = 0
        self.applied = 0
        self._cursors: dict[tuple[str, str, str], tuple[int, int]] = {}  # (account, region, table) -> (shard id, index)
        self._versions: dict[tuple[str, str, str], dict[str, tuple[float, str]]] = defaultdict(dict)
        self._pending: list[_Pending] = []
        self._samples: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
        self._last_flush = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- the component's lifecycle (LocalCloud starts, drains and stops it) ----------------------------------------
    def start(self) -> None:
        global _current
        _current = self
        self._thread = threading.Thread(target=self._loop, name="ddb-replication", daemon=True)
        self._thread.start()

    def stop_accepting(self) -> None:
        pass

    def drain(self, deadline: float) -> bool:
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    # ---- replicas ---------------------------------------------------------------------------------------------------
    def add_replica(self, account: str, region: str, table_name: str, replica_region: str) -> None:
        """Make ``replica_region`` hold a replica of ``table_name`` (as UpdateTable ReplicaUpdates Create does)."""
        from moto.dynamodb.models import dynamodb_backends

        from localcloud.dynamodb.atomicity import _LOCK

        with _LOCK:
            source = dynamodb_backends[account][region].get_table(table_name)
            spec = source.stream_specification or {}
            if spec.get("StreamEnabled") and spec.get("StreamViewType") != "NEW_AND_OLD_IMAGES":
                raise ReplicaError("Table stream must be enabled with NEW_AND_OLD_IMAGES to add a replica")
            if not spec.get("StreamEnabled"):
                source.set_stream_specification({"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
            group = self.groups.setdefault((account, table_name), {region})
            if replica_region in group:
                raise ReplicaError(f"Replica in region {replica_region} of table {table_name} already exists")
            self._collect(account, region, table_name)  # what the source holds now is the backfill, not a write
            target_backend = dynamodb_backends[account][replica_region]
            if table_name not in target_backend.tables:
                target_backend.create_table(
                    table_name,
                    schema=source.schema,
                    throughput=source.throughput,
                    attr=source.attr,
                    global_indexes=[i.describe() for i in source.global_indexes],
                    indexes=[i.describe() for i in source.indexes],
                    streams={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
                    billing_mode=source.billing_mode or "PAY_PER_REQUEST",
                    sse_specification=None,
                    tags=[],
                    deletion_protection_enabled=False,
                    warm_throughput=None,
                )
            now = time.time()
            versions = self._versions[(account, replica_region, table_name)]
            for item in list(source.all_items()):
                image = item.to_json()["Attributes"]
                self._write(account, replica_region, table_name, image, None, region, now)
                key = {a: image[a] for a in (source.hash_key_attr, source.range_key_attr) if a}
                versions[_key_id(key)] = (now, region)
            group.add(replica_region)
            self._collect(account, replica_region, table_name)  # the backfill's own records are not sent on

    def remove_replica(self, account: str, table_name: str, replica_region: str) -> None:
        """Delete the replica in ``replica_region`` (UpdateTable ReplicaUpdates Delete): its table goes."""
        from moto.dynamodb.models import dynamodb_backends

        from localcloud.dynamodb.atomicity import _LOCK

        with _LOCK:
            group = self.groups.get((account, table_name), set())
            if replica_region not in group:
                raise ReplicaError(f"Replica in region {replica_region} of table {table_name} does not exist")
            group.discard(replica_region)
            dynamodb_backends[account][replica_region].tables.pop(table_name, None)
            self._pending = [p for p in self._pending if p.dest != replica_region or p.table != table_name]
            if len(group) < 2:
                self.groups.pop((account, table_name), None)

    def replicas_of(self, account: str, table_name: str) -> set[str]:
        return set(self.groups.get((account, table_name), set()))

    def set_region_down(self, region: str, down: bool) -> None:
        (self.down.add if down else self.down.discard)(region)

    def status(self) -> dict[str, Any]:
        pending: dict[str, int] = defaultdict(int)
        for p in self._pending:
            pending[f"{p.table} {p.source}->{p.dest}"] += 1
        return {
            "lagMs": round(self.lag_s * 1000),
            "globalTables": {f"{a}/{t}": sorted(r) for (a, t), r in self.groups.items()},
            "pending": dict(pending),
            "applied": self.applied,
            "conflictsLost": self.conflicts_lost,
            "regionsDown": sorted(self.down),
        }

    # ---- the loop ---------------------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            if not self.groups:
                continue
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the replicator must outlive one bad record; it is logged
                log.exception("replication tick failed")

    def tick(self, now: float | None = None) -> None:
        from localcloud.dynamodb.atomicity import _LOCK

        with _LOCK:
            for (account, table), regions in list(self.groups.items()):
                for region in list(regions):
                    self._collect(account, region, table)
            self._apply_due(time.time() if now is None else now)
        if time.monotonic() - self._last_flush >= METRIC_PERIOD_S:
            self._flush_metrics()

    def _collect(self, account: str, region: str, table_name: str) -> None:
        """Read the replica's new stream records: its own writes are versioned and queued for every other replica."""
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends[account][region].tables.get(table_name)
        shard = getattr(table, "stream_shard", None)
        if shard is None:
            return
        shard_id, start = self._cursors.get((account, region, table_name), (id(shard), 0))
        if shard_id != id(shard):  # the table (or its stream) was recreated
            start = 0
        records = shard.items[start:]
        self._cursors[(account, region, table_name)] = (id(shard), start + len(records))
        versions = self._versions[(account, region, table_name)]
        others = self.groups.get((account, table_name), set()) - {region}
        for record in records:
            if getattr(record, "localcloud_origin", None) is not None:
                continue  # a replicated write: versioned when it was applied, never sent on
            written_at = getattr(record, "localcloud_written_at", None) or time.time()
            body = record.record["dynamodb"]
            key = body["Keys"]
            versions[_key_id(key)] = (written_at, region)
            image = body.get("NewImage") if record.record["eventName"] != "REMOVE" else None
            for dest in others:
                self._pending.append(
                    _Pending(written_at + self.lag_s, written_at, account, table_name, region, dest, key, image)
                )

    def _apply_due(self, now: float) -> None:
        if not self._pending:
            return
        self._pending.sort()
        waiting: list[_Pending] = []
        for p in self._pending:
            if p.due > now or p.source in self.down or p.dest in self.down:
                waiting.append(p)
                continue
            if (p.account, p.table) not in self.groups or p.dest not in self.groups[(p.account, p.table)]:
                continue
            versions = self._versions[(p.account, p.dest, p.table)]
            existing = versions.get(_key_id(p.key))
            if existing is not None and existing >= (p.written_at, p.source):
                self.conflicts_lost += 1
                continue
            self._write(p.account, p.dest, p.table, p.image, p.key, p.source, p.written_at)
            versions[_key_id(p.key)] = (p.written_at, p.source)
            self.applied += 1
            self._samples[(p.account, p.source, p.table, p.dest)].append((time.time() - p.written_at) * 1000)
        self._pending = waiting

    @staticmethod
    def _write(
        account: str,
        region: str,
        table_name: str,
        image: dict[str, Any] | None,
        key: dict[str, Any] | None,
        source: str,
        written_at: float,
    ) -> None:
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[account][region]
        _applying.source, _applying.written_at = source, written_at
        try:
            if image is not None:
                backend.put_item(table_name, image)
            elif key is not None:
                backend.delete_item(table_name, key)
        finally:
            _applying.source, _applying.written_at = None, 0.0

    def _flush_metrics(self) -> None:
        self._last_flush = time.monotonic()
        samples, self._samples = self._samples, defaultdict(list)
        if not samples:
            return
        from moto.cloudwatch.models import cloudwatch_backends
        from moto.core.utils import utcnow

        stamp = utcnow()  # moto compares metric timestamps as naive UTC
        for (account, source, table, dest), values in samples.items():
            cloudwatch_backends[account][source].put_metric_data(
                METRIC_NAMESPACE,
                [
                    {
                        "MetricName": METRIC_NAME,
                        "Dimensions": [
                            {"Name": "TableName", "Value": table},
                            {"Name": "ReceivingRegion", "Value": dest},
                        ],
                        "Unit": "Milliseconds",
                        "Timestamp": stamp,
                        "StatisticValues": {
                            "SampleCount": len(values),
                            "Sum": sum(values),
                            "Minimum": min(values),
                            "Maximum": max(values),
                        },
                    }
                ],
            )


def _key_id(key: dict[str, Any]) -> str:
    return json.dumps(key, sort_keys=True)


# ---- moto patches (installed when moto.dynamodb is imported: localcloud/patches) --------------------------------------
def install() -> None:
    from moto.dynamodb.models.table import StreamShard, Table
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    if getattr(StreamShard.add, "__localcloud__", False):
        return
    original_add = StreamShard.add
    original_describe = Table.describe
    original_update_table = DynamoHandler.update_table

    def add(self: Any, old: Any, new: Any) -> None:
        original_add(self, old, new)
        if self.items:
            record = self.items[-1]
            record.localcloud_origin = _applying.source
            record.localcloud_written_at = _applying.written_at if _applying.source else time.time()

    def describe(self: Any, base_key: str = "TableDescription") -> dict[str, Any]:
        result: dict[str, Any] = original_describe(self, base_key)
        regions = current().replicas_of(self.account_id, self.name)
        if regions:
            result[base_key]["GlobalTableVersion"] = GLOBAL_TABLE_VERSION
            result[base_key]["Replicas"] = [
                {"RegionName": r, "ReplicaStatus": "ACTIVE"} for r in sorted(regions) if r != self.region_name
            ]
        return result

    def update_table(self: Any) -> Any:
        updates = self.body.get("ReplicaUpdates")
        if not updates:
            return original_update_table(self)
        from moto.dynamodb.exceptions import MockValidationException

        name = self.body["TableName"]
        self.dynamodb_backend.get_table(name)  # ResourceNotFoundException as AWS answers it
        try:
            for update in updates:
                if "Create" in update:
                    current().add_replica(self.current_account, self.region, name, update["Create"]["RegionName"])
                elif "Delete" in update:
                    current().remove_replica(self.current_account, name, update["Delete"]["RegionName"])
        except ReplicaError as exc:
            raise MockValidationException(str(exc)) from exc
        if set(self.body) - {"TableName", "ReplicaUpdates"}:
            return original_update_table(self)
        return DynamoResult(self.dynamodb_backend.get_table(name).describe())

    add.__localcloud__ = True  # type: ignore[attr-defined]
    StreamShard.add = add  # type: ignore[method-assign]
    Table.describe = describe  # type: ignore[method-assign]
    DynamoHandler.update_table = update_table  # type: ignore[method-assign]
