"""Maintenance mode needs every function behind the API to read the feature flags: the FLAGS_* environment and
appconfig read access on the flags' configuration, for routes added before and after ``Api.use_flags``. The MOCK
fallback (``-c marquee:mockServices=...``) swaps a service's routes to API Gateway answering the same 503 problem."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Annotations, Match

from infra import constants
from infra.app import build

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


# ---- the MOCK fallback: -c marquee:mockServices=... --------------------------------------------------------------------
def _synth(tmp_path_factory: pytest.TempPathFactory, mocked: str) -> tuple[Stack, dict[str, Any]]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    context = {constants.TARGET_CONTEXT_KEY: constants.TARGET_LOCAL, constants.MOCK_SERVICES_CONTEXT_KEY: mocked}
    app = App(context=context, outdir=str(outdir))
    stack = build(app)
    return stack, app.synth().get_stack_by_name(stack.stack_name).template


def _methods(template: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    resources = template["Resources"]
    api_resources = {k: r for k, r in resources.items() if r["Type"] == "AWS::ApiGateway::Resource"}

    def path_of(ref: Any) -> str:
        if isinstance(ref, dict) and "Fn::GetAtt" in ref:
            return ""
        props = api_resources[ref["Ref"]]["Properties"]
        return f"{path_of(props['ParentId'])}/{props['PathPart']}"

    return {
        (r["Properties"]["HttpMethod"], path_of(r["Properties"]["ResourceId"])): r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::ApiGateway::Method"
    }


def test_mocked_services_routes_answer_the_maintenance_problem_from_api_gateway(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    stack, template = _synth(tmp_path_factory, "payments, holds")
    methods = _methods(template)
    mocked = {route for route, props in methods.items() if props["Integration"]["Type"] == "MOCK"}
    assert mocked == {
        ("POST", "/payments"),
        ("GET", "/payments/{paymentId}"),
        ("POST", "/showtimes/{showtimeId}/holds"),
        ("GET", "/holds/{holdId}"),
        ("DELETE", "/holds/{holdId}"),
    }
    assert methods[("GET", "/showtimes/{showtimeId}")]["Integration"]["Type"] == "AWS_PROXY"
    payment = methods[("POST", "/payments")]
    assert payment["AuthorizationType"] == "COGNITO_USER_POOLS"  # still authorized before the mock answers
    integration = payment["Integration"]
    assert integration["PassthroughBehavior"] == "NEVER"
    assert json.loads(integration["RequestTemplates"]["application/json"]) == {"statusCode": 503}
    (response,) = integration["IntegrationResponses"]
    assert response["StatusCode"] == "503"
    problem = json.loads(response["ResponseTemplates"]["application/json"])
    assert problem["type"] == "urn:marquee:problem:maintenance" and problem["status"] == 503
    assert problem["requestId"] == "$context.requestId"
    assert response["ResponseParameters"]["method.response.header.Retry-After"] == "'300'"
    assert response["ResponseParameters"]["method.response.header.Content-Type"] == "'application/problem+json'"
    (method_response,) = payment["MethodResponses"]
    assert method_response["StatusCode"] == "503"
    assert set(method_response["ResponseParameters"]) == set(response["ResponseParameters"])
    errors = Annotations.from_stack(stack).find_error("*", Match.any_value())
    assert not errors, [e.entry.data for e in errors]


def test_a_mocked_service_that_is_not_behind_the_api_fails_the_synthesis(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with pytest.raises(Exception, match="no API service paymnets"):
        _synth(tmp_path_factory, "paymnets")
