"""The integrity reconciler's infrastructure (design question 8): its schedule, its settings and its grants."""

from __future__ import annotations

from typing import Any

from infra import constants

from .conftest import of_type

Resources = dict[str, dict[str, Any]]


def _reconciler(resources: Resources) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (name, f["Properties"])
        for name, f in of_type(resources, "AWS::Lambda::Function").items()
        if f["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "integrity"
    ]
    return found


def test_the_reconciler_runs_every_15_minutes_on_a_schedule(resources: Resources) -> None:
    name, _ = _reconciler(resources)
    (rule,) = [
        r["Properties"]
        for r in of_type(resources, "AWS::Events::Rule").values()
        if any(t["Arn"] == {"Fn::GetAtt": [name, "Arn"]} for t in r["Properties"].get("Targets", []))
    ]
    assert rule["ScheduleExpression"] == f"rate({constants.INTEGRITY_SCHEDULE_MINUTES} minutes)"
    assert rule["State"] == "ENABLED"


def test_the_reconciler_has_its_grace_period_and_the_providers_by_reference_only(resources: Resources) -> None:
    _, props = _reconciler(resources)
    variables = props["Environment"]["Variables"]
    assert variables["INTEGRITY_GRACE_SECONDS"] == constants.INTEGRITY_GRACE_SECONDS_BY_TARGET[constants.TARGET_LOCAL]
    assert "PAYMENTS_PRIMARY_SECRET_ID" in variables and "PAYMENTS_SECONDARY_SECRET_ID" in variables
    assert not any("apiKey" in str(v) for v in variables.values())
    assert props["Timeout"] == 300
