"""The shard mover: relocates one tenant to another shard under live traffic, one persisted step at a time.

States (the record ``MOVE#{tenant}`` in the control table is written after each step, so a mover killed anywhere
and run again resumes where it stopped; ``abort`` rolls back any move that has not flipped):

``ANNOUNCED``  the map marks the tenant as moving (writers add the fence check from their next map load);
``COPYING``    the source stream's position is recorded (a ``LATEST`` iterator per open stream shard: no record is read),
               then the tenant's items are copied (scan -> batch writes);
``COPIED``     the copy is complete;
``CAUGHT_UP``  every stream record since that position has been applied to the target, and the map's staleness
               bound has passed since ``ANNOUNCED`` (no writer can still write without the fence check);
``FENCED``     the fence item is on the source (writes refused, retryable), with a lease;
``VERIFIED``   the stream is drained up to the fence's own record, and the tenant's items on both shards match by
               count and checksum (any difference is repaired from the frozen source, then checked again);
``FLIPPED``    one transaction: the new map version (the tenant placed on the target) and the fence -> ``MOVED``
               tombstone, on condition the lease is still live;
``READ_MODELS_MOVED``  the tenant's read-model and search rows are copied to the target shard's PostgreSQL schema,
               compared by count and checksum, and its read-model placement flipped, in one PostgreSQL transaction
               (``read_models.relocate``; the read-model placement was pinned to the source when the copy started);
``DONE``       after the staleness bound, late records are drained and the source's copy is deleted, in DynamoDB and
               in the source's schema (readers cache the read-model placement for the same bound).

Outbox items (``sk = OUTBOX``) are not copied: the source's stream already carries them to the relay, and a copy
would publish each event again. The fence item is not copied either.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import ClientError

from marquee.dynamo.transactions import is_cancelled
from marquee.messaging.outbox import OUTBOX_SK
from marquee.sharding import fence
from marquee.sharding.control import ControlStore, MapVersionConflict
from marquee.sharding.ring import Moving, ShardMap

# The step run from each state, by name (a report's timings are per step).
STEPS = {
    "PLANNED": "announce",
    "ANNOUNCED": "checkpoint",
    "COPYING": "copy",
    "COPIED": "catch_up",
    "CAUGHT_UP": "prescan_and_fence",
    "FENCED": "verify",
    "VERIFIED": "flip",
    "FLIPPED": "move_read_models",
    "READ_MODELS_MOVED": "clean_up",
}
STATES = ("ANNOUNCED", "COPYING", "COPIED", "CAUGHT_UP", "FENCED", "VERIFIED", "FLIPPED", "READ_MODELS_MOVED", "DONE")
FENCE_LEASE_S = 5.0  # a dead mover's fence lets writes through again after this
LEASE_MARGIN_S = 1.0  # the flip needs this much lease left (clock skew between mover and writers)
FENCE_GRACE_S = 0.1  # check-then-write writes (ReturnValues, batches) that passed the check just before the fence
STALENESS_SLACK_S = 1.0  # beyond the map cache's bound: a write call that started with the old map has finished
TOMBSTONE_TTL_S = 86_400
MAX_REPAIR_ROUNDS = 3
ITERATOR = "iterator:"  # a checkpoint that is a saved shard iterator, not a sequence number


class ReadModels(Protocol):
    """The read side's part of a move (``marquee.projections.shards.ReadModelMover``): every step is idempotent."""

    def pin(self, tenant: str, shard: str) -> str: ...

    def placement(self, tenant: str) -> str: ...

    def relocate(self, tenant: str, target: str) -> dict[str, Any]: ...

    def clean(self, tenant: str) -> int: ...


class MoveError(Exception):
    """The move cannot go on as asked (unknown shard, another move running, already there)."""


class MoverCrashed(Exception):
    """Fault injection: the mover stops right after persisting the named state."""


@dataclass
class MoveReport:
    tenant: str
    source: str
    target: str
    state: str
    copied: int = 0
    applied: int = 0
    late: int = 0
    repaired: int = 0
    deleted: int = 0
    items: int = 0
    checksum: str = ""
    fence_ms: float = 0.0
    copy_s: float = 0.0
    total_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    read_model_rows: dict[str, int] = field(default_factory=dict)  # per table, copied to the target's schema
    read_model_s: float = 0.0  # the read side's one transaction
    read_model_rows_deleted: int = 0
    late_unchecked_shards: list[str] = field(default_factory=list)  # stream shards whose saved position had expired


def item_digest(item: dict[str, Any]) -> int:
    """A 64-bit digest of one item's attribute values (canonical JSON of the wire format)."""
    return int.from_bytes(hashlib.sha256(json.dumps(item, sort_keys=True).encode()).digest()[:8], "big")


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return item["pk"]["S"], item["sk"]["S"]


def movable(item: dict[str, Any]) -> bool:
    pk, sk = _key(item)
    return sk != OUTBOX_SK and not fence.is_fence_key(pk, sk)


class Mover:
    """Moves tenants between the shard tables of ``control``'s map with ``client`` (the operator's own role: Scan,
    stream reads and writes on every shard table, the control table)."""

    def __init__(
        self,
        control: ControlStore,
        client: Any,
        streams: Any,
        *,
        staleness_s: float = 5.0,
        slack_s: float = STALENESS_SLACK_S,
        lease_s: float = FENCE_LEASE_S,
        crash_after: str | None = None,
        progress: Callable[[str, dict[str, Any]], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        read_models: ReadModels | None = None,
    ) -> None:
        self.control = control
        self.client = client
        self.streams = streams
        self.staleness_s = staleness_s
        self.slack_s = slack_s
        self.lease_s = lease_s
        self.crash_after = crash_after
        self.progress = progress or (lambda _step, _info: None)
        self.sleep = sleep
        self.read_models = read_models
        self._arns: dict[str, str] = {}
        self._tables: dict[str, str] = {}
        self._prescan: tuple[str, dict[str, str], dict[Any, int], dict[Any, int]] | None = None

    # ---- entry points -----------------------------------------------------------------------------------------------
    def move(self, tenant: str, target: str, *, silo: bool = False) -> MoveReport:
        """Move ``tenant`` to shard ``target`` (or resume its unfinished move there)."""
        record = self.control.read_move(tenant)
        if record is None or record["state"] in ("DONE", "ROLLED_BACK"):
            record = self._plan(tenant, target, silo=silo)
        elif record["target"] != target:
            raise MoveError(f"{tenant} is already moving to {record['target']}: finish or abort that move first")
        return self._run(record)

    def abort(self, tenant: str) -> MoveReport:
        """Roll back an unfinished move that has not flipped: map, fence and the target's copy."""
        record = self.control.read_move(tenant)
        if record is None or record["state"] in ("DONE", "ROLLED_BACK"):
            raise MoveError(f"{tenant} has no unfinished move")
        if record["state"] in ("FLIPPED", "READ_MODELS_MOVED", "DONE"):
            raise MoveError(f"{tenant}'s move has flipped: it can only be completed (run the move again)")
        shard_map = self._map()
        source_table, target_table = shard_map.shards[record["source"]], shard_map.shards[record["target"]]
        self._update_map(lambda m: _without_moving(m, tenant, record["move_id"]))
        existing = self.client.get_item(TableName=source_table, Key=fence.fence_key(tenant), ConsistentRead=True)
        if existing.get("Item", {}).get("move_id", {}).get("S") == record["move_id"]:
            self.client.delete_item(TableName=source_table, Key=fence.fence_key(tenant))
        deleted = self._delete_tenant(target_table, tenant)
        record.update(state="ROLLED_BACK", deleted=deleted)
        self._save(record)
        return self._report(record)

    # ---- the state machine ------------------------------------------------------------------------------------------
    def _plan(self, tenant: str, target: str, *, silo: bool) -> dict[str, Any]:
        shard_map = self._map()
        if target not in shard_map.shards:
            raise MoveError(f"no shard {target}; the shards are {', '.join(shard_map.shards)}")
        source = shard_map.shard_of(tenant)
        read_side = self.read_models.placement(tenant) if self.read_models and source == target and not silo else None
        if read_side is not None and read_side != target:
            # its items are there but its read models are not (moved by a mover without a read side): move only those
            return {
                "tenant": tenant,
                "move_id": uuid.uuid4().hex[:12],
                "source": read_side,
                "target": target,
                "silo": silo,
                "state": "FLIPPED",
                "read_side_only": True,
                "checkpoint": {},
                "started_at": time.time(),
            }
        if source == target and not (silo and tenant not in shard_map.silo):
            raise MoveError(f"{tenant} is already on {target}")
        if silo and target in shard_map.ring:
            raise MoveError(f"{target} is on the ring: a silo shard takes no hashed tenants")
        return {
            "tenant": tenant,
            "move_id": uuid.uuid4().hex[:12],
            "source": source,
            "target": target,
            "silo": silo,
            "state": "PLANNED",
            "checkpoint": {},
            "started_at": time.time(),
        }

    def _run(self, record: dict[str, Any]) -> MoveReport:
        steps: dict[str, Callable[[dict[str, Any]], str]] = {
            "PLANNED": self._announce,
            "ANNOUNCED": self._start_copy,
            "COPYING": self._copy,
            "COPIED": self._catch_up,
            "CAUGHT_UP": self._fence,
            "FENCED": self._verify,
            "VERIFIED": self._flip,
            "FLIPPED": self._move_read_models,
            "READ_MODELS_MOVED": self._clean_up,
        }
        while record["state"] in steps:
            started = time.perf_counter()
            state = record["state"]
            record["state"] = steps[state](record)
            timings = record.setdefault("timings", {})
            timings[STEPS[state]] = round(timings.get(STEPS[state], 0.0) + time.perf_counter() - started, 4)
            self._save(record)
            self.progress(record["state"], record)
            if self.crash_after == record["state"]:
                raise MoverCrashed(record["state"])
        return self._report(record)

    def _announce(self, record: dict[str, Any]) -> str:
        tenant, move_id = record["tenant"], record["move_id"]
        moving = Moving(move_id=move_id, source=record["source"], target=record["target"])

        def announce(m: ShardMap) -> ShardMap | None:
            current = m.moving.get(tenant)
            if current is not None and current.move_id == move_id:
                return None
            if current is not None:
                raise MoveError(f"{tenant} is already moving ({current.move_id})")
            return m.model_copy(update={"version": m.version + 1, "moving": {**m.moving, tenant: moving}})

        self._update_map(announce)
        record["announced_at"] = time.time()
        return "ANNOUNCED"

    def _start_copy(self, record: dict[str, Any]) -> str:
        if self.read_models is not None:
            # the read side stays where it is until ``_move_read_models``, whatever the map says meanwhile
            record["read_models_pinned"] = self.read_models.pin(record["tenant"], record["source"])
        record["checkpoint"] = self._stream_end(self._table(record["source"]))
        return "COPYING"

    def _copy(self, record: dict[str, Any]) -> str:
        started = time.perf_counter()
        target = self._table(record["target"])
        copied = 0
        batch: list[dict[str, Any]] = []
        for item in self._scan_tenant(self._table(record["source"]), record["tenant"]):
            batch.append({"PutRequest": {"Item": item}})
            if len(batch) == 25:
                copied += self._batch_write(target, batch)
                batch = []
                self.progress("COPYING", {**record, "copied": copied})
        copied += self._batch_write(target, batch)
        record["copied"] = copied
        record["copy_s"] = round(time.perf_counter() - started, 4)
        return "COPIED"

    def _catch_up(self, record: dict[str, Any]) -> str:
        while True:
            record["applied"] = int(record.get("applied", 0)) + self._drain(record)
            wait = float(record["announced_at"]) + self.staleness_s + self.slack_s - time.time()
            if wait <= 0:
                return "CAUGHT_UP"
            self.sleep(min(wait, 0.25))

    def _fence(self, record: dict[str, Any]) -> str:
        # Compared outside the fence: under it, only the keys the stream shows changed since this scan are read again.
        source, target, tenant = self._table(record["source"]), self._table(record["target"]), record["tenant"]
        since = dict(record.get("checkpoint") or {})
        left = {_key(i): item_digest(i) for i in self._scan_tenant(source, tenant)}
        right = {_key(i): item_digest(i) for i in self._scan_tenant(target, tenant)}
        self._prescan = (record["move_id"], since, left, right)
        token = uuid.uuid4().hex[:12]
        now = time.time()
        self.client.put_item(
            TableName=source,
            Item={
                **fence.fence_key(tenant),
                "state": {"S": fence.FENCED},
                "move_id": {"S": record["move_id"]},
                "token": {"S": token},
                "target": {"S": record["target"]},
                "lease_until_ms": {"N": str(int((now + self.lease_s) * 1000))},
                "expires_at": {"N": str(int(now + TOMBSTONE_TTL_S))},
            },
        )
        record.update(fence_token=token, fenced_at=now, fenced_perf=time.perf_counter())
        return "FENCED"

    def _verify(self, record: dict[str, Any]) -> str:
        if self._lease_left(record) < LEASE_MARGIN_S:
            return "COPIED"  # the lease ran out (a crash while fenced): writes may have resumed; catch up, fence anew
        self.sleep(FENCE_GRACE_S)
        prescan = self._prescan if self._prescan and self._prescan[0] == record["move_id"] else None
        incremental = prescan is not None and prescan[1] == (record.get("checkpoint") or {})
        dirty: set[tuple[str, str]] = set()
        record["applied"] = int(record.get("applied", 0)) + self._drain(
            record, until_token=record["fence_token"], dirty=dirty
        )
        source, target, tenant = self._table(record["source"]), self._table(record["target"]), record["tenant"]
        if prescan is not None and incremental:
            left, right = dict(prescan[2]), dict(prescan[3])
            for table, digests in ((source, left), (target, right)):
                fetched = self._get_many(table, dirty)
                for key in dirty:
                    if key in fetched:
                        digests[key] = item_digest(fetched[key])
                    else:
                        digests.pop(key, None)
        else:  # resumed under the fence (no pre-scan in this process): compare everything
            left = {_key(i): item_digest(i) for i in self._scan_tenant(source, tenant)}
            right = {_key(i): item_digest(i) for i in self._scan_tenant(target, tenant)}
        record["verified"] = "incremental" if incremental else "full"
        record["rechecked"] = len(dirty)
        for _ in range(MAX_REPAIR_ROUNDS):
            differing = {k for k in left.keys() | right.keys() if left.get(k) != right.get(k)}
            if not differing:
                record["items"] = len(left)
                record["checksum"] = f"{sum(left.values()) % (1 << 64):016x}"
                return "VERIFIED"
            record["repaired"] = int(record.get("repaired", 0)) + len(differing)
            truth = self._get_many(source, differing)  # the source is frozen under the fence: it is the truth
            for key in differing:
                if key in truth:
                    self.client.put_item(TableName=target, Item=truth[key])
                else:
                    self.client.delete_item(TableName=target, Key={"pk": {"S": key[0]}, "sk": {"S": key[1]}})
            now_there = self._get_many(target, differing)
            for key in differing:
                if key in now_there:
                    right[key] = item_digest(now_there[key])
                else:
                    right.pop(key, None)
        raise MoveError(f"{tenant}: the shards still differ after {MAX_REPAIR_ROUNDS} repair rounds")

    def _get_many(self, table: str, keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Consistent reads of ``keys`` (BatchGetItem, 100 a call)."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        ordered = sorted(keys)
        for start in range(0, len(ordered), 100):
            request: dict[str, Any] = {
                table: {
                    "Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in ordered[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(table, []):
                    found[_key(item)] = item
                request = response.get("UnprocessedKeys") or {}
        return found

    def _flip(self, record: dict[str, Any]) -> str:
        tenant = record["tenant"]
        while True:
            shard_map = self._map()
            if shard_map.shard_of(tenant) == record["target"] and tenant not in shard_map.moving:
                break  # flipped before a crash
            if self._lease_left(record) < LEASE_MARGIN_S:
                return "COPIED"
            flipped = _placed(shard_map, tenant, record["target"], silo=bool(record.get("silo")))
            fence_update = {
                "Update": {
                    "TableName": self._table(record["source"]),
                    "Key": fence.fence_key(tenant),
                    "UpdateExpression": "SET #s = :moved",
                    "ConditionExpression": "#t = :token AND lease_until_ms > :until",
                    "ExpressionAttributeNames": {"#s": "state", "#t": "token"},
                    "ExpressionAttributeValues": {
                        ":moved": {"S": fence.MOVED},
                        ":token": {"S": record["fence_token"]},
                        ":until": {"N": str(int((time.time() + LEASE_MARGIN_S) * 1000))},
                    },
                }
            }
            try:
                self.client.transact_write_items(
                    TransactItems=[
                        {"Put": self.control.put_map_request(flipped, expected_version=shard_map.version)},
                        fence_update,
                    ]
                )
                break
            except ClientError as exc:
                if not is_cancelled(exc):
                    raise
                reasons = exc.response.get("CancellationReasons") or []
                if len(reasons) > 1 and reasons[1].get("Code") == "ConditionalCheckFailed":
                    return "COPIED"  # the lease ran out: catch up and fence anew
                # the map changed under us (another tenant's move): read it again and retry
        record["flipped_at"] = time.time()
        if "fenced_perf" in record:
            record["fence_ms"] = round((time.perf_counter() - float(record.pop("fenced_perf"))) * 1000, 1)
        return "FLIPPED"

    def _move_read_models(self, record: dict[str, Any]) -> str:
        if self.read_models is not None:
            record["read_models"] = self.read_models.relocate(record["tenant"], record["target"])
            record["read_models_moved_at"] = time.time()
        return "READ_MODELS_MOVED"

    def _clean_up(self, record: dict[str, Any]) -> str:
        since = max(float(record.get("flipped_at", 0)), float(record.get("read_models_moved_at", 0)))
        readers = float(getattr(self.read_models, "staleness_s", 0.0))  # the read side's placement cache
        wait = since + max(self.staleness_s, readers) + self.slack_s - time.time()
        if wait > 0:
            self.sleep(wait)
        if not record.get("read_side_only"):
            # Records after the fence's are writes that slipped past a check-then-write: expected none.
            record["late"] = int(record.get("late", 0)) + self._drain(record, late=True)
            record["deleted"] = self._delete_tenant(self._table(record["source"]), record["tenant"], keep_fence=True)
        if self.read_models is not None:
            record["read_model_rows_deleted"] = self.read_models.clean(record["tenant"])
        record["finished_at"] = time.time()
        return "DONE"

    # ---- streams ------------------------------------------------------------------------------------------------------
    def _stream_arn(self, table: str) -> str:
        if table not in self._arns:
            self._arns[table] = str(self.client.describe_table(TableName=table)["Table"]["LatestStreamArn"])
        return self._arns[table]

    def _shards(self, arn: str) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamArn": arn}
        while True:
            description = self.streams.describe_stream(**kwargs)["StreamDescription"]
            shards.extend(description.get("Shards", []))
            if not description.get("LastEvaluatedShardId"):
                return shards
            kwargs["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]

    def _records(
        self,
        arn: str,
        checkpoint: dict[str, str],
        *,
        positions: dict[str, str] | None = None,
        unchecked: list[str] | None = None,
    ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Each stream shard's records after its checkpoint, page by page, parents before children. A checkpoint is a
        sequence number, or a saved iterator (``_stream_end``). ``positions`` receives each shard's iterator at its
        open end (a fresh one: saved, it keeps the position usable for another 15 minutes). An expired saved iterator
        (a mover resumed late) gives way to the shard's start, unless ``unchecked`` is given: then the shard is skipped
        and named there (after the flip, replaying a shard from its start would write old images over new ones)."""
        for shard in self._shards(arn):
            shard_id = shard["ShardId"]
            saved = checkpoint.get(shard_id, "")
            iterator = saved.removeprefix(ITERATOR) if saved.startswith(ITERATOR) else None
            if iterator is None:
                kwargs: dict[str, Any] = {"StreamArn": arn, "ShardId": shard_id, "ShardIteratorType": "TRIM_HORIZON"}
                if saved:
                    kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=saved)
                iterator = self.streams.get_shard_iterator(**kwargs).get("ShardIterator")
            while iterator:
                try:
                    page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != "ExpiredIteratorException":
                        raise
                    if unchecked is not None:
                        unchecked.append(shard_id)
                        break
                    # a saved position older than 15 min (a mover resumed late): read the shard from its start; the
                    # verify step repairs from the frozen source whatever an old image would have undone
                    iterator = self.streams.get_shard_iterator(
                        StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                    ).get("ShardIterator")
                    continue
                records = page.get("Records", [])
                if records:
                    yield shard_id, records
                if not records:
                    if positions is not None and page.get("NextShardIterator"):
                        positions[shard_id] = ITERATOR + str(page["NextShardIterator"])
                    break  # the open end of the shard (a closed shard ends with no NextShardIterator)
                iterator = page.get("NextShardIterator")

    def _stream_end(self, table: str) -> dict[str, str]:
        """Where the stream is now, without reading it: a closed shard's ending sequence number; for an open shard, a
        ``LATEST`` iterator, saved as it is (an iterator is a position, reusable for 15 minutes). Reading every shard
        from its start to find its end took one to two minutes on a stream a day old."""
        arn = self._stream_arn(table)
        checkpoint: dict[str, str] = {}
        for shard in self._shards(arn):
            ending = shard.get("SequenceNumberRange", {}).get("EndingSequenceNumber")
            if ending:
                checkpoint[shard["ShardId"]] = str(ending)
                continue
            latest = self.streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
            )
            checkpoint[shard["ShardId"]] = ITERATOR + str(latest["ShardIterator"])
        return checkpoint

    def _drain(
        self,
        record: dict[str, Any],
        *,
        until_token: str | None = None,
        late: bool = False,
        dirty: set[tuple[str, str]] | None = None,
    ) -> int:
        """Apply the source stream's records of the tenant after the checkpoint to the target (last image per key in
        each page wins; order per key is the stream's). With ``until_token``, keep reading until the fence's own
        record has been seen. Returns how many records were applied."""
        source, target = self._table(record["source"]), self._table(record["target"])
        arn = self._stream_arn(source)
        prefix = f"TENANT#{record['tenant']}#"
        checkpoint: dict[str, str] = dict(record.get("checkpoint") or {})
        applied = 0
        seen_fence = until_token is None
        deadline = time.monotonic() + 10
        positions: dict[str, str] = {}
        unchecked: list[str] | None = [] if late else None
        while True:
            for shard_id, records in self._records(arn, checkpoint, positions=positions, unchecked=unchecked):
                latest: dict[tuple[str, str], dict[str, Any]] = {}
                for change in records:
                    keys = change["dynamodb"]["Keys"]
                    pk, sk = keys["pk"]["S"], keys["sk"]["S"]
                    if not pk.startswith(prefix):
                        continue
                    if fence.is_fence_key(pk, sk):
                        token = change["dynamodb"].get("NewImage", {}).get("token", {}).get("S")
                        seen_fence = seen_fence or token == until_token
                        continue
                    if sk == OUTBOX_SK:
                        continue
                    latest[(pk, sk)] = change
                    if dirty is not None:
                        dirty.add((pk, sk))
                applied += self._apply(target, latest.values())
                checkpoint[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
                record["checkpoint"] = dict(checkpoint)
                if not late:
                    self._save(record)
            # a shard still known only by a saved iterator keeps a fresh one for its (unchanged) position
            renewed = {k: v for k, v in positions.items() if checkpoint.get(k, ITERATOR).startswith(ITERATOR)}
            if renewed:
                checkpoint.update(renewed)
                record["checkpoint"] = dict(checkpoint)
            positions.clear()
            if unchecked:
                record["late_unchecked_shards"] = sorted({*record.get("late_unchecked_shards", []), *unchecked})
            if seen_fence:
                return applied
            if time.monotonic() > deadline:
                raise MoveError("the fence's stream record did not arrive within 10 s")
            self.sleep(0.01)

    def _apply(self, table: str, changes: Any) -> int:
        batch: list[dict[str, Any]] = []
        count = 0
        for change in changes:
            if change["eventName"] == "REMOVE":
                batch.append({"DeleteRequest": {"Key": change["dynamodb"]["Keys"]}})
            else:
                batch.append({"PutRequest": {"Item": change["dynamodb"]["NewImage"]}})
            count += 1
            if len(batch) == 25:
                self._batch_write(table, batch)
                batch = []
        self._batch_write(table, batch)
        return count

    # ---- table helpers ------------------------------------------------------------------------------------------------
    def _scan_tenant(self, table: str, tenant: str) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": table,
            "FilterExpression": "begins_with(pk, :prefix)",
            "ExpressionAttributeValues": {":prefix": {"S": f"TENANT#{tenant}#"}},
            "ConsistentRead": True,
        }
        while True:
            page = self.client.scan(**kwargs)
            yield from (i for i in page.get("Items", []) if movable(i))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _batch_write(self, table: str, requests: list[dict[str, Any]]) -> int:
        pending = {table: list(requests)}
        delay = 0.02
        while pending.get(table):
            response = self.client.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if pending.get(table):
                self.sleep(delay)
                delay = min(delay * 2, 1.0)
        return len(requests)

    def _delete_tenant(self, table: str, tenant: str, *, keep_fence: bool = False) -> int:
        kwargs: dict[str, Any] = {
            "TableName": table,
            "FilterExpression": "begins_with(pk, :prefix)",
            "ExpressionAttributeValues": {":prefix": {"S": f"TENANT#{tenant}#"}},
            "ProjectionExpression": "pk, sk",
            "ConsistentRead": True,
        }
        keys: list[dict[str, Any]] = []
        while True:
            page = self.client.scan(**kwargs)
            keys.extend(i for i in page.get("Items", []) if not (keep_fence and fence.is_fence_key(*_key(i))))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        for start in range(0, len(keys), 25):
            self._batch_write(table, [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]])
        return len(keys)

    # ---- map and record -----------------------------------------------------------------------------------------------
    def _map(self) -> ShardMap:
        shard_map = self.control.load()
        if shard_map is None:
            raise MoveError("there is no shard map yet (run `marquee shards status` once, or any routed call)")
        return shard_map

    def _table(self, shard: str) -> str:
        if shard not in self._tables:
            self._tables.update(self._map().shards)
        return self._tables[shard]

    def _update_map(self, change: Callable[[ShardMap], ShardMap | None]) -> None:
        while True:
            current = self._map()
            new = change(current)
            if new is None:
                return
            try:
                self.control.save(new, expected_version=current.version)
                return
            except MapVersionConflict:
                continue

    def _lease_left(self, record: dict[str, Any]) -> float:
        return float(record.get("fenced_at", 0)) + self.lease_s - time.time()

    def _save(self, record: dict[str, Any]) -> None:
        self.control.write_move({k: v for k, v in record.items() if k != "fenced_perf"} | {"updated_at": time.time()})

    @staticmethod
    def _report(record: dict[str, Any]) -> MoveReport:
        return MoveReport(
            tenant=record["tenant"],
            source=record["source"],
            target=record["target"],
            state=record["state"],
            copied=int(record.get("copied", 0)),
            applied=int(record.get("applied", 0)),
            late=int(record.get("late", 0)),
            repaired=int(record.get("repaired", 0)),
            deleted=int(record.get("deleted", 0)),
            items=int(record.get("items", 0)),
            checksum=str(record.get("checksum", "")),
            fence_ms=float(record.get("fence_ms", 0.0)),
            copy_s=float(record.get("copy_s", 0.0)),
            total_s=round(float(record.get("finished_at", time.time())) - float(record["started_at"]), 3),
            timings={k: float(v) for k, v in (record.get("timings") or {}).items()},
            read_model_rows={k: int(v) for k, v in ((record.get("read_models") or {}).get("rows") or {}).items()},
            read_model_s=float((record.get("read_models") or {}).get("seconds", 0.0)),
            read_model_rows_deleted=int(record.get("read_model_rows_deleted", 0)),
            late_unchecked_shards=list(record.get("late_unchecked_shards", [])),
        )


def _without_moving(shard_map: ShardMap, tenant: str, move_id: str) -> ShardMap | None:
    current = shard_map.moving.get(tenant)
    if current is None or current.move_id != move_id:
        return None
    moving = {t: m for t, m in shard_map.moving.items() if t != tenant}
    return shard_map.model_copy(update={"version": shard_map.version + 1, "moving": moving})


def _placed(shard_map: ShardMap, tenant: str, target: str, *, silo: bool) -> ShardMap:
    moving = {t: m for t, m in shard_map.moving.items() if t != tenant}
    placements = {t: s for t, s in shard_map.placements.items() if t != tenant}
    silos = {t: s for t, s in shard_map.silo.items() if t != tenant}
    if silo:
        silos[tenant] = target
    elif shard_map.hashed(tenant) != target:
        placements[tenant] = target
    return ShardMap.model_validate(
        {
            **shard_map.model_dump(),
            "version": shard_map.version + 1,
            "moving": moving,
            "placements": placements,
            "silo": silos,
        }
    )
