"""The unusual-access rules, pure: each fires exactly on its condition, and an alert's id names its window."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from marquee.audit.access import AccessRecord
from marquee.audit.rules import Rule, SecuritySettings, evaluate, outside_working_hours

SETTINGS = SecuritySettings(
    security_contact="security@acme.example", time_zone="America/Sao_Paulo", working_hours_start="08:00",
    working_hours_end="19:00", max_customers_per_window=3,
)  # fmt: skip
# Friday 2026-12-04 in São Paulo (UTC-3): 10:00 local is 13:00 UTC; 22:00 local is 01:00 UTC on Saturday.
WORKING = datetime(2026, 12, 4, 13, 0, tzinfo=UTC)
LATE = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
SATURDAY_NOON = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)


def record(at: datetime = WORKING, ip: str = "203.0.113.10", staff: str = "staff-1") -> AccessRecord:
    return AccessRecord(
        tenant_id="acme-cinemas", customer_id="cust-1", staff_id=staff, staff_username="sam", groups=["staff"], ip=ip,
        user_agent="ua", request_id="req-1", route="GET /customers/{customerId}/profile", fields=["email"], at=at,
    )  # fmt: skip


def test_a_read_in_working_hours_from_a_known_ip_within_the_limit_raises_nothing() -> None:
    assert evaluate(record(), SETTINGS, customers_in_window=3, new_ip=False) == []


def test_more_customers_than_the_limit_in_five_minutes_raises_many_customers() -> None:
    (alert,) = evaluate(record(), SETTINGS, customers_in_window=4, new_ip=False)
    assert alert.rule is Rule.MANY_CUSTOMERS and "4 customers" in alert.detail


@pytest.mark.parametrize("at", [LATE, SATURDAY_NOON])
def test_a_read_outside_working_hours_in_the_tenant_zone_raises_outside_working_hours(at: datetime) -> None:
    assert outside_working_hours(at, SETTINGS)
    (alert,) = evaluate(record(at), SETTINGS, customers_in_window=1, new_ip=False)
    assert alert.rule is Rule.OUTSIDE_WORKING_HOURS and "America/Sao_Paulo" in alert.detail


def test_working_hours_are_local_time_not_utc() -> None:
    # 09:00 UTC on a Friday is 06:00 in São Paulo: outside, though inside 08:00-19:00 UTC.
    assert outside_working_hours(datetime(2026, 12, 4, 9, 0, tzinfo=UTC), SETTINGS)
    assert not outside_working_hours(datetime(2026, 12, 4, 21, 59, tzinfo=UTC), SETTINGS)  # 18:59 local


def test_a_new_ip_raises_new_ip_once_per_staff_and_ip() -> None:
    (alert,) = evaluate(record(ip="198.51.100.9"), SETTINGS, customers_in_window=1, new_ip=True)
    assert alert.rule is Rule.NEW_IP
    again = evaluate(record(ip="198.51.100.9"), SETTINGS, customers_in_window=1, new_ip=True)[0]
    other_staff = evaluate(record(ip="198.51.100.9", staff="staff-2"), SETTINGS, customers_in_window=1, new_ip=True)
    assert again.alert_id == alert.alert_id != other_staff[0].alert_id


def test_alert_ids_are_one_per_five_minute_window_for_the_volume_rule() -> None:
    first = evaluate(record(WORKING), SETTINGS, customers_in_window=4, new_ip=False)[0]
    later_same_window = evaluate(record(WORKING.replace(minute=4)), SETTINGS, customers_in_window=5, new_ip=False)[0]
    next_window = evaluate(record(WORKING.replace(minute=5)), SETTINGS, customers_in_window=5, new_ip=False)[0]
    assert first.alert_id == later_same_window.alert_id != next_window.alert_id


def test_the_alert_is_a_transactional_email_to_the_contact() -> None:
    alert = evaluate(record(LATE), SETTINGS, customers_in_window=1, new_ip=False)[0]
    message = alert.notification(SETTINGS.security_contact)
    assert message.channel.value == "email" and message.customer_id == "security@acme.example"
    assert message.transactional and message.event_id == alert.alert_id and message.event_type == "UnusualAccess"


@pytest.mark.parametrize(
    "change",
    [{"timeZone": "Mars/Olympus"}, {"workingHoursEnd": "07:00"}, {"workingDays": [0]}, {"workingDays": [1, 1]},
     {"securityContact": "not-an-address"}, {"maxCustomersPerWindow": 0}],
)  # fmt: skip
def test_invalid_settings_are_refused(change: dict[str, object]) -> None:
    body = {**SETTINGS.model_dump(by_alias=True), **change}
    with pytest.raises(ValidationError):
        SecuritySettings.model_validate(body)
