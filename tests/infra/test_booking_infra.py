"""Booking core infrastructure: routes, the outbox relay's stream mapping, the audit path, tenant-scoped access."""

from __future__ import annotations

import json
from typing import Any

from infra import constants
from marquee.tenancy.tenant_session import ITEM_ACTIONS, session_policy

from .conftest import of_type
from .test_template import method_paths

Resources = dict[str, dict[str, Any]]

BOOKING_ROUTES = {
    ("POST", "/cinemas"),
    ("POST", "/auditoriums"),
    ("POST", "/movies"),
    ("POST", "/showtimes"),
    ("GET", "/showtimes"),
    ("GET", "/showtimes/{showtimeId}"),
    ("POST", "/showtimes/{showtimeId}/holds"),
    ("GET", "/holds/{holdId}"),
    ("DELETE", "/holds/{holdId}"),
}


def test_booking_routes_all_require_a_cognito_token(resources: Resources) -> None:
    methods = method_paths(resources)
    assert BOOKING_ROUTES <= set(methods)
    for route in BOOKING_ROUTES:
        assert methods[route]["AuthorizationType"] == "COGNITO_USER_POOLS", route


def test_relay_reads_only_outbox_inserts_with_bisect_retries_failure_queue_and_partial_batches(
    resources: Resources,
) -> None:
    # One stream mapping per shard table (the main table is shard s0), all alike (tenant sharding, challenge 9).
    mappings = [
        m["Properties"]
        for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
        if "StartingPosition" in m["Properties"]
    ]
    streamed = {
        k for k, t in of_type(resources, "AWS::DynamoDB::Table").items() if "StreamSpecification" in t["Properties"]
    }
    assert {m["EventSourceArn"]["Fn::GetAtt"][0] for m in mappings} == streamed
    assert len(mappings) == len(streamed) == constants.DEFAULT_SHARDS
    outbox_inserts = {"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": ["OUTBOX"]}}}}
    for mapping in mappings:
        assert mapping["StartingPosition"] == "TRIM_HORIZON"
        assert mapping["BisectBatchOnFunctionError"] is True
        assert mapping["MaximumRetryAttempts"] == constants.OUTBOX_RELAY_MAX_RETRIES
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert "OnFailure" in mapping["DestinationConfig"]
        # Outbox INSERTs written in this region (origin_region = Ref AWS::Region), or from before items carried it;
        # the regional filter as CloudFormation resolves it is tested in test_multi_region_infra.py.
        own, legacy = mapping["FilterCriteria"]["Filters"]
        separator, parts = own["Pattern"]["Fn::Join"]
        resolved = json.loads(separator.join(p if isinstance(p, str) else "{region}" for p in parts))
        assert parts[1] == {"Ref": "AWS::Region"}
        assert resolved == {
            "eventName": ["INSERT"],
            "dynamodb": {**outbox_inserts["dynamodb"], "NewImage": {"origin_region": {"S": ["{region}"]}}},
        }
        assert json.loads(legacy["Pattern"]) == {
            "eventName": ["INSERT"],
            "dynamodb": {**outbox_inserts["dynamodb"], "NewImage": {"origin_region": {"S": [{"exists": False}]}}},
        }


def test_booking_events_reach_the_audit_queue_and_its_function_reports_partial_failures(resources: Resources) -> None:
    # Other capabilities (webhooks) have their own rules on the bus: pick the outbox construct's.
    (rule,) = [r for k, r in of_type(resources, "AWS::Events::Rule").items() if k.startswith("Outbox")]
    assert rule["Properties"]["EventPattern"] == {"source": [constants.OUTBOX_EVENT_SOURCE]}
    sqs_mappings = [
        m["Properties"]
        for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
        if "StartingPosition" not in m["Properties"]
    ]
    assert any(m.get("FunctionResponseTypes") == ["ReportBatchItemFailures"] for m in sqs_mappings)


def _role_of(resources: Resources, function_name: str) -> str:
    for function in of_type(resources, "AWS::Lambda::Function").values():
        props = function["Properties"]
        if props["Environment"]["Variables"].get("POWERTOOLS_SERVICE_NAME") == function_name:
            return str(props["Role"]["Fn::GetAtt"][0])
    raise AssertionError(f"no function {function_name}")


# The functions behind the API whose data is one tenant's: each reaches the main table only through the tenant role.
TENANT_FACING = (
    "catalog",
    "holds",
    "orders",
    "payments",
    "notifications",
    "webhooks_api",
    "imports",
    "import-validator",
)


def test_tenant_facing_functions_reach_data_only_through_the_tenant_role(resources: Resources) -> None:
    (tenant_role_id,) = [k for k in of_type(resources, "AWS::IAM::Role") if k.startswith("TenantAccess")]
    trust = resources[tenant_role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    trusted = {s["Principal"]["AWS"]["Fn::GetAtt"][0] for s in trust}
    assert len(trust) == len(TENANT_FACING), "exactly their roles are trusted: no service principal, no account root"
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in of_type(resources, "AWS::IAM::Policy").values()
        if {"Ref": tenant_role_id} in p["Properties"]["Roles"]
    ]
    assert policy[0]["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["TENANT#*"]}}
    main_table = policy[0]["Resource"]["Fn::GetAtt"][0]  # the tenant role's one table: the main table
    for name in TENANT_FACING:
        role = _role_of(resources, name)
        assert role in trusted
        statements = [
            statement
            for p in of_type(resources, "AWS::IAM::Policy").values()
            if {"Ref": role} in p["Properties"]["Roles"]
            for statement in p["Properties"]["PolicyDocument"]["Statement"]
        ]
        assert "sts:AssumeRole" in {a for s in statements for a in _list(s["Action"])}
        on_main_table = [
            s
            for s in statements
            if any(a.startswith("dynamodb:") for a in _list(s["Action"])) and main_table in json.dumps(s["Resource"])
        ]
        assert on_main_table == [], f"{name} has direct access to the main table: {on_main_table}"


def test_tenant_role_allows_exactly_the_item_actions_the_session_policy_narrows(resources: Resources) -> None:
    (tenant_role_id,) = [k for k in of_type(resources, "AWS::IAM::Role") if k.startswith("TenantAccess")]
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in of_type(resources, "AWS::IAM::Policy").values()
        if {"Ref": tenant_role_id} in p["Properties"]["Roles"]
    ]
    session = session_policy("t1", ["arn:aws:dynamodb:us-east-1:000000000000:table/main"])["Statement"][0]
    assert _list(policy[0]["Action"]) == session["Action"] == list(ITEM_ACTIONS)
    assert "dynamodb:Query" in ITEM_ACTIONS and "dynamodb:Scan" not in ITEM_ACTIONS


def _list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_order_placed_starts_the_saga_through_the_orders_function_with_a_failures_queue(resources: Resources) -> None:
    """The saga is started from the outbox's OrderPlaced (docs/patterns/11-order-saga.md), not from the request."""
    (rule,) = [r for k, r in of_type(resources, "AWS::Events::Rule").items() if k.startswith("OrdersOrderPlaced")]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern == {"source": [constants.OUTBOX_EVENT_SOURCE], "detail-type": ["OrderPlaced"]}
    (target,) = rule["Properties"]["Targets"]
    orders_function = target["Arn"]["Fn::GetAtt"][0]
    props = resources[orders_function]["Properties"]
    assert props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "orders"
    assert "STATE_MACHINE_ARN" in props["Environment"]["Variables"]
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith("OrdersSagaStartFailures")
    assert len(resources) < 500, len(resources)
