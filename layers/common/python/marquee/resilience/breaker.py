"""A circuit breaker whose state is shared by every Lambda instance (challenge 4).

State machine (one record per breaker, in the ops table):
- CLOSED: calls go through. A failure (an error or a timeout: a slow provider counts as failing once the client gives
  up) is counted in a fixed window of ``window_ms``; ``failure_threshold`` failures in one window open the breaker.
  Successes write nothing (the healthy path costs one consistent read).
- OPEN: calls are refused (``BreakerOpen``) until ``cooldown_ms`` after it opened.
- HALF_OPEN: EXACTLY ONE probe at a time. A caller becomes the probe by winning a conditional write that stamps its
  owner token and a lease (``probe_lease_ms``); everyone else is refused. A probe's success releases the slot (the next
  caller may probe); ``success_threshold`` successes close the breaker. A probe's failure re-opens it (a new cool-down).
  A probe that never reports back (its instance died) frees the slot when its lease runs out.

Every change is a compare-and-set on the record's ``version`` (``BreakerStore.save``), so racing instances never both
win a transition: exactly one opens it, exactly one becomes the probe, exactly one closes it. Each transition is
written with the state change (same transaction) as a log entry that operators (and the tour) can read.

The breaker fails OPEN-TO-TRAFFIC on store errors: if the ops table cannot be read, calls go through as if CLOSED. A
breaker must never become the outage it is meant to prevent.

Why not Powertools' ``circuit_breaker`` utility: see docs/decisions.md (2026-11-22). In short: it counts failures per
execution environment (a fleet of instances each seeing a few failures never trips), needs consecutive successes from
the same thread that won the probe, and has second-granularity clocks with no injectable clock for tests.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from marquee.core.logs import Logger
from marquee.dynamo.conditions import CONDITION_FAILED, TRANSACTION_CANCELED, error_code
from marquee.dynamo.store import TableStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

logger = Logger(child=True)  # masked: logs through the function's Logger (marquee.core.logs)

MAX_CAS_ATTEMPTS = 12
TRANSITION_TTL_SECONDS = 7 * 24 * 3600


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@dataclass(frozen=True)
class BreakerConfig:
    failure_threshold: int = 5  # N failures ...
    window_ms: int = 30_000  # ... within this window open the breaker
    cooldown_ms: int = 10_000  # OPEN -> HALF_OPEN after this
    success_threshold: int = 2  # M probe successes close it
    probe_lease_ms: int = 10_000  # a probe that never reports back frees the slot after this

    def __post_init__(self) -> None:
        for name in ("failure_threshold", "window_ms", "cooldown_ms", "success_threshold", "probe_lease_ms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"BreakerConfig.{name} must be positive")

    @classmethod
    def from_env(cls, env: BreakerEnv) -> BreakerConfig:
        """The configuration a function's env model read from ``BREAKER_*`` (payments, the notification workers)."""
        return cls(
            failure_threshold=env.breaker_failure_threshold,
            window_ms=env.breaker_window_ms,
            cooldown_ms=env.breaker_cooldown_ms,
            success_threshold=env.breaker_success_threshold,
            probe_lease_ms=env.breaker_probe_lease_ms,
        )


class BreakerEnv(Protocol):
    """An env model with the breaker's variables (``BREAKER_FAILURE_THRESHOLD``, ...)."""

    @property
    def breaker_failure_threshold(self) -> int: ...
    @property
    def breaker_window_ms(self) -> int: ...
    @property
    def breaker_cooldown_ms(self) -> int: ...
    @property
    def breaker_success_threshold(self) -> int: ...
    @property
    def breaker_probe_lease_ms(self) -> int: ...


@dataclass(frozen=True)
class BreakerRecord:
    """The shared state of one breaker. ``version`` 0 means "never written" (a closed breaker)."""

    state: BreakerState = BreakerState.CLOSED
    version: int = 0
    failures: int = 0
    window_started_ms: int = 0
    opened_at_ms: int = 0
    probe_owner: str | None = None
    probe_lease_until_ms: int = 0
    successes: int = 0


@dataclass(frozen=True)
class Transition:
    breaker: str
    from_state: BreakerState
    to_state: BreakerState
    at_ms: int
    reason: str


class BreakerStoreError(Exception):
    """The store could not be read or written (not a lost race: that is ``save`` returning False)."""


class BreakerStore(Protocol):
    """Port: where breaker records live. ``save`` is a compare-and-set on ``version``."""

    def load(self, name: str) -> BreakerRecord: ...

    def save(self, name: str, record: BreakerRecord, *, expected_version: int, transition: Transition | None) -> bool:
        """Write ``record`` (whose version is ``expected_version + 1``) only if the stored version is still
        ``expected_version``; write ``transition`` in the same atomic step. False if someone else wrote first."""
        ...

    def transitions(self, name: str, limit: int = 50) -> list[Transition]: ...


class BreakerOpen(Exception):
    """The breaker refuses the call: OPEN and cooling down, or HALF_OPEN with the probe slot taken."""

    def __init__(self, name: str, state: BreakerState, retry_after_ms: int) -> None:
        super().__init__(f"circuit breaker {name!r} is {state.value}; retry after {retry_after_ms} ms")
        self.name = name
        self.state = state
        self.retry_after_ms = retry_after_ms


@dataclass(frozen=True)
class Permit:
    """Leave to make one call. ``probe`` permits carry the token that owns the half-open slot."""

    breaker: str
    probe: bool
    token: str | None = None


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        config: BreakerConfig,
        store: BreakerStore,
        *,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.name = name
        self.config = config
        self.store = store
        self.clock = clock

    # ---- the three calls a client makes -----------------------------------------------------------------------------
    def acquire(self) -> Permit:
        """A permit to call, or ``BreakerOpen``."""
        for _ in range(MAX_CAS_ATTEMPTS):
            try:
                record = self.store.load(self.name)
            except BreakerStoreError:
                logger.warning("breaker %s: store unreadable, letting the call through", self.name, exc_info=True)
                return Permit(self.name, probe=False)
            now = self.clock()
            if record.state is BreakerState.CLOSED:
                return Permit(self.name, probe=False)
            if record.state is BreakerState.OPEN:
                reopens_at = record.opened_at_ms + self.config.cooldown_ms
                if now < reopens_at:
                    raise BreakerOpen(self.name, record.state, reopens_at - now)
                transition: Transition | None = self._transition(
                    record.state, BreakerState.HALF_OPEN, now, "cool-down over"
                )
                successes = 0
            else:  # HALF_OPEN
                if record.probe_owner is not None and now < record.probe_lease_until_ms:
                    raise BreakerOpen(self.name, record.state, record.probe_lease_until_ms - now)
                transition, successes = None, record.successes
            token = uuid.uuid4().hex
            claimed = replace(
                record,
                state=BreakerState.HALF_OPEN,
                version=record.version + 1,
                probe_owner=token,
                probe_lease_until_ms=now + self.config.probe_lease_ms,
                successes=successes,
            )
            if self._save(record, claimed, transition):
                return Permit(self.name, probe=True, token=token)
        raise BreakerOpen(self.name, BreakerState.HALF_OPEN, self.config.probe_lease_ms)

    def record_success(self, permit: Permit) -> None:
        if not permit.probe:
            return  # the healthy path writes nothing
        self._update(lambda record, now: self._after_probe_success(record, permit, now))

    def record_failure(self, permit: Permit, reason: str) -> None:
        if permit.probe:
            self._update(lambda record, now: self._after_probe_failure(record, permit, now, reason))
        else:
            self._update(lambda record, now: self._after_failure(record, now, reason))

    def state(self) -> BreakerRecord:
        return self.store.load(self.name)

    # ---- transitions --------------------------------------------------------------------------------------------------
    def _after_failure(
        self, record: BreakerRecord, now: int, reason: str
    ) -> tuple[BreakerRecord, Transition | None] | None:
        if record.state is not BreakerState.CLOSED:
            return None  # a late failure of a call made before the breaker opened: already counted as open
        if now - record.window_started_ms >= self.config.window_ms:
            failures, window_started = 1, now
        else:
            failures, window_started = record.failures + 1, record.window_started_ms
        if failures >= self.config.failure_threshold:
            opened = replace(
                record,
                state=BreakerState.OPEN,
                version=record.version + 1,
                failures=failures,
                window_started_ms=window_started,
                opened_at_ms=now,
                probe_owner=None,
                probe_lease_until_ms=0,
                successes=0,
            )
            why = f"{failures} failures in {self.config.window_ms} ms (last: {reason})"
            return opened, self._transition(BreakerState.CLOSED, BreakerState.OPEN, now, why)
        counted = replace(record, version=record.version + 1, failures=failures, window_started_ms=window_started)
        return counted, None

    def _after_probe_success(
        self, record: BreakerRecord, permit: Permit, now: int
    ) -> tuple[BreakerRecord, Transition | None] | None:
        if record.state is not BreakerState.HALF_OPEN or record.probe_owner != permit.token:
            return None  # our lease ran out and someone else owns the slot now
        successes = record.successes + 1
        if successes >= self.config.success_threshold:
            closed = BreakerRecord(state=BreakerState.CLOSED, version=record.version + 1)
            why = f"{successes} probe successes"
            return closed, self._transition(BreakerState.HALF_OPEN, BreakerState.CLOSED, now, why)
        released = replace(
            record, version=record.version + 1, probe_owner=None, probe_lease_until_ms=0, successes=successes
        )
        return released, None

    def _after_probe_failure(
        self, record: BreakerRecord, permit: Permit, now: int, reason: str
    ) -> tuple[BreakerRecord, Transition | None] | None:
        if record.state is not BreakerState.HALF_OPEN or record.probe_owner != permit.token:
            return None
        reopened = replace(
            record,
            state=BreakerState.OPEN,
            version=record.version + 1,
            opened_at_ms=now,
            probe_owner=None,
            probe_lease_until_ms=0,
            successes=0,
        )
        return reopened, self._transition(BreakerState.HALF_OPEN, BreakerState.OPEN, now, f"probe failed: {reason}")

    # ---- compare-and-set plumbing ---------------------------------------------------------------------------------------
    def _update(self, change: Callable[[BreakerRecord, int], tuple[BreakerRecord, Transition | None] | None]) -> None:
        for attempt in range(MAX_CAS_ATTEMPTS):
            try:
                record = self.store.load(self.name)
            except BreakerStoreError:
                logger.warning("breaker %s: store unreadable, outcome not recorded", self.name, exc_info=True)
                return
            outcome = change(record, self.clock())
            if outcome is None:
                return
            new, transition = outcome
            if self._save(record, new, transition):
                return
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # noqa: S311 - jitter, not cryptography
        logger.warning("breaker %s: outcome not recorded after %d racing attempts", self.name, MAX_CAS_ATTEMPTS)

    def _save(self, old: BreakerRecord, new: BreakerRecord, transition: Transition | None) -> bool:
        try:
            saved = self.store.save(self.name, new, expected_version=old.version, transition=transition)
        except BreakerStoreError:
            logger.warning("breaker %s: store unwritable", self.name, exc_info=True)
            return False
        if saved and transition is not None:
            logger.info(
                "breaker transition",
                extra={
                    "breaker": self.name,
                    "from": transition.from_state.value,
                    "to": transition.to_state.value,
                    "reason": transition.reason,
                },
            )
        return saved

    def _transition(self, from_state: BreakerState, to_state: BreakerState, now: int, reason: str) -> Transition:
        return Transition(self.name, from_state, to_state, now, reason)


# ---- DynamoDB adapter (the ops table: pk, sk) ---------------------------------------------------------------------------
STATE_SK = "STATE"
TRANSITION_SK_PREFIX = "TRANSITION#"
# Named conditions of the compare-and-set.
RECORD_NEVER_WRITTEN = "attribute_not_exists(pk)"
RECORD_UNCHANGED = "version = :seen"


def breaker_pk(name: str) -> str:
    return f"BREAKER#{name}"


class DynamoDBBreakerStore(TableStore):
    """Breaker records in the ops table: ``pk = BREAKER#{name}``, ``sk = STATE``; transitions under the same pk with
    ``sk = TRANSITION#{at_ms}#{random}`` (TTL ``expires_at``)."""

    def load(self, name: str) -> BreakerRecord:
        try:
            item = self.client.get_item(
                TableName=self.table_name,
                Key={"pk": {"S": breaker_pk(name)}, "sk": {"S": STATE_SK}},
                ConsistentRead=True,
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise BreakerStoreError(str(exc)) from exc
        if item is None:
            return BreakerRecord()
        return BreakerRecord(
            state=BreakerState(item["state"]["S"]),
            version=int(item["version"]["N"]),
            failures=int(item["failures"]["N"]),
            window_started_ms=int(item["window_started_ms"]["N"]),
            opened_at_ms=int(item["opened_at_ms"]["N"]),
            probe_owner=item["probe_owner"]["S"] if "probe_owner" in item else None,
            probe_lease_until_ms=int(item["probe_lease_until_ms"]["N"]),
            successes=int(item["successes"]["N"]),
        )

    def save(self, name: str, record: BreakerRecord, *, expected_version: int, transition: Transition | None) -> bool:
        item: dict[str, Any] = {
            "pk": {"S": breaker_pk(name)},
            "sk": {"S": STATE_SK},
            "state": {"S": record.state.value},
            "version": {"N": str(record.version)},
            "failures": {"N": str(record.failures)},
            "window_started_ms": {"N": str(record.window_started_ms)},
            "opened_at_ms": {"N": str(record.opened_at_ms)},
            "probe_lease_until_ms": {"N": str(record.probe_lease_until_ms)},
            "successes": {"N": str(record.successes)},
        }
        if record.probe_owner is not None:
            item["probe_owner"] = {"S": record.probe_owner}
        put: dict[str, Any] = {"TableName": self.table_name, "Item": item}
        if expected_version == 0:
            put["ConditionExpression"] = RECORD_NEVER_WRITTEN
        else:
            put["ConditionExpression"] = RECORD_UNCHANGED
            put["ExpressionAttributeValues"] = {":seen": {"N": str(expected_version)}}
        try:
            if transition is None:
                self.client.put_item(**put)
            else:
                self.client.transact_write_items(
                    TransactItems=[{"Put": put}, {"Put": self._transition_put(transition)}]  # type: ignore[typeddict-item]
                )
        except ClientError as exc:
            if error_code(exc) in (CONDITION_FAILED, TRANSACTION_CANCELED):
                return False
            raise BreakerStoreError(str(exc)) from exc
        except BotoCoreError as exc:
            raise BreakerStoreError(str(exc)) from exc
        return True

    def _transition_put(self, transition: Transition) -> dict[str, Any]:
        return {
            "TableName": self.table_name,
            "Item": {
                "pk": {"S": breaker_pk(transition.breaker)},
                "sk": {"S": f"{TRANSITION_SK_PREFIX}{transition.at_ms:013d}#{uuid.uuid4().hex[:8]}"},
                "from_state": {"S": transition.from_state.value},
                "to_state": {"S": transition.to_state.value},
                "at_ms": {"N": str(transition.at_ms)},
                "reason": {"S": transition.reason},
                "expires_at": {"N": str(transition.at_ms // 1000 + TRANSITION_TTL_SECONDS)},
            },
        }

    def transitions(self, name: str, limit: int = 50) -> list[Transition]:
        """The latest ``limit`` transitions, oldest first."""
        items = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": breaker_pk(name)}, ":prefix": {"S": TRANSITION_SK_PREFIX}},
            ScanIndexForward=False,
            Limit=limit,
            ConsistentRead=True,
        ).get("Items", [])
        return [
            Transition(
                breaker=name,
                from_state=BreakerState(item["from_state"]["S"]),
                to_state=BreakerState(item["to_state"]["S"]),
                at_ms=int(item["at_ms"]["N"]),
                reason=item["reason"]["S"],
            )
            for item in reversed(items)
        ]
