"""One versioned change: the entity's writes, its event, its version and the settings guard in ONE transaction.

``commit`` reads the tenant's audit settings, asks the caller's ``plan`` what to write (the plan reads the entity
consistently and conditions its writes on the revision it read), stamps the version with a time after the previous
one (``versions.next_time``), and commits. A cancelled transaction (the revision moved, the settings changed, or a
conflicting transaction) is planned and tried again, up to ``CHANGE_ATTEMPTS`` times; then ``ConcurrentChange`` (409).
Two concurrent changes therefore never both commit on the same revision, and neither is lost silently: each either
commits on top of the other, with its own version, or is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from marquee.core.errors import MarqueeError
from marquee.dynamo.transactions import cancellation_reasons, is_cancelled
from marquee.history import settings, versions
from marquee.history.versions import Actor, Change
from marquee.tenancy.tenant import TenantContext

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

CHANGE_ATTEMPTS = 5
RETRYABLE = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


class ConcurrentChange(MarqueeError):
    status = HTTPStatus.CONFLICT
    slug = "concurrent-change"
    title = "Concurrent change"


@dataclass(frozen=True)
class Plan:
    """What one change writes. ``items`` builds the entity's writes (and its event) for the version's time; each must
    be conditioned on the revision the plan read (``revision - 1``)."""

    revision: int
    change: Change
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    previous_at: str | None
    items: Callable[[datetime], list[dict[str, Any]]]


@dataclass(frozen=True)
class Committed:
    revision: int
    at: datetime
    change: Change


def utc_now() -> datetime:
    return datetime.now(UTC)


def commit(
    ddb: DynamoDBClient,
    table_name: str,
    tenant: TenantContext,
    kind: str,
    entity_id: str,
    *,
    actor: Actor,
    plan: Callable[[], Plan | None],
    clock: Callable[[], datetime] = utc_now,
    attempts: int = CHANGE_ATTEMPTS,
) -> Committed | None:
    """Commit the change ``plan`` describes with its version; ``None`` when the plan says there is nothing to do."""
    for _attempt in range(attempts):
        seen = settings.read(ddb, table_name, tenant)
        step = plan()
        if step is None:
            return None
        at = versions.next_time(step.previous_at, clock())
        items = [
            *step.items(at),
            versions.version_put(
                table_name,
                tenant,
                kind,
                entity_id,
                revision=step.revision,
                at=at,
                change=step.change,
                actor=actor,
                before=step.before,
                after=step.after,
                expires_at=seen.expires_at(at),
            ),
            settings.guard(table_name, tenant, seen),
        ]
        try:
            ddb.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            if is_cancelled(exc) and any(r.get("Code") in RETRYABLE for r in cancellation_reasons(exc)):
                continue  # the entity or the settings moved on since the read: plan again
            raise
        return Committed(revision=step.revision, at=at, change=step.change)
    raise ConcurrentChange(f"{kind.lower()} {entity_id} kept changing during {attempts} attempts; try again.")
