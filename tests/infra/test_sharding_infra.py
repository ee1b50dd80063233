"""Tenant sharding (challenge 9) in the template: the shard tables, the control table, every main-table function routed
with the variables the kernel reads, and on each shard exactly the grants it has on the main table."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest
from aws_cdk import App, Stack

from infra import constants
from infra.constructs.sharding import ShardCountError, shard_settings

from .conftest import of_type

Resources = dict[str, dict[str, Any]]
SHARD_VARIABLES = {"SHARD_CONTROL_TABLE_NAME", "SHARD_TABLES", "SHARD_TABLE_ARNS", "SHARD_RING_SIZE"}


def _main_table(resources: Resources) -> str:
    (main,) = [k for k in of_type(resources, "AWS::DynamoDB::Table") if k.startswith("PlatformTable")]
    return main


def _shard_tables(resources: Resources) -> list[str]:
    return sorted(k for k in of_type(resources, "AWS::DynamoDB::Table") if k.startswith("ShardingShard"))


def _control_table(resources: Resources) -> str:
    (control,) = [k for k in of_type(resources, "AWS::DynamoDB::Table") if k.startswith("ShardingControlTable")]
    return control


def _grants(resources: Resources, role: str) -> dict[str, set[tuple[str, str]]]:
    """table logical id -> {(action, condition as JSON)} granted to ``role`` by its inline policies."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for policy in of_type(resources, "AWS::IAM::Policy").values():
        if {"Ref": role} not in policy["Properties"].get("Roles", []):
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            condition = json.dumps(statement.get("Condition"), sort_keys=True)
            for target in targets:
                if isinstance(target, dict) and "Fn::GetAtt" in target and target["Fn::GetAtt"][1] == "Arn":
                    found[target["Fn::GetAtt"][0]] |= {(a, condition) for a in actions}
    return found


def _main_table_functions(resources: Resources) -> dict[str, dict[str, Any]]:
    main = _main_table(resources)
    return {
        k: f["Properties"]
        for k, f in of_type(resources, "AWS::Lambda::Function").items()
        if f["Properties"].get("Environment", {}).get("Variables", {}).get("TABLE_NAME") == {"Ref": main}
    }


def test_the_shard_tables_have_the_main_tables_shape(resources: Resources) -> None:
    main = resources[_main_table(resources)]["Properties"]
    shards = _shard_tables(resources)
    assert len(shards) == constants.DEFAULT_SHARDS - 1  # the main table is s0
    for shard in shards:
        properties = resources[shard]["Properties"]
        for key in ("KeySchema", "AttributeDefinitions", "BillingMode", "StreamSpecification",
                    "TimeToLiveSpecification", "PointInTimeRecoverySpecification"):  # fmt: skip
            assert properties.get(key) == main.get(key), (shard, key)
        assert "GlobalSecondaryIndexes" not in main and "GlobalSecondaryIndexes" not in properties


def test_every_function_on_the_main_table_is_routed_with_the_shards_in_order(resources: Resources) -> None:
    functions = _main_table_functions(resources)
    assert len(functions) >= 20  # payments, orders and the saga, catalog, holds, imports, webhooks, notifications...
    main, shards, control = _main_table(resources), _shard_tables(resources), _control_table(resources)
    for name, function in functions.items():
        variables = function["Environment"]["Variables"]
        assert SHARD_VARIABLES <= set(variables), name
        assert variables["SHARD_CONTROL_TABLE_NAME"] == {"Ref": control}
        assert variables["SHARD_TABLES"] == {"Fn::Join": [",", [{"Ref": t} for t in [main, *shards]]]}
        assert variables["SHARD_TABLE_ARNS"] == {
            "Fn::Join": [",", [{"Fn::GetAtt": [t, "Arn"]} for t in [main, *shards]]]
        }
        assert variables["SHARD_RING_SIZE"] == str(constants.DEFAULT_SHARD_RING)
    others = {
        k: f["Properties"].get("Environment", {}).get("Variables", {})
        for k, f in of_type(resources, "AWS::Lambda::Function").items()
        if k not in functions and not k.startswith(MAP_READERS)
    }
    assert not any(SHARD_VARIABLES & set(v) for v in others.values()), "only main-table functions are routed"


MAP_READERS = ("ProjectionsProjector",)  # functions that only ask where a tenant lives


def test_the_projector_reads_the_map_and_touches_no_shard_table(resources: Resources) -> None:
    """Each shard's read models live in its own schema: the projector asks the map where a tenant is (nothing more)."""
    (name,) = [k for k in of_type(resources, "AWS::Lambda::Function") if k.startswith("ProjectionsProjector")]
    projector = resources[name]["Properties"]
    assert SHARD_VARIABLES <= set(projector["Environment"]["Variables"])
    assert "TABLE_NAME" not in projector["Environment"]["Variables"]
    grants = _grants(resources, projector["Role"]["Fn::GetAtt"][0])
    map_only = json.dumps({"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["SHARDMAP"]}}, sort_keys=True)
    assert grants[_control_table(resources)] == {("dynamodb:GetItem", map_only), ("dynamodb:PutItem", map_only)}
    assert not {_main_table(resources), *_shard_tables(resources)} & set(grants)


def test_each_routed_role_has_on_every_shard_exactly_its_grants_on_the_main_table(resources: Resources) -> None:
    main, shards, control = _main_table(resources), _shard_tables(resources), _control_table(resources)
    roles = {f["Role"]["Fn::GetAtt"][0] for f in _main_table_functions(resources).values()}
    roles.add(next(k for k in of_type(resources, "AWS::IAM::Role") if k.startswith("TenantAccessRole")))
    checked = 0
    for role in roles:
        grants = _grants(resources, role)
        for shard in shards:
            assert grants.get(shard, set()) == grants.get(main, set()), (role, shard)
        checked += bool(grants.get(main))
        if not role.startswith("TenantAccessRole"):
            map_only = json.dumps({"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["SHARDMAP"]}}, sort_keys=True)
            assert grants[control] == {("dynamodb:GetItem", map_only), ("dynamodb:PutItem", map_only)}, role
    assert checked >= 10
    tenant_role = next(r for r in roles if r.startswith("TenantAccessRole"))
    leading = {json.loads(c)["ForAllValues:StringLike"]["dynamodb:LeadingKeys"][0] for _, c in
               _grants(resources, tenant_role)[shards[0]]}  # fmt: skip
    assert leading == {"TENANT#*"}


def test_the_operator_policy_covers_the_movers_steps_and_nothing_else(resources: Resources) -> None:
    (policy,) = of_type(resources, "AWS::IAM::ManagedPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    tables = [_main_table(resources), *_shard_tables(resources)]
    by_resource = {json.dumps(s["Resource"], sort_keys=True): set(s["Action"]) for s in statements}
    assert by_resource[json.dumps([{"Fn::GetAtt": [t, "Arn"]} for t in tables], sort_keys=True)] >= {
        "dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
    }  # fmt: skip
    streams = json.dumps([{"Fn::GetAtt": [t, "StreamArn"]} for t in tables], sort_keys=True)
    assert by_resource[streams] == {"dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"}
    control = json.dumps({"Fn::GetAtt": [_control_table(resources), "Arn"]}, sort_keys=True)
    assert by_resource[control] == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"}
    assert "*" not in json.dumps([s["Resource"] for s in statements])


@pytest.mark.parametrize(
    ("context", "expected"),
    [({}, (3, 1)), ({"marquee:shards": "4", "marquee:shardRing": "4"}, (4, 4)), ({"marquee:shards": 2}, (2, 1))],
)
def test_the_shard_count_and_ring_come_from_the_context(context: dict[str, Any], expected: tuple[int, int]) -> None:
    assert shard_settings(Stack(App(context=context), "S")) == expected


@pytest.mark.parametrize(
    "context",
    [
        {"marquee:shards": "1"},
        {"marquee:shards": "9"},
        {"marquee:shards": "x"},
        {"marquee:shardRing": "4"},
        {"marquee:shardRing": "0"},
    ],  # fmt: skip
)
def test_a_shard_count_out_of_range_fails_the_synth_with_its_name(context: dict[str, Any]) -> None:
    with pytest.raises(ShardCountError, match="marquee:sh"):
        shard_settings(Stack(App(context=context), "S"))


def test_deep_health_is_wired_to_probe_every_shard_and_the_map(resources: Resources) -> None:
    """Deep health probes each shard table (DescribeTable) and the map item (GetItem): it is routed like every
    main-table function, so it has the shard variables, and on the shards only the DescribeTable it has on the main
    table (no data read)."""
    main, shards, control = _main_table(resources), _shard_tables(resources), _control_table(resources)
    (health,) = [
        f["Properties"]
        for f in of_type(resources, "AWS::Lambda::Function").values()
        if f["Properties"]["Environment"]["Variables"].get("POWERTOOLS_SERVICE_NAME") == "health"
    ]
    variables = health["Environment"]["Variables"]
    assert variables["SHARD_CONTROL_TABLE_NAME"] == {"Ref": control}
    assert variables["SHARD_TABLES"] == {"Fn::Join": [",", [{"Ref": t} for t in [main, *shards]]]}
    grants = _grants(resources, health["Role"]["Fn::GetAtt"][0])
    for table in (main, *shards):
        assert {action for action, _ in grants[table]} == {"dynamodb:DescribeTable"}, table
    map_only = json.dumps({"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["SHARDMAP"]}}, sort_keys=True)
    assert ("dynamodb:GetItem", map_only) in grants[control]
