"""Notifications (challenge 6, design question 10): channels, messages, preferences, quiet hours and retry timing.

- Which events notify, and which are transactional (they override quiet hours): ``NOTIFYING_EVENTS``.
- A ``Notification`` is one channel's message for one customer; it travels through that channel's SQS FIFO queue with
  ``MessageGroupId = group_id(tenant, customer)`` (one customer's messages stay in order) and
  ``MessageDeduplicationId = event id``.
- ``Preferences``: opt-in/opt-out per channel and quiet hours in the customer's time zone. An unknown channel or an
  unknown time zone is refused by validation (a 422 problem at the API).
- ``backoff_seconds``: exponential backoff with jitter, in whole seconds (SQS visibility is an integer).

Only pure logic here: the DAL is ``marquee.notifications.store``, the providers ``marquee.notifications.providers``.
"""

from __future__ import annotations

import math
import random
import re
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from http import HTTPStatus
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, WithJsonSchema, field_validator

from marquee.core.errors import MarqueeError
from marquee.core.models import CamelRequest

# SQS refuses a message body over 256 KiB; the whole serialized notification must fit.
MAX_MESSAGE_BYTES = 256 * 1024
MAX_VISIBILITY_SECONDS = 12 * 3600  # SQS's ceiling for ChangeMessageVisibility


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


CHANNELS: tuple[Channel, ...] = (Channel.EMAIL, Channel.SMS, Channel.PUSH)
SMS_FLAG = "sms_notifications"  # marquee.core.flags: the SMS channel is on per tenant only where this flag says so


class Template(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str
    body: str
    transactional: bool
    recipient: str = "customerId"  # the field of the event's data that names the customer to notify


# Transactional messages are about money or a purchase the customer just made: they are sent in quiet hours too.
# Every event that notifies is transactional; staff messages (not transactional unless staff say so) wait for the quiet
# hours to end. The keys are event types with a registered model (tests/unit/test_event_contracts.py).
NOTIFYING_EVENTS: dict[str, Template] = {
    "OrderConfirmed": Template(
        subject="Your tickets are confirmed", body="Order {orderId} is confirmed. Enjoy the show!", transactional=True
    ),
    "OrderFailed": Template(
        subject="Your order could not be completed",
        body="Order {orderId} failed ({reason}). You have not been charged.",
        transactional=True,
    ),
    "PaymentRefunded": Template(
        subject="Your refund is on its way",
        body="Payment {paymentId} was refunded.",
        transactional=True,
        recipient="clientId",  # the client the payment was charged for: the order's customer, in the saga
    ),
}
STAFF_MESSAGE_TYPE = "StaffMessage"


class NotificationError(MarqueeError):
    """Base of the notification errors."""


class MessageTooLarge(NotificationError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    slug = "message-too-large"
    title = "Message too large"


class NotANotifyingEvent(NotificationError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    slug = "not-a-notifying-event"
    title = "Event does not notify"


class Notification(CamelRequest):
    """One channel's message for one customer: the SQS message body."""

    event_id: str = Field(min_length=1, max_length=128)
    event_type: str = Field(min_length=1)
    tenant_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    customer_id: str = Field(min_length=1, max_length=128)
    channel: Channel
    subject: str
    body: str
    transactional: bool
    occurred_at: datetime
    correlation_id: str | None = None
    enqueued_at_ms: int = 0

    @property
    def idempotency_key(self) -> str:
        """The provider-side key: one (event, channel) is one message, whoever sends it and however often."""
        return f"{self.event_id}:{self.channel.value}"

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


def group_id(tenant_id: str, customer_id: str) -> str:
    """The FIFO message group: one customer (of one tenant: customer ids are unique only inside a tenant)."""
    return f"{tenant_id}#{customer_id}"


def checked_size(message: Notification) -> str:
    body = message.to_json()
    size = len(body.encode())
    if size > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(f"The message is {size} bytes; a queue message can be at most {MAX_MESSAGE_BYTES}.")
    return body


def _render(text: str, data: dict[str, Any]) -> str:
    class Defaulting(dict[str, Any]):
        def __missing__(self, key: str) -> str:
            return "?"

    return text.format_map(Defaulting({k: v for k, v in data.items() if isinstance(v, str | int)}))


def notifications_for(envelope: dict[str, Any], *, now_ms: int) -> list[Notification]:
    """One notification per channel for a notifying domain event (an envelope dict: id, type, tenantId, data...).

    ``NotANotifyingEvent`` for other types; a pydantic ``ValidationError`` when the envelope lacks what is needed.
    """
    template = NOTIFYING_EVENTS.get(str(envelope.get("type")))
    if template is None:
        raise NotANotifyingEvent(f"Events of type {envelope.get('type')!r} send no notification.")
    raw = envelope.get("data")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return [
        Notification.model_validate(
            {
                "eventId": envelope.get("id"),
                "eventType": envelope.get("type"),
                "tenantId": envelope.get("tenantId"),
                "customerId": data.get(template.recipient),
                "channel": channel,
                "subject": _render(template.subject, data),
                "body": _render(template.body, data),
                "transactional": template.transactional,
                "occurredAt": envelope.get("occurredAt"),
                "correlationId": envelope.get("correlationId"),
                "enqueuedAtMs": now_ms,
            }
        )
        for channel in CHANNELS
    ]


# ---- preferences ------------------------------------------------------------------------------------------------------
class ChannelChoices(BaseModel):
    """Opt-in (true) or opt-out (false) per channel. Any other key is an unknown channel: refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: StrictBool = True  # 0/1 or "true" are refused: a JSON boolean only
    sms: StrictBool = True
    push: StrictBool = True

    def allows(self, channel: Channel) -> bool:
        return bool(getattr(self, channel.value))


def _wall_clock(value: Any) -> Any:
    """A wall-clock time of day, written ``HH:MM`` (or ``HH:MM:SS``), with no offset: the zone is ``timeZone``.

    pydantic's own ``time`` would also take a number of seconds or an offset (``5`` -> 00:00:05+00:00), and an aware
    time cannot be compared with the customer's local time: those are refused here, at the edge."""
    if isinstance(value, time) and value.tzinfo is None:
        return value
    if not isinstance(value, str) or not WALL_CLOCK.fullmatch(value):
        raise ValueError("must be a time of day as 'HH:MM' (24 h, no offset)")
    return value


WALL_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")
WallClock = Annotated[
    time, BeforeValidator(_wall_clock), WithJsonSchema({"type": "string", "pattern": WALL_CLOCK.pattern})
]


class QuietHours(CamelRequest):
    """A daily window, in the customer's IANA time zone, when non-transactional messages wait. It may wrap midnight
    (22:00-07:00). ``start == end`` is refused (no window, or all day: say which by removing it or opting out)."""

    start: WallClock
    end: WallClock
    time_zone: str = Field(min_length=1, max_length=64)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone (use an IANA name such as 'Europe/Paris')") from exc
        return value

    @field_validator("end")
    @classmethod
    def _not_empty(cls, value: time, info: Any) -> time:
        if info.data.get("start") == value:
            raise ValueError("quiet hours need start != end")
        return value

    def delay_seconds(self, now: datetime) -> int:
        """0 outside the window; inside it, whole seconds until it ends (DST-aware, capped by SQS's 12 h)."""
        zone = ZoneInfo(self.time_zone)
        local = now.astimezone(zone)
        t = local.time().replace(tzinfo=None)
        inside = self.start <= t < self.end if self.start < self.end else (t >= self.start or t < self.end)
        if not inside:
            return 0
        end_day = local.date() if t < self.end else local.date() + timedelta(days=1)
        end = datetime.combine(end_day, self.end, tzinfo=zone)
        seconds = (end.astimezone(UTC) - now.astimezone(UTC)).total_seconds()
        return max(1, min(MAX_VISIBILITY_SECONDS, math.ceil(seconds)))


class Preferences(CamelRequest):
    channels: ChannelChoices = Field(default_factory=ChannelChoices)
    quiet_hours: QuietHours | None = None


# ---- retry timing -----------------------------------------------------------------------------------------------------
def backoff_seconds(attempt: int, *, base_s: int, cap_s: int, rng: random.Random | None = None) -> int:
    """Exponential backoff with "equal jitter": half of ``min(cap, base * 2**(attempt-1))`` plus a random part of the
    other half, rounded up to whole seconds (SQS visibility), at least 1. Jitter spreads the retries of messages that
    failed together (a provider outage) so they do not come back as one wave."""
    ceiling = min(cap_s, base_s * 2 ** max(0, attempt - 1))
    spread = (rng or random).uniform(0, ceiling / 2)  # noqa: S311 - jitter, not cryptography
    return max(1, min(MAX_VISIBILITY_SECONDS, math.ceil(ceiling / 2 + spread)))
