"""Maintenance mode needs every function behind the API to read the feature flags: the FLAGS_* environment and
appconfig read access on the flags' configuration, for routes added before and after ``Api.use_flags``."""

from __future__ import annotations

import json
from typing import Any

from infra import constants

from .conftest import of_type

Resources = dict[str, dict[str, Any]]


def _refs(value: Any) -> set[str]:
    """Every logical id a template value points at (Ref and Fn::GetAtt)."""
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            return {value["Ref"]}
        if "Fn::GetAtt" in value:
            return {value["Fn::GetAtt"][0]}
        return set().union(*(_refs(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_refs(v) for v in value)) if value else set()
    return set()


def functions_behind_the_api(resources: Resources) -> dict[str, dict[str, Any]]:
    """The Lambda functions API methods integrate (an alias counts as its function), by logical id."""
    found: dict[str, dict[str, Any]] = {}
    for method in of_type(resources, "AWS::ApiGateway::Method").values():
        for ref in _refs(method["Properties"]["Integration"].get("Uri")):
            resource = resources.get(ref, {})
            if resource.get("Type") == "AWS::Lambda::Alias":
                (ref,) = _refs(resource["Properties"]["FunctionName"])
                resource = resources[ref]
            if resource.get("Type") == "AWS::Lambda::Function":
                found[ref] = resource["Properties"]
    return found


def test_every_function_behind_the_api_reads_the_flags(resources: Resources) -> None:
    behind = functions_behind_the_api(resources)
    services = {props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] for props in behind.values()}
    # The API's services, routed from many constructs (holds through its alias, health before the flags existed).
    assert {"health", "holds", "payments", "orders", "catalog", "overview", "webhooks_inbound", "search"} <= services
    profile = next(iter(of_type(resources, "AWS::AppConfig::ConfigurationProfile")))
    for logical_id, props in behind.items():
        variables = props["Environment"]["Variables"]
        assert variables["FLAGS_APPLICATION"] == constants.FLAGS_APPLICATION, logical_id
        assert variables["FLAGS_PROFILE"] == constants.FLAGS_PROFILE, logical_id
        assert int(variables["FLAGS_MAX_AGE_SECONDS"]) == constants.FLAGS_MAX_AGE_SECONDS, logical_id
        (role,) = _refs(props["Role"])
        granted = [
            statement
            for policy in of_type(resources, "AWS::IAM::Policy").values()
            if {"Ref": role} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if "appconfig:GetLatestConfiguration" in json.dumps(statement["Action"])
        ]
        assert granted, f"{variables['POWERTOOLS_SERVICE_NAME']} cannot read the flags"
        assert all(profile in json.dumps(s["Resource"]) for s in granted), logical_id
