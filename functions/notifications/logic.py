"""Notification logic: route an event to the channel queues, deliver one queued message, and the API's operations.

Knows nothing of Lambda event shapes: the handlers parse, then call one function here.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marquee.messaging.dlq import depth, redrive
from marquee.notifications.channels import (
    CHANNELS,
    STAFF_MESSAGE_TYPE,
    Channel,
    Notification,
    Preferences,
    checked_size,
    group_id,
    notifications_for,
)
from marquee.notifications.providers import AllProvidersFailed, ChannelSender, MessageRejected, SendOutcome
from marquee.notifications.store import (
    AlreadySent,
    DeliveryStatus,
    LogEntry,
    NotificationStore,
    SendInFlight,
)
from marquee.tenancy.tenant import TenantContext

from .models import QueueDepth, QueuesEnv, RedriveResponse, StaffMessageRequest


def now_ms() -> int:
    return int(time.time() * 1000)


# ---- routing (router function and staff messages) ---------------------------------------------------------------------
def enqueue(messages: list[Notification], *, queue_url: Callable[[Channel], str], sqs: Any) -> list[Channel]:
    """Send each message to its channel's FIFO queue: group = the customer, deduplication id = the event id."""
    bodies = [(message, checked_size(message)) for message in messages]  # all-or-nothing size check first
    for message, body in bodies:
        sqs.send_message(
            QueueUrl=queue_url(message.channel),
            MessageBody=body,
            MessageGroupId=group_id(message.tenant_id, message.customer_id),
            MessageDeduplicationId=message.event_id,
        )
    return [message.channel for message, _ in bodies]


def route_event(envelope: dict[str, Any], *, env: QueuesEnv, sqs: Any) -> list[Channel]:
    return enqueue(notifications_for(envelope, now_ms=now_ms()), queue_url=env.queue_url, sqs=sqs)


def send_staff_message(
    caller: TenantContext, request: StaffMessageRequest, *, env: QueuesEnv, sqs: Any
) -> tuple[str, list[Channel]]:
    caller.require_group("staff")
    event_id = str(uuid.uuid4())
    messages = [
        Notification(
            event_id=event_id,
            event_type=STAFF_MESSAGE_TYPE,
            tenant_id=caller.tenant_id,
            customer_id=request.customer_id,
            channel=channel,
            subject=request.subject,
            body=request.body,
            transactional=request.transactional,
            occurred_at=datetime.now(UTC),
            correlation_id=event_id,
            enqueued_at_ms=now_ms(),
        )
        for channel in dict.fromkeys(request.channels)
    ]
    return event_id, enqueue(messages, queue_url=env.queue_url, sqs=sqs)


# ---- delivery (channel workers) ---------------------------------------------------------------------------------------
class Deferred(Exception):
    """Quiet hours: the message waits ``seconds`` in its queue (its visibility is moved), it is not dropped."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"quiet hours: delayed {seconds} s")
        self.seconds = seconds


class TransientFailure(Exception):
    """Retry later with backoff (provider outage, breaker open, a concurrent send in flight)."""


class PermanentFailure(Exception):
    """The message can never be delivered as it is: it goes to the DLQ now, with this error."""


@dataclass
class WorkerDeps:
    channel: Channel
    store: NotificationStore
    sender: ChannelSender
    sms_enabled: Callable[[str, str], bool]  # (tenant, customer) -> the sms_notifications flag
    claim_lease_ms: int
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


def _entries(message: Notification, outcome: SendOutcome, attempt: int, at_ms: int) -> list[LogEntry]:
    return [
        LogEntry(
            at_ms=at_ms,
            event_id=message.event_id,
            event_type=message.event_type,
            customer_id=message.customer_id,
            channel=message.channel,
            status=DeliveryStatus.SENT if a.ok else DeliveryStatus.FAILED,
            attempt=attempt,
            provider=a.provider,
            latency_ms=a.latency_ms,
            error=a.error,
            detail=a.message_id,
        )
        for a in outcome.attempts
    ]


def deliver(message: Notification, *, attempt: int, deps: WorkerDeps) -> DeliveryStatus:
    """Deliver one queued message at most once. Raises ``Deferred``, ``TransientFailure`` or ``PermanentFailure``."""
    now = deps.clock()
    at_ms = int(now.timestamp() * 1000)

    def note(status: DeliveryStatus, detail: str) -> DeliveryStatus:
        deps.store.log(
            message.tenant_id,
            [
                LogEntry(
                    at_ms=at_ms,
                    event_id=message.event_id,
                    event_type=message.event_type,
                    customer_id=message.customer_id,
                    channel=message.channel,
                    status=status,
                    attempt=attempt,
                    detail=detail,
                )
            ],
        )
        return status

    if message.channel is not deps.channel:
        raise PermanentFailure(f"a {message.channel.value} message in the {deps.channel.value} queue")
    preferences = deps.store.get_preferences(message.tenant_id, message.customer_id)
    if not preferences.channels.allows(message.channel):
        return note(DeliveryStatus.SKIPPED, "opted out of this channel")
    if message.channel is Channel.SMS and not deps.sms_enabled(message.tenant_id, message.customer_id):
        return note(DeliveryStatus.SKIPPED, "sms_notifications is off for this tenant")
    if preferences.quiet_hours is not None and not message.transactional:
        delay = preferences.quiet_hours.delay_seconds(now)
        if delay:
            note(DeliveryStatus.DEFERRED, f"quiet hours: retried in {delay} s")
            raise Deferred(delay)
    try:
        claim = deps.store.claim(
            message.tenant_id, message.event_id, message.channel, now_ms=at_ms, lease_ms=deps.claim_lease_ms
        )
    except AlreadySent:
        return note(DeliveryStatus.DUPLICATE, "already sent: nothing sent again")
    except SendInFlight as exc:
        raise TransientFailure(str(exc)) from exc
    try:
        outcome = deps.sender.send(message)
    except MessageRejected as exc:
        deps.store.release(claim)
        deps.store.log(message.tenant_id, _entries(message, exc.outcome, attempt, at_ms))
        raise PermanentFailure(str(exc)) from exc
    except AllProvidersFailed as exc:
        deps.store.release(claim)
        deps.store.log(message.tenant_id, _entries(message, exc.outcome, attempt, at_ms))
        raise TransientFailure(str(exc)) from exc
    except Exception:
        deps.store.release(claim)  # a bug, not an outcome: the retry claims at once (the provider dedupes a resend)
        raise
    sent = outcome.sent
    assert sent is not None  # noqa: S101 - ChannelSender returns only with a successful attempt
    deps.store.complete(
        claim,
        provider=sent.provider,
        provider_message_id=sent.message_id or "",
        entries=_entries(message, outcome, attempt, at_ms),
    )
    return DeliveryStatus.SENT


def record_failure(
    message: Notification, error: BaseException, *, attempt: int, dead_lettered: bool, deps: WorkerDeps
) -> None:
    """Write an error of the worker itself to the delivery log, with its type: FAILED when the message will be retried,
    DEAD_LETTERED when it was moved to the DLQ (a permanent error, or an unexpected one on its last attempt)."""
    deps.store.log(
        message.tenant_id,
        [
            LogEntry(
                at_ms=int(deps.clock().timestamp() * 1000),
                event_id=message.event_id,
                event_type=message.event_type,
                customer_id=message.customer_id,
                channel=message.channel,
                status=DeliveryStatus.DEAD_LETTERED if dead_lettered else DeliveryStatus.FAILED,
                attempt=attempt,
                error=str(error)[:300] or "-",
                error_type=type(error).__name__,
                detail="moved to the DLQ" if dead_lettered else "retried with backoff",
            )
        ],
    )


# ---- API ------------------------------------------------------------------------------------------------------------
def get_preferences(caller: TenantContext, store: NotificationStore) -> Preferences:
    return store.get_preferences(caller.tenant_id, caller.user_id)


def put_preferences(caller: TenantContext, preferences: Preferences, store: NotificationStore) -> Preferences:
    store.put_preferences(caller.tenant_id, caller.user_id, preferences)
    return preferences


def my_notifications(caller: TenantContext, store: NotificationStore, limit: int) -> list[LogEntry]:
    return store.history(caller.tenant_id, caller.user_id, limit=limit)


def tenant_notifications(
    caller: TenantContext, store: NotificationStore, limit: int, customer_id: str | None
) -> list[LogEntry]:
    caller.require_group("staff")
    return store.history(caller.tenant_id, customer_id, limit=limit)


def dlq_depths(caller: TenantContext, *, env: QueuesEnv, sqs: Any) -> list[QueueDepth]:
    caller.require_group("staff")
    return [QueueDepth(channel=c, queue=depth(sqs, env.queue_url(c)), dlq=depth(sqs, env.dlq_url(c))) for c in CHANNELS]


def redrive_dlq(caller: TenantContext, channel: Channel, *, env: QueuesEnv, sqs: Any) -> RedriveResponse:
    """Staff only. The queues are shared by every tenant, so this is a platform operation: the staff group of any
    tenant may run it in this reference (a production fork restricts it to an operators' group)."""
    caller.require_group("staff")
    result = redrive(sqs, dlq_url=env.dlq_url(channel), source_url=env.queue_url(channel))
    return RedriveResponse(
        channel=channel,
        mode=result.mode,
        moved=result.moved,
        failed=result.failed,
        task_handle=result.task_handle,
        seconds=round(result.seconds, 3),
    )
