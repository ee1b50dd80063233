"""Multi-region (design question 1): the home region declares the global tables, the others use their replicas, and each
region's outbox relay publishes only the outbox items written in its own region.

The default stack (no ``marquee:regions``) is what every test and demo deploys: it must keep its regional tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import App

from infra import constants
from infra.app import build
from infra.constructs.platform import MissingReplicaStreamError
from localcloud.lambda_.event_sources import RecordFilter

HOME, OTHER = "us-east-1", "eu-west-1"
REGIONS = f"{HOME},{OTHER}"
REPLICA_STREAM = (
    f"arn:aws:dynamodb:{OTHER}:123456789012:table/{constants.GLOBAL_TABLE_NAME}/stream/2026-12-05T10:00:00.000"
)


def synth(tmp_path_factory: pytest.TempPathFactory, **context: str) -> dict[str, Any]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = App(context={constants.TARGET_CONTEXT_KEY: constants.TARGET_LOCAL, **context}, outdir=str(outdir))
    stack = build(app)
    template: dict[str, Any] = app.synth().get_stack_by_name(stack.stack_name).template
    return template


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield synth(tmp_path_factory, **{constants.REGIONS_CONTEXT_KEY: REGIONS, constants.REGION_CONTEXT_KEY: HOME})


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield synth(
        tmp_path_factory,
        **{
            constants.REGIONS_CONTEXT_KEY: REGIONS,
            constants.REGION_CONTEXT_KEY: OTHER,
            constants.MAIN_TABLE_STREAM_ARN_CONTEXT_KEY: REPLICA_STREAM,
        },
    )


def of_type(template: dict[str, Any], cfn_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == cfn_type}


def relay_mapping(template: dict[str, Any]) -> dict[str, Any]:
    (mapping,) = [r for k, r in of_type(template, "AWS::Lambda::EventSourceMapping").items() if "OutboxRelay" in k]
    return mapping["Properties"]


def test_the_default_stack_keeps_regional_tables_and_declares_no_global_table(resources: dict[str, Any]) -> None:
    types = [r["Type"] for r in resources.values()]
    assert "AWS::DynamoDB::GlobalTable" not in types
    assert types.count("AWS::DynamoDB::Table") >= 4
    assert all("TableName" not in r["Properties"] for r in resources.values() if r["Type"] == "AWS::DynamoDB::Table")


def test_the_home_region_declares_the_main_and_idempotency_tables_as_global_tables(home: dict[str, Any]) -> None:
    tables = {
        r["Properties"]["TableName"]: r["Properties"] for r in of_type(home, "AWS::DynamoDB::GlobalTable").values()
    }
    assert set(tables) == {constants.GLOBAL_TABLE_NAME, constants.GLOBAL_IDEMPOTENCY_TABLE_NAME}
    for props in tables.values():
        assert sorted(r["Region"] for r in props["Replicas"]) == sorted([HOME, OTHER])
        assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert all(r["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] for r in props["Replicas"])
    assert tables[constants.GLOBAL_TABLE_NAME]["TimeToLiveSpecification"]["AttributeName"] == "expires_at"
    # the relay reads the home replica's stream
    (main,) = [k for k, r in of_type(home, "AWS::DynamoDB::GlobalTable").items() if "Idempotency" not in k]
    assert relay_mapping(home)["EventSourceArn"] == {"Fn::GetAtt": [main, "StreamArn"]}


def test_another_region_uses_the_replicas_by_name_and_the_replica_stream_it_was_given(other: dict[str, Any]) -> None:
    assert not of_type(other, "AWS::DynamoDB::GlobalTable")
    assert len(of_type(other, "AWS::DynamoDB::Table")) == 3  # ops, inbox, access audit: regional
    assert relay_mapping(other)["EventSourceArn"] == REPLICA_STREAM
    rendered = json.dumps(other)
    assert (
        f"table/{constants.GLOBAL_TABLE_NAME}" in rendered
        and f"table/{constants.GLOBAL_IDEMPOTENCY_TABLE_NAME}" in rendered
    )


def test_another_region_without_the_replica_stream_fails_the_synth_saying_what_to_pass(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with pytest.raises(MissingReplicaStreamError, match=constants.MAIN_TABLE_STREAM_ARN_CONTEXT_KEY):
        synth(tmp_path_factory, **{constants.REGIONS_CONTEXT_KEY: REGIONS, constants.REGION_CONTEXT_KEY: OTHER})


def resolved_filter(mapping: dict[str, Any], region: str) -> RecordFilter:
    """The relay's FilterCriteria as CloudFormation resolves them in ``region`` (Fn::Join over Ref AWS::Region)."""

    def resolve(value: Any) -> str:
        if isinstance(value, str):
            return value
        if "Ref" in value and value["Ref"] == "AWS::Region":
            return region
        separator, parts = value["Fn::Join"]
        return str(separator).join(resolve(p) for p in parts)

    filters = [{"Pattern": resolve(f["Pattern"])} for f in mapping["FilterCriteria"]["Filters"]]
    return RecordFilter({"Filters": filters})


def outbox_insert(origin: str | None, sk: str = "OUTBOX") -> dict[str, Any]:
    image: dict[str, Any] = {"pk": {"S": "TENANT#t1#OUTBOX#e1"}, "sk": {"S": sk}, "envelope": {"S": "{}"}}
    if origin is not None:
        image["origin_region"] = {"S": origin}
    return {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": image["pk"], "sk": image["sk"]}, "NewImage": image}}


@pytest.mark.parametrize("region", [HOME, OTHER])
def test_each_region_relays_only_the_outbox_items_written_in_it(resources: dict[str, Any], region: str) -> None:
    mappings = [  # one per shard table's stream (tenant sharding, challenge 9), all alike
        r["Properties"]
        for k, r in resources.items()
        if r["Type"] == "AWS::Lambda::EventSourceMapping" and "OutboxRelay" in k
    ]
    assert len(mappings) == constants.DEFAULT_SHARDS
    for mapping in mappings:
        relay = resolved_filter(mapping, region)
        elsewhere = OTHER if region == HOME else HOME
        assert relay.matches(outbox_insert(region))
        assert not relay.matches(outbox_insert(elsewhere))  # a replicated item: its own region publishes it
        assert relay.matches(outbox_insert(None))  # written before items carried their region: still published
        assert not relay.matches(outbox_insert(region, sk="SEAT#A1"))


@pytest.mark.parametrize("cell", ["home", "other"])
def test_a_multi_region_cell_is_not_sharded(cell: str, request: pytest.FixtureRequest) -> None:
    """Shard tables would have to be global tables too (not built): a regional cell keeps one main table, unrouted."""
    template = request.getfixturevalue(cell)
    assert not [k for k in template["Resources"] if k.startswith("Sharding")]
    assert not any(k.startswith("Shard") for k in template["Outputs"])
    for function in of_type(template, "AWS::Lambda::Function").values():
        assert "SHARD_CONTROL_TABLE_NAME" not in function["Properties"].get("Environment", {}).get("Variables", {})
