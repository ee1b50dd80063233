"""The deployed stack, end to end: real `cdk deploy`, real Cognito tokens, HTTP through the front door, SDK calls."""

from __future__ import annotations

from typing import Any

import requests

from devkit.identity import token_for


def _token(deployed: dict[str, Any], tenant: str, user: str, group: str = "customer") -> str:
    return token_for(deployed["endpoint"], tenant=tenant, user=user, group=group, outputs=deployed["outputs"])


def test_any_sdk_client_sees_the_deployed_stack(deployed: dict[str, Any], sdk: Any) -> None:
    """The stack exists in CloudFormation and its resources in their services, for any client at the endpoint."""
    stack = sdk("cloudformation").describe_stacks(StackName="Marquee")["Stacks"][0]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    outputs = deployed["outputs"]
    assert sdk("dynamodb").describe_table(TableName=outputs["TableName"])["Table"]["StreamSpecification"][
        "StreamEnabled"
    ]
    assert (
        sdk("cognito-idp").describe_user_pool(UserPoolId=outputs["UserPoolId"])["UserPool"]["Id"]
        == outputs["UserPoolId"]
    )
    assert sdk("events").describe_event_bus(Name=outputs["EventBusName"])["Name"] == outputs["EventBusName"]
    assert sdk("stepfunctions").describe_state_machine(stateMachineArn=outputs["StateMachineArn"])["status"] == "ACTIVE"
    assert sdk("secretsmanager").describe_secret(SecretId=outputs["SecretArn"])["ARN"] == outputs["SecretArn"]
    functions = {f["FunctionName"]: f for f in sdk("lambda").list_functions()["Functions"]}
    assert any(f.get("Layers") for f in functions.values()), "the common layer is attached"


def test_liveness_through_the_front_door_needs_no_token(api: str) -> None:
    response = requests.get(f"{api}/health", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/health+json")
    assert response.json()["status"] == "pass"


def test_deep_health_checks_every_dependency_for_staff(api: str, deployed: dict[str, Any]) -> None:
    response = requests.get(
        f"{api}/health/deep", headers={"Authorization": _token(deployed, "t1", "sam", "staff")}, timeout=30
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] in ("pass", "warn")
    components = {name.split(":")[0] for name in body["checks"]}
    assert {"dynamodb", "sqs", "eventbridge", "secretsmanager", "stepfunctions", "aurora", "valkey"} <= components
    assert "read-model-shards" in components  # each read-model shard's schema has its views and search tables
    # the tenant shards (challenge 9): each shard table its own dependency, s0 being the main table, and the map
    shard_tables = deployed["outputs"]["ShardTableNames"].split(",")
    assert {f"shard-s{i}" for i in range(len(shard_tables))} | {"shard-map"} <= components
    assert [body["checks"][f"shard-s{i}:responseTime"][0]["componentId"] for i in range(len(shard_tables))] == (
        shard_tables
    )
    assert body["checks"]["shard-map:responseTime"][0]["componentId"] == deployed["outputs"]["ShardControlTableName"]
    for results in body["checks"].values():
        assert results[0]["status"] in ("pass", "warn")
        assert results[0]["observedUnit"] == "ms" and results[0]["observedValue"] >= 0


def test_deep_health_is_forbidden_to_customers_with_problem_json(api: str, deployed: dict[str, Any]) -> None:
    response = requests.get(
        f"{api}/health/deep", headers={"Authorization": _token(deployed, "t1", "alice")}, timeout=30
    )
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["status"] == 403


def test_me_requires_a_token_and_takes_the_tenant_from_its_claims(api: str, deployed: dict[str, Any]) -> None:
    assert requests.get(f"{api}/me", timeout=30).status_code == 401
    token = _token(deployed, "t2", "bob")
    response = requests.get(f"{api}/me", headers={"Authorization": token, "X-Tenant-Id": "t1"}, timeout=30)
    assert response.status_code == 200
    assert response.json()["tenantId"] == "t2"
    assert response.json()["username"] == "t2.bob"


def test_unknown_route_is_missing_authentication_token(api: str) -> None:
    response = requests.get(f"{api}/no-such-route", timeout=30)
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}


def test_the_urls_the_stack_hands_out_work_against_the_local_cloud(deployed: dict[str, Any], sdk: Any) -> None:
    """Regression: ApiUrl, QueueUrl and WebhookDlqUrl were AWS URLs that a local client could not use."""
    outputs, endpoint = deployed["outputs"], deployed["endpoint"]
    assert outputs["LocalApiUrl"].startswith(f"{endpoint}/_aws/execute-api/{outputs['ApiId']}/")
    assert requests.get(f"{outputs['LocalApiUrl']}/health", timeout=30).json()["status"] == "pass"
    for name in ("QueueUrl", "WebhookDlqUrl"):
        assert outputs[name].startswith(f"{endpoint}/"), outputs[name]
        queue = sdk("sqs").get_queue_attributes(QueueUrl=outputs[name], AttributeNames=["QueueArn"])["Attributes"]
        assert queue["QueueArn"].endswith(outputs[name].rsplit("/", 1)[1])
