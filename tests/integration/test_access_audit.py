"""Sensitive-data audit (design question 7) on moto: a staff read of a customer's profile leaves an access record
(who, tenant, IP, user agent, request id, fields, when); the writer stores it in the trail bucket and runs the
unusual-access rules, whose alerts reach the notifications pipeline's email queue once; compliance officers read the
trail a page at a time, inside their tenant only. The handlers run in-process with the sample events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest

from marquee.audit.access import AccessRecord, AccessTrail
from marquee.audit.rules import AccessState, AlertSender, SecuritySettings, process

from .conftest import REGION, LambdaContext, Platform, invoke, load_event, load_function
from .logs import json_logs
from .test_catalog_and_holds import call, functions  # noqa: F401 - the fixture

TENANT = "acme-cinemas"
CUSTOMER_SUB = "0f1e2d3c-4b5a-6978-8a9b-acbdcedf0011"  # events/catalog/put_profile.json's customer
SEEDED_IP = "198.51.100.77"
SEEDED_UA = "SeededAgent/4.2 (audit test)"
SETTINGS = {
    "securityContact": "security@acme.example", "timeZone": "UTC", "workingHoursStart": "00:00",
    "workingHoursEnd": "23:59", "workingDays": [1, 2, 3, 4, 5, 6, 7], "maxCustomersPerWindow": 2,
}  # fmt: skip


class Audit:
    def __init__(self, trail_url: str, alert_url: str, bucket: str, table: str) -> None:
        self.trail_url, self.alert_url, self.bucket, self.table = trail_url, alert_url, bucket, table
        self.sqs = boto3.client("sqs", region_name=REGION)

    def drain(self, url: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while batch := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            out.extend(batch)
            for message in batch:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return out


@pytest.fixture
def audit(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Iterator[Audit]:
    sqs = boto3.client("sqs", region_name=REGION)
    trail_url = sqs.create_queue(QueueName="marquee-access-trail")["QueueUrl"]
    alert_url = sqs.create_queue(
        QueueName="marquee-notify-email.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"}
    )["QueueUrl"]
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="marquee-access-trail")
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName="marquee-audit",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for name, value in {"TRAIL_BUCKET_NAME": "marquee-access-trail", "AUDIT_TABLE_NAME": "marquee-audit",
                        "ALERT_QUEUE_URL": alert_url}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    yield Audit(trail_url, alert_url, "marquee-access-trail", "marquee-audit")


@pytest.fixture
def api(audit: Audit, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "access_audit")
    return load_function("access_audit", "api")


@pytest.fixture
def writer(audit: Audit, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "access_audit_writer")
    return load_function("access_audit", "writer")


def staff_read(cat: ModuleType, customer: str = CUSTOMER_SUB, *, staff: str = "staff-sub-1", ip: str = SEEDED_IP,
               tenant: str = TENANT) -> Any:  # fmt: skip
    event = load_event("catalog/get_customer_profile.json")
    event["pathParameters"] = {"customerId": customer}
    event["path"] = f"/customers/{customer}/profile"
    claims = event["requestContext"]["authorizer"]["claims"]
    claims["sub"], claims["custom:tenant_id"] = staff, tenant
    event["requestContext"]["identity"]["sourceIp"] = ip
    event["requestContext"]["identity"]["userAgent"] = SEEDED_UA
    return invoke(cat, event)


def write_profile(cat: ModuleType, sub: str = CUSTOMER_SUB, tenant: str = TENANT) -> None:
    body = {"displayName": "Carla Seeded-Person", "email": f"carla.{sub[:6]}@example.org", "phone": "+55 11 4000 1234"}
    assert call(cat, "catalog/put_profile.json", body=body, sub=sub, tenant=tenant).status == 200


def compliance_get(api: ModuleType, customer: str, *, tenant: str = TENANT, group: str = "compliance",
                   **query: str) -> Any:  # fmt: skip
    event = load_event("access_audit/get_access.json")
    event["queryStringParameters"] = {"customer": customer, **query}
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in event["queryStringParameters"].items()}
    event["requestContext"]["authorizer"]["claims"]["custom:tenant_id"] = tenant
    event["requestContext"]["authorizer"]["claims"]["cognito:groups"] = group
    return invoke(api, event)


def run_writer(writer: ModuleType, audit: Audit) -> list[dict[str, Any]]:
    messages = audit.drain(audit.trail_url)
    event = load_event("access_audit/writer_batch.json")
    template = event["Records"][0]
    event["Records"] = [{**template, "messageId": m["MessageId"], "body": m["Body"]} for m in messages]
    assert writer.handler(event, LambdaContext()) == {"batchItemFailures": []}
    return messages


def test_a_staff_read_is_recorded_stored_and_readable_by_compliance_only(
    functions: dict[str, ModuleType], audit: Audit, api: ModuleType, writer: ModuleType  # noqa: F811
) -> None:
    cat = functions["catalog"]
    cat.trail = AccessTrail(audit.trail_url)
    write_profile(cat)
    read = staff_read(cat)
    assert read.status == 200 and read.body["email"].startswith("carla.")

    (queued,) = run_writer(writer, audit)
    record = AccessRecord.model_validate_json(queued["Body"])
    assert (record.tenant_id, record.customer_id, record.staff_id) == (TENANT, CUSTOMER_SUB, "staff-sub-1")
    assert (record.ip, record.user_agent, record.staff_username) == (SEEDED_IP, SEEDED_UA, "sam")
    assert record.request_id == "9f8e7d6c-5b4a-4a55-8f5e-1a2b3c4d5e71"
    assert record.fields == ["displayName", "email", "phone"] and record.route == "GET /customers/{customerId}/profile"
    assert "carla." not in queued["Body"]  # the record says which fields, never their values

    page = compliance_get(api, CUSTOMER_SUB)
    assert page.status == 200 and [i["recordId"] for i in page.body["items"]] == [record.record_id]
    assert page.body["items"][0]["ip"] == SEEDED_IP and page.body["nextCursor"] is None
    assert compliance_get(api, CUSTOMER_SUB, group="staff").status == 403
    assert compliance_get(api, CUSTOMER_SUB, tenant="globex-films").body["items"] == []  # another tenant's officer


def test_a_customer_reading_their_own_profile_or_a_404_leaves_no_record(
    functions: dict[str, ModuleType], audit: Audit  # noqa: F811
) -> None:
    cat = functions["catalog"]
    cat.trail = AccessTrail(audit.trail_url)
    write_profile(cat)
    event = load_event("catalog/get_customer_profile.json")
    event["requestContext"]["authorizer"]["claims"]["cognito:groups"] = "customer"
    assert invoke(cat, event).status == 403
    assert staff_read(cat, customer="no-such-customer").status == 404
    assert audit.drain(audit.trail_url) == []


def test_the_trail_pages_oldest_first_with_a_cursor_and_refuses_a_forged_one(
    audit: Audit, api: ModuleType, writer: ModuleType
) -> None:
    trail = AccessTrail(audit.trail_url)
    start = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    ids = []
    for minute in range(5):
        rec = record_at(start + timedelta(minutes=minute))
        ids.append(rec.record_id)
        trail.record(rec)
    run_writer(writer, audit)
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(3):
        page = compliance_get(api, "cust-9", limit="2", **({"cursor": cursor} if cursor else {}))
        assert page.status == 200, page.body
        seen += [i["recordId"] for i in page.body["items"]]
        cursor = page.body["nextCursor"]
    assert seen == ids and cursor is None
    forged = compliance_get(api, "cust-9", cursor="../../globex-films/cust-1/x")
    assert forged.status in (400, 422) and forged.content_type == "application/problem+json"


def record_at(at: datetime, *, customer: str = "cust-9", ip: str = "203.0.113.10", staff: str = "staff-1") -> AccessRecord:
    return AccessRecord(
        tenant_id=TENANT, customer_id=customer, staff_id=staff, staff_username="sam", groups=["staff"], ip=ip,
        user_agent="ua", request_id=f"req-{at:%H%M%S}", route="GET /customers/{customerId}/profile",
        fields=["email"], at=at,
    )  # fmt: skip


def alerts(audit: Audit) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in audit.drain(audit.alert_url)]


def rules_state(audit: Audit, settings: dict[str, Any] | None = SETTINGS) -> tuple[AccessState, AlertSender]:
    state = AccessState(audit.table)
    if settings is not None:
        state.put_settings(TENANT, SecuritySettings.model_validate(settings), by="cora", at=datetime.now(UTC))
    return state, AlertSender(audit.alert_url)


def test_reading_more_than_n_customers_in_five_minutes_alerts_the_contact_once(audit: Audit) -> None:
    state, sender = rules_state(audit)
    start = datetime(2026, 12, 5, 12, 0, 30, tzinfo=UTC)
    fired = [process(record_at(start + timedelta(seconds=20 * i), customer=f"c{i}"), state=state, alerts=sender)
             for i in range(5)]  # fmt: skip
    assert [len(f) for f in fired] == [0, 0, 1, 1, 1]  # the 3rd distinct customer is over the limit of 2
    (sent,) = alerts(audit)  # one alert for the window: the queue dropped the repeats
    assert sent["channel"] == "email" and sent["customerId"] == "security@acme.example"
    assert sent["eventType"] == "UnusualAccess" and "3 customers" in sent["body"]


def test_the_same_customer_read_often_or_reads_spread_over_time_do_not_alert(audit: Audit) -> None:
    state, sender = rules_state(audit)
    start = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    for i in range(6):
        process(record_at(start + timedelta(seconds=i)), state=state, alerts=sender)  # one customer, 6 times
    for i in range(4):
        process(record_at(start + timedelta(minutes=10 + 6 * i), customer=f"c{i}"), state=state, alerts=sender)
    assert alerts(audit) == []


def test_a_read_outside_working_hours_alerts(audit: Audit) -> None:
    state, sender = rules_state(audit, {**SETTINGS, "timeZone": "America/Sao_Paulo", "workingHoursStart": "08:00",
                                        "workingHoursEnd": "19:00", "workingDays": [1, 2, 3, 4, 5]})  # fmt: skip
    process(record_at(datetime(2026, 12, 4, 13, 0, tzinfo=UTC)), state=state, alerts=sender)  # Fri 10:00 local
    assert alerts(audit) == []
    process(record_at(datetime(2026, 12, 5, 1, 30, tzinfo=UTC)), state=state, alerts=sender)  # Fri 22:30 local
    (sent,) = alerts(audit)
    assert "outside-working-hours" in sent["subject"] and "22:30 America/Sao_Paulo" in sent["body"]


def test_a_new_ip_for_a_staff_member_alerts_once_and_a_redelivery_agrees(audit: Audit) -> None:
    state, sender = rules_state(audit)
    at = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    first = record_at(at)
    assert process(first, state=state, alerts=sender) == []  # the first IP is learned
    assert process(record_at(at + timedelta(minutes=1)), state=state, alerts=sender) == []  # same IP
    moved = record_at(at + timedelta(minutes=2), ip="192.0.2.44")
    assert [a.rule.value for a in process(moved, state=state, alerts=sender)] == ["new-ip"]
    assert [a.rule.value for a in process(moved, state=state, alerts=sender)] == ["new-ip"]  # redelivered: same
    assert process(record_at(at + timedelta(minutes=3), ip="192.0.2.44"), state=state, alerts=sender) == []
    assert process(first, state=state, alerts=sender) == []  # the first record, redelivered: still learned only
    assert process(record_at(at, ip="192.0.2.44", staff="staff-2"), state=state, alerts=sender) == []  # per staff
    (sent,) = alerts(audit)
    assert "192.0.2.44" in sent["body"]


def test_without_security_settings_records_are_kept_and_nothing_is_sent(audit: Audit) -> None:
    state, sender = rules_state(audit, settings=None)
    for i in range(5):
        process(record_at(datetime(2026, 12, 5, 3, 0, i, tzinfo=UTC), customer=f"c{i}"), state=state, alerts=sender)
    assert alerts(audit) == []


def test_compliance_sets_and_reads_the_security_settings_and_staff_cannot(api: ModuleType) -> None:
    put = invoke(api, load_event("access_audit/put_security_settings.json"))
    assert put.status == 200 and put.body["updatedBy"] == "cora"
    got = invoke(api, load_event("access_audit/get_security_settings.json"))
    assert got.status == 200 and got.body["timeZone"] == "America/Sao_Paulo"
    as_staff = load_event("access_audit/put_security_settings.json")
    as_staff["requestContext"]["authorizer"]["claims"]["cognito:groups"] = "staff"
    assert invoke(api, as_staff).status == 403
    other = load_event("access_audit/get_security_settings.json")
    other["requestContext"]["authorizer"]["claims"]["custom:tenant_id"] = "globex-films"
    assert invoke(api, other).status == 404


def test_the_writer_logs_no_seeded_personal_value(
    functions: dict[str, ModuleType], audit: Audit, writer: ModuleType  # noqa: F811
) -> None:
    cat = functions["catalog"]
    cat.trail = AccessTrail(audit.trail_url)
    write_profile(cat)
    rules_state(audit, {**SETTINGS, "maxCustomersPerWindow": 1})
    staff_read(cat)
    staff_read(cat, ip="198.51.100.78")  # a new IP: the writer logs a warning for the alert
    writer.logger.setLevel("DEBUG")
    with json_logs(writer) as lines:
        writer.logger.info("the batch", extra={"event": [m["Body"] for m in run_writer(writer, audit)]})
    text = json.dumps(lines)
    assert any(line.get("message") == "Unusual access to personal data" for line in lines)
    assert [v for v in (SEEDED_IP, "198.51.100.78", SEEDED_UA) if v in text] == []
