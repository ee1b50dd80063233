"""Parity: DynamoDB global tables (version 2019.11.21) between two regions of one local cloud.

AWS references: "How DynamoDB global tables work" (replicas, last writer wins), "Monitoring global tables"
(ReplicationLatency), and the prescriptive guidance's key facts for MREC tables (item-by-item replication, per-item
last-write timestamps, metric kept in the source region). localcloud/dynamodb/replication.py.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from localcloud.aws import local_client
from localcloud.server import LocalCloud

PRIMARY, SECONDARY = "us-east-1", "eu-west-1"
LAG_MS = 400


@pytest.fixture
def regions(cloud: LocalCloud, endpoint: str) -> Iterator[Callable[[str], Any]]:
    """dynamodb(region) clients, with the replication lag set to LAG_MS for the test and put back after."""
    before = requests.get(f"{endpoint}/_localcloud/replication", timeout=5).json()["lagMs"]
    requests.post(f"{endpoint}/_localcloud/replication?lagMs={LAG_MS}", timeout=5).raise_for_status()
    clients = {r: local_client("dynamodb", endpoint, region=r) for r in (PRIMARY, SECONDARY)}
    yield clients.__getitem__
    requests.post(f"{endpoint}/_localcloud/replication?lagMs={before}", timeout=5)
    for region in (PRIMARY, SECONDARY):
        requests.post(f"{endpoint}/_localcloud/chaos/region/{region}?state=up", timeout=5)


def global_table(ddb: Callable[[str], Any]) -> str:
    name = f"gt-{uuid.uuid4().hex[:8]}"
    ddb(PRIMARY).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    ddb(PRIMARY).update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": SECONDARY}}])
    return name


def get(ddb: Callable[[str], Any], region: str, table: str, pk: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = ddb(region).get_item(TableName=table, Key={"pk": {"S": pk}}).get("Item")
    return item


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_adding_a_replica_creates_the_table_in_the_other_region_with_the_items_it_already_holds(regions: Any) -> None:
    name = f"gt-{uuid.uuid4().hex[:8]}"
    regions(PRIMARY).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    regions(PRIMARY).put_item(TableName=name, Item={"pk": {"S": "before"}, "v": {"N": "1"}})
    regions(PRIMARY).update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": SECONDARY}}])

    described = regions(PRIMARY).describe_table(TableName=name)["Table"]
    assert described["GlobalTableVersion"] == "2019.11.21"
    assert described["Replicas"] == [{"RegionName": SECONDARY, "ReplicaStatus": "ACTIVE"}]
    assert described["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"  # enabled for the replica
    assert regions(SECONDARY).describe_table(TableName=name)["Table"]["Replicas"][0]["RegionName"] == PRIMARY
    assert get(regions, SECONDARY, name, "before") == {"pk": {"S": "before"}, "v": {"N": "1"}}


def test_a_replica_with_another_stream_view_type_is_refused(regions: Any) -> None:
    name = f"gt-{uuid.uuid4().hex[:8]}"
    regions(PRIMARY).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )
    with pytest.raises(regions(PRIMARY).exceptions.ClientError) as raised:
        regions(PRIMARY).update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": SECONDARY}}])
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_a_write_appears_in_the_other_replica_after_the_lag_not_before(regions: Any, endpoint: str) -> None:
    lag_s = 2.0  # long enough that a loaded machine cannot make the first read late
    requests.post(f"{endpoint}/_localcloud/replication?lagMs={int(lag_s * 1000)}", timeout=5).raise_for_status()
    table = global_table(regions)
    regions(PRIMARY).put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"S": "one"}})
    written = time.monotonic()
    assert get(regions, SECONDARY, table, "a") is None
    wait_for(lambda: get(regions, SECONDARY, table, "a") is not None)
    assert time.monotonic() - written >= lag_s * 0.9
    requests.post(f"{endpoint}/_localcloud/replication?lagMs={LAG_MS}", timeout=5).raise_for_status()
    assert get(regions, SECONDARY, table, "a") == {"pk": {"S": "a"}, "v": {"S": "one"}}
    # and back: the secondary accepts writes too (active-active)
    regions(SECONDARY).put_item(TableName=table, Item={"pk": {"S": "b"}, "v": {"S": "two"}})
    wait_for(lambda: get(regions, PRIMARY, table, "b") is not None)


def test_concurrent_writes_to_one_item_converge_on_the_last_writer_in_both_regions(regions: Any) -> None:
    table = global_table(regions)
    regions(PRIMARY).put_item(TableName=table, Item={"pk": {"S": "seat"}, "holder": {"S": "first-us"}})
    time.sleep(0.05)  # both writes land before either replicates (LAG_MS): a conflict
    regions(SECONDARY).put_item(TableName=table, Item={"pk": {"S": "seat"}, "holder": {"S": "later-eu"}})
    time.sleep(LAG_MS / 1000 * 2.5)
    assert get(regions, PRIMARY, table, "seat") == {"pk": {"S": "seat"}, "holder": {"S": "later-eu"}}
    assert get(regions, SECONDARY, table, "seat") == {"pk": {"S": "seat"}, "holder": {"S": "later-eu"}}


def test_deletes_replicate_and_a_replicated_write_is_not_sent_back(regions: Any, endpoint: str) -> None:
    table = global_table(regions)
    regions(PRIMARY).put_item(TableName=table, Item={"pk": {"S": "gone"}})
    wait_for(lambda: get(regions, SECONDARY, table, "gone") is not None)
    regions(PRIMARY).delete_item(TableName=table, Key={"pk": {"S": "gone"}})
    wait_for(lambda: get(regions, SECONDARY, table, "gone") is None)

    streams = {r: local_client("dynamodbstreams", endpoint, region=r) for r in (PRIMARY, SECONDARY)}

    def events(region: str) -> list[str]:
        arn = regions(region).describe_table(TableName=table)["Table"]["LatestStreamArn"]
        shard = streams[region].describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams[region].get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        return [r["eventName"] for r in streams[region].get_records(ShardIterator=iterator["ShardIterator"])["Records"]]

    time.sleep(LAG_MS / 1000 * 2)
    assert events(PRIMARY) == ["INSERT", "REMOVE"]  # its own two writes, nothing bounced back
    assert events(SECONDARY) == ["INSERT", "REMOVE"]  # the replicated writes appear in the replica's stream


def test_replication_latency_is_published_in_the_source_region(regions: Any, endpoint: str) -> None:
    table = global_table(regions)
    for i in range(3):
        regions(PRIMARY).put_item(TableName=table, Item={"pk": {"S": f"m{i}"}})
    wait_for(lambda: get(regions, SECONDARY, table, "m2") is not None)
    cloudwatch = local_client("cloudwatch", endpoint, region=PRIMARY)

    def datapoints() -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        points: list[dict[str, Any]] = cloudwatch.get_metric_statistics(
            Namespace="AWS/DynamoDB",
            MetricName="ReplicationLatency",
            Dimensions=[{"Name": "TableName", "Value": table}, {"Name": "ReceivingRegion", "Value": SECONDARY}],
            StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=1),
            Period=60,
            Statistics=["Average", "Maximum", "SampleCount"],
        )["Datapoints"]
        return points

    # the three writes replicate one by one: wait for all three samples, not the first
    wait_for(lambda: bool(datapoints()) and datapoints()[0]["SampleCount"] >= 3, timeout=5)
    point = datapoints()[0]
    assert point["SampleCount"] == 3
    assert LAG_MS * 0.9 <= point["Average"] < LAG_MS + 1000
    assert point["Unit"] == "Milliseconds"


def test_writes_wait_while_a_region_is_down_and_replicate_when_it_is_back(regions: Any, endpoint: str) -> None:
    table = global_table(regions)
    requests.post(f"{endpoint}/_localcloud/chaos/region/{PRIMARY}?state=down", timeout=5).raise_for_status()
    regions(PRIMARY).put_item(TableName=table, Item={"pk": {"S": "stuck"}, "v": {"S": "old"}})
    time.sleep(LAG_MS / 1000 * 2)
    assert get(regions, SECONDARY, table, "stuck") is None  # the RPO: it exists only in the failed region
    status = requests.get(f"{endpoint}/_localcloud/replication", timeout=5).json()
    assert status["pending"][f"{table} {PRIMARY}->{SECONDARY}"] == 1
    regions(SECONDARY).put_item(TableName=table, Item={"pk": {"S": "stuck"}, "v": {"S": "newer"}})
    requests.post(f"{endpoint}/_localcloud/chaos/region/{PRIMARY}?state=up", timeout=5).raise_for_status()
    time.sleep(LAG_MS / 1000 * 2)
    # the stuck write replicates on recovery and loses to the later one: both regions hold the newer item
    assert get(regions, SECONDARY, table, "stuck") == {"pk": {"S": "stuck"}, "v": {"S": "newer"}}
    assert get(regions, PRIMARY, table, "stuck") == {"pk": {"S": "stuck"}, "v": {"S": "newer"}}


# ---- AWS::DynamoDB::GlobalTable through CloudFormation (localcloud/cloudformation/fillins/dynamodb.py) ---------------
def global_table_template(
    name: str, replicas: list[str], *, stream: str | None = "NEW_AND_OLD_IMAGES"
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
        "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
        "Replicas": [
            {"Region": r, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}} for r in replicas
        ],
    }
    if stream:
        props["StreamSpecification"] = {"StreamViewType": stream}
    return {
        "Resources": {"Table": {"Type": "AWS::DynamoDB::GlobalTable", "Properties": props}},
        "Outputs": {
            "Name": {"Value": {"Ref": "Table"}},
            "Arn": {"Value": {"Fn::GetAtt": ["Table", "Arn"]}},
            "StreamArn": {"Value": {"Fn::GetAtt": ["Table", "StreamArn"]}},
        },
    }


def deploy_stack(endpoint: str, stack: str, template: dict[str, Any], *, update: bool = False) -> dict[str, Any]:
    import json

    cfn = local_client("cloudformation", endpoint, region=PRIMARY)
    (cfn.update_stack if update else cfn.create_stack)(StackName=stack, TemplateBody=json.dumps(template))
    described: dict[str, Any] = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return described


def test_a_cloudformation_global_table_creates_every_replica_and_they_replicate(regions: Any, endpoint: str) -> None:
    name, stack = f"gt-cfn-{uuid.uuid4().hex[:8]}", f"gt-{uuid.uuid4().hex[:8]}"
    described = deploy_stack(endpoint, stack, global_table_template(name, [PRIMARY, SECONDARY]))
    assert described["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    primary = regions(PRIMARY).describe_table(TableName=name)["Table"]
    assert outputs == {"Name": name, "Arn": primary["TableArn"], "StreamArn": primary["LatestStreamArn"]}
    assert ":us-east-1:" in outputs["Arn"]  # GetAtt answers the stack region's replica
    secondary = regions(SECONDARY).describe_table(TableName=name)["Table"]
    assert secondary["GlobalTableVersion"] == "2019.11.21"
    assert secondary["Replicas"] == [{"RegionName": PRIMARY, "ReplicaStatus": "ACTIVE"}]
    ttl = regions(SECONDARY).describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}

    regions(PRIMARY).put_item(TableName=name, Item={"pk": {"S": "from-us"}})
    regions(SECONDARY).put_item(TableName=name, Item={"pk": {"S": "from-eu"}})
    wait_for(lambda: get(regions, SECONDARY, name, "from-us") is not None)
    wait_for(lambda: get(regions, PRIMARY, name, "from-eu") is not None)

    local_client("cloudformation", endpoint, region=PRIMARY).delete_stack(StackName=stack)
    for region in (PRIMARY, SECONDARY):
        assert name not in regions(region).list_tables()["TableNames"]


def test_removing_a_replica_from_the_template_deletes_it_and_keeps_the_table(regions: Any, endpoint: str) -> None:
    name, stack = f"gt-cfn-{uuid.uuid4().hex[:8]}", f"gt-{uuid.uuid4().hex[:8]}"
    deploy_stack(endpoint, stack, global_table_template(name, [PRIMARY, SECONDARY]))
    regions(PRIMARY).put_item(TableName=name, Item={"pk": {"S": "kept"}})
    described = deploy_stack(endpoint, stack, global_table_template(name, [PRIMARY]), update=True)
    assert described["StackStatus"] == "UPDATE_COMPLETE"
    assert name not in regions(SECONDARY).list_tables()["TableNames"]
    assert "Replicas" not in regions(PRIMARY).describe_table(TableName=name)["Table"]
    assert get(regions, PRIMARY, name, "kept") is not None
    local_client("cloudformation", endpoint, region=PRIMARY).delete_stack(StackName=stack)


@pytest.mark.parametrize(
    ("replicas", "stream", "reason"),
    [
        ([SECONDARY], "NEW_AND_OLD_IMAGES", "must include a replica in the stack's region"),
        ([PRIMARY, SECONDARY], None, "StreamSpecification"),
        ([PRIMARY, SECONDARY], "KEYS_ONLY", "StreamSpecification"),
    ],
)
def test_a_global_table_aws_would_refuse_fails_the_stack_and_creates_nothing(
    regions: Any, endpoint: str, replicas: list[str], stream: str | None, reason: str
) -> None:
    name, stack = f"gt-cfn-{uuid.uuid4().hex[:8]}", f"gt-{uuid.uuid4().hex[:8]}"
    with pytest.raises(regions(PRIMARY).exceptions.ClientError) as raised:
        deploy_stack(endpoint, stack, global_table_template(name, replicas, stream=stream))
    assert reason in str(raised.value)
    for region in (PRIMARY, SECONDARY):
        assert name not in regions(region).list_tables()["TableNames"]


def test_a_global_table_whose_name_is_taken_in_a_replica_region_fails_before_creating_anything(
    regions: Any, endpoint: str
) -> None:
    name, stack = f"gt-cfn-{uuid.uuid4().hex[:8]}", f"gt-{uuid.uuid4().hex[:8]}"
    regions(SECONDARY).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(regions(PRIMARY).exceptions.ClientError) as raised:
        deploy_stack(endpoint, stack, global_table_template(name, [PRIMARY, SECONDARY]))
    assert f"already exists in {SECONDARY}" in str(raised.value)
    assert name not in regions(PRIMARY).list_tables()["TableNames"]
