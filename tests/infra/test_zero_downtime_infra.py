"""Zero-downtime deploys (design question 2): the seat-hold routes go through the ``live`` alias, which a CodeDeploy
canary moves to each new version, with error and latency alarms and automatic rollback."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.conftest import of_type


def _holds_alias(resources: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    [(logical_id, alias)] = [
        (k, v) for k, v in of_type(resources, "AWS::Lambda::Alias").items() if k.startswith("SeatHoldsLive")
    ]
    return logical_id, alias


def test_the_live_alias_is_updated_through_codedeploy_with_its_group(resources: dict[str, dict[str, Any]]) -> None:
    _, alias = _holds_alias(resources)
    assert alias["Properties"]["Name"] == "live"
    policy = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    [group_id] = of_type(resources, "AWS::CodeDeploy::DeploymentGroup")
    assert policy["DeploymentGroupName"] == {"Ref": group_id}
    version_id = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
    assert resources[version_id]["Type"] == "AWS::Lambda::Version"  # currentVersion: a new one per code change


def test_the_group_rolls_back_on_its_error_and_latency_alarms(resources: dict[str, dict[str, Any]]) -> None:
    [group] = of_type(resources, "AWS::CodeDeploy::DeploymentGroup").values()
    props = group["Properties"]
    assert props["AutoRollbackConfiguration"] == {
        "Enabled": True,
        "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
    }
    alarm_ids = {a["Name"]["Ref"] for a in props["AlarmConfiguration"]["Alarms"]}
    alarms = {k: resources[k]["Properties"] for k in alarm_ids}
    by_metric = {a["MetricName"]: a for a in alarms.values()}
    assert set(by_metric) == {"Errors", "Duration"}
    assert by_metric["Errors"]["Statistic"] == "Sum" and by_metric["Errors"]["Threshold"] == 1
    assert by_metric["Duration"]["ExtendedStatistic"] == "p99"
    for alarm in alarms.values():  # on the alias, not the whole function
        dims = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert set(dims) == {"FunctionName", "Resource"} and "live" in json.dumps(dims["Resource"])


def test_the_local_target_canaries_10_percent_for_one_minute(resources: dict[str, dict[str, Any]]) -> None:
    [config] = of_type(resources, "AWS::CodeDeploy::DeploymentConfig").values()
    assert config["Properties"]["TrafficRoutingConfig"] == {
        "Type": "TimeBasedCanary",
        "TimeBasedCanary": {"CanaryInterval": 1, "CanaryPercentage": 10},
    }


def test_every_hold_route_invokes_the_alias(resources: dict[str, dict[str, Any]]) -> None:
    alias_id, _ = _holds_alias(resources)
    uris = [
        json.dumps(m["Properties"]["Integration"]["Uri"])
        for m in of_type(resources, "AWS::ApiGateway::Method").values()
        if alias_id in json.dumps(m["Properties"].get("Integration", {}).get("Uri", ""))
    ]
    assert len(uris) == 3  # POST /showtimes/{id}/holds, GET and DELETE /holds/{id}
