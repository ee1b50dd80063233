"""Unusual access to personal data, and the alert to the tenant's security contact.

Three rules run on every access record, in the trail's writer (never on the request path):
- ``many-customers``: one staff member read more than ``maxCustomersPerWindow`` distinct customers within 5 minutes;
- ``outside-working-hours``: a read outside the tenant's working days and hours, in the tenant's time zone;
- ``new-ip``: a read from an IP address this staff member has not read from before (the first one ever is learned,
  not alerted: there is nothing to compare it with).

An alert is an e-mail to the tenant's security contact through the notifications pipeline (the email channel's FIFO
queue, its worker, its providers). Its id is derived from (tenant, staff, rule, window), so a redelivered record, a
second read in the same window or a retried batch raise it once: the FIFO queue drops a repeated id within 5 minutes
and the worker's delivery record (``marquee.notifications.store``) sends each id once, ever.

The state the rules need lives in the audit table under the tenant: reads by staff member (1-hour TTL), IPs by staff
member, and the tenant's security settings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botocore.exceptions import ClientError
from pydantic import Field, StrictInt, StringConstraints, field_validator

from marquee.audit.access import AccessRecord
from marquee.core import aws
from marquee.core.models import CamelRequest
from marquee.core.personal import PersonalKind, personal
from marquee.dynamo.conditions import CONDITION_FAILED, ITEM_IS_NEW, error_code
from marquee.notifications.channels import Channel, Notification, checked_size, group_id
from marquee.tenancy.tenant import tenant_key

WINDOW = timedelta(minutes=5)
READ_TTL = timedelta(hours=1)
ALERT_EVENT_TYPE = "UnusualAccess"
HOUR_MINUTE = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"

ContactEmail = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=128, pattern=r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+$"),
    personal(PersonalKind.EMAIL),
]


class Rule(StrEnum):
    MANY_CUSTOMERS = "many-customers"
    OUTSIDE_WORKING_HOURS = "outside-working-hours"
    NEW_IP = "new-ip"


class SecuritySettings(CamelRequest):
    """A tenant's security settings: who is alerted, and what counts as unusual."""

    security_contact: ContactEmail
    time_zone: str = Field(max_length=64, description="IANA time zone of the working hours, e.g. America/Sao_Paulo")
    working_hours_start: str = Field(pattern=HOUR_MINUTE, description="HH:MM, local time")
    working_hours_end: str = Field(pattern=HOUR_MINUTE, description="HH:MM, local time, after the start")
    working_days: list[StrictInt] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5], min_length=1, max_length=7, description="ISO weekdays, 1 = Monday"
    )
    max_customers_per_window: StrictInt = Field(default=20, ge=1, le=10_000)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return value

    @field_validator("working_days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(day < 1 or day > 7 for day in value) or len(set(value)) != len(value):
            raise ValueError("each day is an ISO weekday (1-7), once")
        return sorted(value)

    @field_validator("working_hours_end")
    @classmethod
    def _after_start(cls, value: str, info: Any) -> str:
        start = info.data.get("working_hours_start")
        if start is not None and value <= start:
            raise ValueError("the end of the working hours must be after their start")
        return value


@dataclass(frozen=True)
class Alert:
    rule: Rule
    record: AccessRecord
    detail: str
    window: str  # what makes two alerts the same one (a 5-minute bucket, a local day, an IP)

    @property
    def alert_id(self) -> str:
        seed = f"{self.record.tenant_id}|{self.record.staff_id}|{self.rule.value}|{self.window}"
        return "alert-" + hashlib.sha256(seed.encode()).hexdigest()[:32]

    def notification(self, contact: str) -> Notification:
        who = self.record.staff_username or self.record.staff_id
        return Notification(
            event_id=self.alert_id,
            event_type=ALERT_EVENT_TYPE,
            tenant_id=self.record.tenant_id,
            customer_id=contact,
            channel=Channel.EMAIL,
            subject=f"Unusual access to personal data: {self.rule.value}",
            body=f"{who} {self.detail} (request {self.record.request_id}, {self.record.route}, "
            f"at {self.record.at.isoformat()}).",
            transactional=True,  # security: sent in the contact's quiet hours too
            occurred_at=self.record.at,
        )


def outside_working_hours(at: datetime, settings: SecuritySettings) -> bool:
    local = at.astimezone(ZoneInfo(settings.time_zone))
    start = time.fromisoformat(settings.working_hours_start)
    end = time.fromisoformat(settings.working_hours_end)
    return local.isoweekday() not in settings.working_days or not (start <= local.time() < end)


def evaluate(
    record: AccessRecord, settings: SecuritySettings, *, customers_in_window: int, new_ip: bool
) -> list[Alert]:
    """The alerts ``record`` raises, given what the state store says about its window and its IP (pure)."""
    alerts: list[Alert] = []
    if customers_in_window > settings.max_customers_per_window:
        bucket = int(record.at.timestamp() // WINDOW.total_seconds())
        alerts.append(
            Alert(
                Rule.MANY_CUSTOMERS,
                record,
                f"read the personal data of {customers_in_window} customers within 5 minutes "
                f"(the limit is {settings.max_customers_per_window})",
                str(bucket),
            )
        )
    if outside_working_hours(record.at, settings):
        local = record.at.astimezone(ZoneInfo(settings.time_zone))
        alerts.append(
            Alert(
                Rule.OUTSIDE_WORKING_HOURS,
                record,
                f"read a customer's personal data at {local:%a %H:%M} {settings.time_zone}, outside working hours",
                local.date().isoformat(),
            )
        )
    if new_ip:
        alerts.append(
            Alert(Rule.NEW_IP, record, f"read a customer's personal data from a new IP, {record.ip}", record.ip)
        )
    return alerts


def _s(value: str) -> dict[str, str]:
    return {"S": value}


class AccessState:
    """The rules' state and the tenant's security settings, in the audit table (DynamoDB, KMS-encrypted)."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        return self._client if self._client is not None else aws.dynamodb()

    # ---- settings ------------------------------------------------------------------------------------------------
    @staticmethod
    def _settings_key(tenant_id: str) -> dict[str, Any]:
        return {"pk": _s(tenant_key(tenant_id, "SECURITY")), "sk": _s("SETTINGS")}

    def settings_record(self, tenant_id: str) -> tuple[SecuritySettings, datetime, str] | None:
        """The tenant's settings, when and by whom they were last set; None if never."""
        item = self.client.get_item(TableName=self.table_name, Key=self._settings_key(tenant_id)).get("Item")
        if not item:
            return None
        settings = SecuritySettings.model_validate_json(item["settings"]["S"])
        return settings, datetime.fromisoformat(item["updatedAt"]["S"]), item["updatedBy"]["S"]

    def get_settings(self, tenant_id: str) -> SecuritySettings | None:
        found = self.settings_record(tenant_id)
        return found[0] if found else None

    def put_settings(self, tenant_id: str, settings: SecuritySettings, *, by: str, at: datetime) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                **self._settings_key(tenant_id),
                "settings": _s(settings.model_dump_json(by_alias=True)),
                "updatedBy": _s(by),
                "updatedAt": _s(at.isoformat()),
            },
        )

    # ---- rule state ----------------------------------------------------------------------------------------------
    @staticmethod
    def _staff_pk(record: AccessRecord) -> dict[str, str]:
        return _s(tenant_key(record.tenant_id, "STAFF", record.staff_id))

    def customers_in_window(self, record: AccessRecord) -> int:
        """Note the read (idempotent), then count the distinct customers this staff member read in the 5 minutes
        up to it."""
        at = record.at.astimezone(UTC)
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "pk": self._staff_pk(record),
                "sk": _s(f"READ#{at.isoformat()}#{record.record_id}"),
                "customerId": _s(record.customer_id),
                "expiresAt": {"N": str(int((at + READ_TTL).timestamp()))},
            },
        )
        customers: set[str] = set()
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :from AND :to",
            "ExpressionAttributeValues": {
                ":pk": self._staff_pk(record),
                ":from": _s(f"READ#{(at - WINDOW).isoformat()}"),
                ":to": _s(f"READ#{at.isoformat()}#~"),
            },
            "ProjectionExpression": "customerId",
        }
        while True:
            page = self.client.query(**kwargs)
            customers.update(item["customerId"]["S"] for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return len(customers)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def is_new_ip(self, record: AccessRecord) -> bool:
        """Learn the record's IP for its staff member; True if it is new and they had read from another one before.
        A redelivered record gets the same answer (the IP item remembers which record learned it and the answer)."""
        known = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :ip)",
            ExpressionAttributeValues={":pk": self._staff_pk(record), ":ip": _s("IP#")},
            Limit=1,
        )["Items"]
        key = {"pk": self._staff_pk(record), "sk": _s(f"IP#{record.ip}")}
        alerting = bool(known) and known[0]["sk"]["S"] != key["sk"]["S"]
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={**key, "learnedBy": _s(record.record_id), "alerting": {"BOOL": alerting}},
                ConditionExpression=ITEM_IS_NEW,
            )
            return alerting
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
        item = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True)["Item"]
        return item["learnedBy"]["S"] == record.record_id and bool(item["alerting"]["BOOL"])


class AlertSender:
    """Puts alert e-mails on the notifications pipeline's email FIFO queue (group = tenant + contact)."""

    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        return self._client if self._client is not None else aws.sqs()

    def send(self, alert: Alert, contact: str) -> Notification:
        message = alert.notification(contact)
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=checked_size(message),
            MessageGroupId=group_id(message.tenant_id, message.customer_id),
            MessageDeduplicationId=message.event_id,
        )
        return message


def process(record: AccessRecord, *, state: AccessState, alerts: AlertSender) -> list[Alert]:
    """The rules for one stored record: update the state, evaluate, send what fires (to a configured contact)."""
    customers = state.customers_in_window(record)
    new_ip = state.is_new_ip(record)
    settings = state.get_settings(record.tenant_id)
    if settings is None:
        return []  # no security contact: nothing to alert (the record is in the trail all the same)
    fired = evaluate(record, settings, customers_in_window=customers, new_ip=new_ip)
    for alert in fired:
        alerts.send(alert, settings.security_contact)
    return fired
