"""The access record: one staff read of one customer's personal data, and the trail it is sent to.

A route that returns a customer's personal fields to staff calls ``AccessTrail.record`` before it answers. The record
(who, tenant, IP, user agent, request id, which fields, when) goes onto an SQS queue encrypted with the audit KMS key:
one ``SendMessage`` on the request path, nothing else. The writer function (``functions/access_audit``) stores it in
the encrypted trail bucket and runs the unusual-access rules, off the request path.

If the record cannot be queued the read fails (a 500): a read of personal data that leaves no trace is what the trail
exists to prevent, so the personal data is not returned unaudited.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from marquee.core import aws
from marquee.core.env import BaseEnv
from marquee.core.models import CamelRequest
from marquee.core.personal import PersonalKind, personal, personal_fields
from marquee.tenancy.tenant import TenantContext, TenantId

MAX_USER_AGENT = 512


class AccessTrailEnv(BaseEnv):
    """The queue a function that serves personal data to staff sends its access records to."""

    access_trail_queue_url: str = Field(min_length=1)


class Origin(CamelRequest):
    """Where a request came from, as API Gateway saw it (never from the body)."""

    ip: Annotated[str, personal(PersonalKind.IP_ADDRESS)]
    user_agent: Annotated[str, personal(PersonalKind.USER_AGENT)]
    request_id: str

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> Origin:
        context = event.get("requestContext") or {}
        identity = context.get("identity") or {}
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        return cls(
            ip=str(identity.get("sourceIp") or "unknown"),
            user_agent=str(identity.get("userAgent") or headers.get("user-agent") or "unknown")[:MAX_USER_AGENT],
            request_id=str(context.get("requestId") or "unknown"),
        )


class AccessRecord(CamelRequest):
    """One staff read of one customer's personal data (the trail's item, and the queue message)."""

    record_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    tenant_id: TenantId
    customer_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,128}$")
    staff_id: str = Field(description="The reader's token subject")
    staff_username: str | None = None
    groups: list[str]
    ip: Annotated[str, personal(PersonalKind.IP_ADDRESS)]
    user_agent: Annotated[str, personal(PersonalKind.USER_AGENT)]
    request_id: str
    route: str = Field(description="The operation that returned the data, e.g. GET /customers/{customerId}/profile")
    fields: list[str] = Field(description="The personal fields returned (wire names)")
    at: datetime

    @classmethod
    def of(
        cls, reader: TenantContext, origin: Origin, *, customer_id: str, route: str, fields: list[str],
        at: datetime | None = None,
    ) -> AccessRecord:  # fmt: skip
        return cls(
            tenant_id=reader.tenant_id,
            customer_id=customer_id,
            staff_id=reader.user_id,
            staff_username=reader.username,
            groups=sorted(reader.groups),
            ip=origin.ip,
            user_agent=origin.user_agent,
            request_id=origin.request_id,
            route=route,
            fields=fields,
            at=at or datetime.now(UTC),
        )


def returned_personal_fields(response: BaseModel) -> list[str]:
    """The personal fields (wire names) ``response`` actually carries a value in: what the record lists."""
    dumped = response.model_dump(by_alias=True)
    return sorted(name for name in personal_fields(type(response)) if dumped.get(name) not in (None, ""))


class AccessTrail:
    """Sends access records to the trail's queue (SQS, KMS-encrypted). ``client`` is injectable for tests."""

    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        return self._client if self._client is not None else aws.sqs()

    def record(self, record: AccessRecord) -> None:
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=record.model_dump_json(by_alias=True))
