"""Environment, request and response models of the notification functions (router, channel workers, API)."""

from __future__ import annotations

from pydantic import Field, StrictBool

from marquee.cache.env import CacheEnv
from marquee.core.env import PowertoolsEnv
from marquee.core.models import CamelModel, CamelRequest
from marquee.notifications.channels import Channel, Preferences
from marquee.notifications.store import LogEntry
from marquee.tenancy.tenant_session import TenantDataEnv


class QueuesEnv(PowertoolsEnv):
    """The channel queues and their DLQs (router, API)."""

    email_queue_url: str = Field(min_length=1)
    sms_queue_url: str = Field(min_length=1)
    push_queue_url: str = Field(min_length=1)
    email_dlq_url: str = Field(min_length=1)
    sms_dlq_url: str = Field(min_length=1)
    push_dlq_url: str = Field(min_length=1)

    def queue_url(self, channel: Channel) -> str:
        return str(getattr(self, f"{channel.value}_queue_url"))

    def dlq_url(self, channel: Channel) -> str:
        return str(getattr(self, f"{channel.value}_dlq_url"))


class RouterEnv(QueuesEnv):
    pass


class ApiEnv(QueuesEnv, TenantDataEnv, CacheEnv):
    """Tenant-facing: the main table only through the tenant-access role (challenge 19)."""

    notifications_log_page_size: int = Field(gt=0, le=200)


class WorkerEnv(PowertoolsEnv):
    """One channel's worker. Retry timing is set per target by CDK (short locally, documented AWS values)."""

    table_name: str = Field(min_length=1)
    ops_table_name: str = Field(min_length=1)
    channel: Channel
    queue_url: str = Field(min_length=1)
    dlq_url: str = Field(min_length=1)
    # The queue's redrive maxReceiveCount: on that receive an unexpected error is dead-lettered by the worker, with
    # its type, instead of by SQS on the next receive, without it.
    max_receive_count: int = Field(ge=1, le=1000)
    primary_secret_id: str = Field(min_length=1)
    backup_secret_id: str = Field(min_length=1)
    notify_backoff_base_s: int = Field(gt=0)
    notify_backoff_cap_s: int = Field(gt=0)
    notify_claim_lease_ms: int = Field(gt=0)
    notify_connect_timeout_ms: int = Field(gt=0)
    notify_read_timeout_ms: int = Field(gt=0)
    notify_secret_max_age_s: int = Field(ge=0)
    breaker_failure_threshold: int = Field(gt=0)
    breaker_window_ms: int = Field(gt=0)
    breaker_cooldown_ms: int = Field(gt=0)
    breaker_success_threshold: int = Field(gt=0)
    breaker_probe_lease_ms: int = Field(gt=0)


class PreferencesResponse(CamelModel):
    preferences: Preferences


class DeliveryLogResponse(CamelModel):
    items: list[LogEntry]


class StaffMessageRequest(CamelRequest):
    """A staff message to one customer (not transactional unless said: it waits for quiet hours)."""

    customer_id: str = Field(min_length=1, max_length=128)
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1)
    channels: list[Channel] = Field(default_factory=lambda: list(Channel), min_length=1)
    transactional: StrictBool = False


class EnqueuedResponse(CamelModel):
    event_id: str
    channels: list[Channel]


class QueueDepth(CamelModel):
    channel: Channel
    queue: dict[str, int]
    dlq: dict[str, int]


class DlqResponse(CamelModel):
    queues: list[QueueDepth]


class RedriveResponse(CamelModel):
    channel: Channel
    mode: str
    moved: int
    failed: int
    task_handle: str | None = None
    seconds: float
