"""One delivery attempt: sign with the endpoint's current (and, during a rotation, previous) secret, POST, record.

Outcomes:
- 2xx: SUCCEEDED, and the endpoint's consecutive-failure count goes back to 0;
- anything else (non-2xx, redirect, timeout, refused, blocked by the SSRF guard): the attempt is recorded and the
  endpoint's count goes up. At ``webhook_disable_after_failures`` the endpoint is disabled (EndpointDisabled through
  the outbox) and the delivery is SKIPPED. Otherwise the message's visibility is set to the next delay of the schedule
  and ``DeliveryFailed`` is raised (a partial batch failure), until the last attempt: EXHAUSTED, and SQS moves the
  message to the DLQ on its next receive.
- a stale message (an older generation than a redelivery, or already SUCCEEDED), or an endpoint that is gone or
  disabled: nothing is sent.

An unexpected error (a bug of the sender, not the endpoint's answer) is written to the delivery's attempt log with its
type by ``record_crash``, and takes the same retry schedule; it does not count against the endpoint.
"""

from __future__ import annotations

import http.client
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from marquee.core.errors import MarqueeError
from marquee.webhooks.errors import DeliveryNotFound, EndpointNotFound
from marquee.webhooks.models import Attempt, DeliveryMessage, DeliveryStatus, EndpointStatus, now_iso
from marquee.webhooks.queue import DeliveryQueue
from marquee.webhooks.signing import signed_headers
from marquee.webhooks.signing_secrets import SigningSecrets
from marquee.webhooks.ssrf import HttpResult, Resolver, Target, UrlRejected, check_url, post
from marquee.webhooks.store import WebhookStore

from .models import SenderEnv

Poster = Callable[..., HttpResult]
JITTER = 0.1  # up to +10 % on each delay, so that endpoints that failed together are not retried together


class DeliveryFailed(MarqueeError):
    """The attempt failed and another is scheduled: the record is reported as a batch item failure."""

    slug = "webhook-delivery-failed"
    title = "Webhook delivery failed"


@dataclass(frozen=True)
class Outcome:
    status: DeliveryStatus | None  # None: nothing was attempted (stale or unknown message)
    retry_in: int | None = None
    endpoint_disabled: bool = False


def retry_delay(env: SenderEnv, receive_count: int) -> int | None:
    """Seconds before the next attempt after failed attempt ``receive_count``; None when it was the last one."""
    if receive_count >= env.webhook_max_attempts:
        return None
    base = env.webhook_retry_delays_s[receive_count - 1]
    return base + int(random.uniform(0, base * JITTER))  # noqa: S311 - jitter, not cryptography


def deliver(
    message: DeliveryMessage,
    *,
    receipt_handle: str,
    receive_count: int,
    env: SenderEnv,
    store: WebhookStore,
    secrets: SigningSecrets,
    queue: DeliveryQueue,
    http_post: Poster = post,
    resolver: Resolver | None = None,
    clock: Callable[[], float] = time.time,
) -> Outcome:
    try:
        delivery = store.get_delivery(message.tenant_id, message.endpoint_id, message.delivery_id)
    except DeliveryNotFound:
        return Outcome(status=None)
    if delivery.delivery_status is DeliveryStatus.SUCCEEDED or message.generation < delivery.generation:
        return Outcome(status=None)
    started = clock()
    try:
        endpoint = store.get_endpoint(message.tenant_id, message.endpoint_id)
    except EndpointNotFound:
        store.mark_delivery(delivery, DeliveryStatus.SKIPPED, now=started)
        return Outcome(status=DeliveryStatus.SKIPPED)
    if endpoint.endpoint_status is EndpointStatus.DISABLED:
        store.mark_delivery(delivery, DeliveryStatus.SKIPPED, now=started)
        return Outcome(status=DeliveryStatus.SKIPPED)

    keys = secrets.read(endpoint.secret_name, min_version=endpoint.secret_version).signing_keys(started)
    timestamp = int(started)  # a fresh timestamp per attempt: the receiver's 5-minute window applies to each
    headers = signed_headers(keys, msg_id=delivery.delivery_id, timestamp=timestamp, body=delivery.body)
    status_code: int | None = None
    error: str | None = None
    try:
        target: Target = check_url(endpoint.url, allow_loopback=env.webhook_allow_loopback, resolver=resolver)
        result = http_post(
            target, body=delivery.body.encode("utf-8"), headers=headers, timeout=env.webhook_timeout_ms / 1000
        )
        status_code = result.status
        if not 200 <= result.status < 300:
            error = f"HTTP {result.status}"
    except UrlRejected as exc:
        error = f"blocked: {exc.detail}"
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    finished = clock()
    attempt = Attempt(
        number=len(delivery.attempts) + 1,
        at=now_iso(started),
        outcome="failure" if error else "success",
        status_code=status_code,
        error=error,
        duration_ms=int((finished - started) * 1000),
        signatures=len(keys),
    )
    if error is None:
        store.record_attempt(delivery, attempt, status=DeliveryStatus.SUCCEEDED, next_attempt_at=None, now=finished)
        store.record_endpoint_success(endpoint)
        return Outcome(status=DeliveryStatus.SUCCEEDED)

    disabled = store.record_endpoint_failure(
        endpoint,
        threshold=env.webhook_disable_after_failures,
        delivery=delivery.delivery_id,
        correlation_id=delivery.event_id,
        now=finished,
    )
    if disabled:
        store.record_attempt(delivery, attempt, status=DeliveryStatus.SKIPPED, next_attempt_at=None, now=finished)
        return Outcome(status=DeliveryStatus.SKIPPED, endpoint_disabled=True)
    delay = retry_delay(env, receive_count)
    if delay is None:
        store.record_attempt(delivery, attempt, status=DeliveryStatus.EXHAUSTED, next_attempt_at=None, now=finished)
        queue.retry_in(receipt_handle, 0)  # the next receive exceeds maxReceiveCount: SQS moves it to the DLQ
        raise DeliveryFailed(f"Delivery {delivery.delivery_id} exhausted its {env.webhook_max_attempts} attempts.")
    store.record_attempt(
        delivery, attempt, status=DeliveryStatus.RETRYING, next_attempt_at=now_iso(finished + delay), now=finished
    )
    queue.retry_in(receipt_handle, delay)
    raise DeliveryFailed(
        f"Delivery {delivery.delivery_id} attempt {attempt.number} failed ({error}); retry in {delay}s."
    )


def record_crash(
    message: DeliveryMessage,
    error: BaseException,
    *,
    receipt_handle: str,
    receive_count: int,
    env: SenderEnv,
    store: WebhookStore,
    queue: DeliveryQueue,
    clock: Callable[[], float] = time.time,
) -> DeliveryStatus | None:
    """Append an unexpected error to the delivery's attempt log, with its type, and schedule the retry as for a failed
    attempt (EXHAUSTED on the last one: SQS moves the message to the DLQ on its next receive). None when the delivery
    is unknown or already settled, so that nothing is recorded on it."""
    try:
        delivery = store.get_delivery(message.tenant_id, message.endpoint_id, message.delivery_id)
    except DeliveryNotFound:
        return None
    if delivery.delivery_status is DeliveryStatus.SUCCEEDED or message.generation < delivery.generation:
        return None
    now = clock()
    attempt = Attempt(
        number=len(delivery.attempts) + 1,
        at=now_iso(now),
        outcome="failure",
        error=f"{type(error).__name__}: {error}"[:300],
        error_type=type(error).__name__,
        duration_ms=0,
        signatures=0,
    )
    delay = retry_delay(env, receive_count)
    if delay is None:
        store.record_attempt(delivery, attempt, status=DeliveryStatus.EXHAUSTED, next_attempt_at=None, now=now)
        queue.retry_in(receipt_handle, 0)
        return DeliveryStatus.EXHAUSTED
    store.record_attempt(
        delivery, attempt, status=DeliveryStatus.RETRYING, next_attempt_at=now_iso(now + delay), now=now
    )
    queue.retry_in(receipt_handle, delay)
    return DeliveryStatus.RETRYING
