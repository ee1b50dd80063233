"""A resumable, idempotent, rate-limited backfill: rewrite every item that still has an old shape, one conditional
``UpdateItem`` each, while the application keeps writing (the "migrate" step of expand and contract, design question 2).

- **Never clobbers a concurrent writer.** Each rewrite is an ``UpdateItem`` (it names only the attributes it changes,
  so a writer's other attributes survive) under a condition that the old value is still exactly as read (the caller's
  ``rewrite`` supplies it). A refused condition is looked at: the item is gone (deleted meanwhile: not re-created), or
  already in the new shape (a new-version writer or another backfill got there: counted, left alone), or changed but
  still old (read again and rewritten from what it is now).
- **Idempotent.** The Scan's filter matches old-shape items only, so a second run (or a resumed one re-reading a page)
  finds nothing to do for the items done before.
- **Resumable.** After each page the Scan's position and the counts go to a checkpoint item; a run that was killed
  resumes from the last page it finished. A finished pass records its report and the next run starts a new pass.
- **Rate-limited.** Writes are paced to ``writes_per_second`` (and reads to one page of ``page_size`` at a time), so a
  backfill does not eat the table's capacity under live traffic.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from marquee.core.errors import MarqueeError
from marquee.dynamo.conditions import CONDITION_FAILED, error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

CHECKPOINT_SK = "CHECKPOINT"
REWRITE_ATTEMPTS = 3


@dataclass
class BackfillReport:
    """Counts of one pass (across resumes): what the Scan read, what matched the old shape, and each item's fate."""

    scanned: int = 0  # items the Scan read
    matched: int = 0  # old-shape items it returned
    migrated: int = 0  # rewritten by this backfill
    already: int = 0  # found in the new shape when the rewrite came (a writer or another run did it)
    gone: int = 0  # deleted between the read and the rewrite (not re-created)
    reread: int = 0  # changed between the read and the rewrite, read again and rewritten from what it is now
    pages: int = 0
    resumed: bool = False
    complete: bool = False
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


class BackfillStuck(MarqueeError):
    """An item changed under every one of its rewrites: something keeps writing the old shape (stop it first)."""

    slug = "backfill-stuck"
    title = "Backfill stuck"


class Checkpoint:
    """The backfill's position and counts, one item (``MIGRATION#{name}`` / ``CHECKPOINT``) in a platform table."""

    def __init__(self, client: DynamoDBClient, table_name: str, name: str) -> None:
        self.client, self.table_name = client, table_name
        self.key = {"pk": {"S": f"MIGRATION#{name}"}, "sk": {"S": CHECKPOINT_SK}}

    def load(self) -> tuple[dict[str, Any] | None, BackfillReport] | None:
        """(the Scan position to resume after, the counts so far) of an unfinished pass; None when there is none."""
        item = self.client.get_item(TableName=self.table_name, Key=self.key, ConsistentRead=True).get("Item")
        if not item or item.get("complete", {}).get("BOOL", False):
            return None
        report = BackfillReport(**json.loads(item["report"]["S"]))
        position = json.loads(item["position"]["S"]) if "position" in item else None
        return position, report

    def save(self, position: Mapping[str, Any] | None, report: BackfillReport) -> None:
        item: dict[str, Any] = {
            **self.key,
            "report": {"S": json.dumps(asdict(report))},
            "complete": {"BOOL": report.complete},
            "updatedAt": {"S": datetime.now(UTC).isoformat(timespec="seconds")},
        }
        if position is not None:
            item["position"] = {"S": json.dumps(position)}
        self.client.put_item(TableName=self.table_name, Item=item)

    def last(self) -> BackfillReport | None:
        """The report of the latest pass, finished or not."""
        item = self.client.get_item(TableName=self.table_name, Key=self.key, ConsistentRead=True).get("Item")
        return BackfillReport(**json.loads(item["report"]["S"])) if item else None


class Pacer:
    """At most ``per_second`` calls of ``wait`` per second, evenly spaced (sleeps when called early)."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.interval = 1.0 / per_second
        self.clock, self.sleep = clock, sleep
        self.next_at: float | None = None

    def wait(self) -> None:
        now = self.clock()
        if self.next_at is not None and now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


@dataclass(frozen=True)
class Shape:
    """What the backfill migrates: the Scan filter that finds old-shape items, the test of the new shape, and the
    ``UpdateItem`` arguments (Key, UpdateExpression, ConditionExpression "still as read", values) for one item."""

    filter_expression: str
    filter_values: Mapping[str, Any]
    is_new: Callable[[Mapping[str, Any]], bool]
    rewrite: Callable[[Mapping[str, Any]], dict[str, Any]]


def backfill(
    client: DynamoDBClient,
    table_name: str,
    shape: Shape,
    *,
    checkpoint: Checkpoint,
    pacer: Pacer,
    page_size: int = 100,
    max_pages: int | None = None,
    progress: Callable[[BackfillReport], None] | None = None,
) -> BackfillReport:
    """One pass (or the rest of an unfinished one) over ``table_name``; ``max_pages`` stops early (``complete`` False,
    the checkpoint says where to resume)."""
    resumed = checkpoint.load()
    position, report = resumed if resumed else (None, BackfillReport())
    report.resumed = resumed is not None
    pages_now = 0
    while True:
        kwargs: dict[str, Any] = {
            "TableName": table_name,
            "Limit": page_size,
            "FilterExpression": shape.filter_expression,
            "ExpressionAttributeValues": dict(shape.filter_values),
            "ConsistentRead": True,
        }
        if position is not None:
            kwargs["ExclusiveStartKey"] = position
        page = client.scan(**kwargs)
        report.scanned += int(page.get("ScannedCount", 0))
        for item in page.get("Items", []):
            report.matched += 1
            _rewrite_one(client, table_name, shape, item, pacer, report)
        position = page.get("LastEvaluatedKey")
        report.pages += 1
        pages_now += 1
        report.complete = position is None
        checkpoint.save(position, report)
        if progress is not None:
            progress(report)
        if report.complete or (max_pages is not None and pages_now >= max_pages):
            return report


def _rewrite_one(
    client: DynamoDBClient,
    table_name: str,
    shape: Shape,
    item: Mapping[str, Any],
    pacer: Pacer,
    report: BackfillReport,
) -> None:
    current: Mapping[str, Any] = item
    for _ in range(REWRITE_ATTEMPTS):
        pacer.wait()
        try:
            client.update_item(TableName=table_name, **shape.rewrite(current))
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
            now = exc.response.get("Item")  # ALL_OLD: the item as the refused condition saw it
            if not now:
                report.gone += 1
                return
            if shape.is_new(now):
                report.already += 1
                return
            report.reread += 1
            current = now
            continue
        report.migrated += 1
        return
    raise BackfillStuck(f"item {dict(item.get('pk', {}))} kept changing during {REWRITE_ATTEMPTS} rewrites")


def count_old(client: DynamoDBClient, table_name: str, shape: Shape) -> int:
    """How many items still have the old shape (a full, consistent Scan): 0 is what makes a contract deploy safe."""
    total = 0
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "FilterExpression": shape.filter_expression,
        "ExpressionAttributeValues": dict(shape.filter_values),
        "Select": "COUNT",
        "ConsistentRead": True,
    }
    while True:
        page = client.scan(**kwargs)
        total += int(page.get("Count", 0))
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
