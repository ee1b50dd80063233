"""AWS::DynamoDB::GlobalTable: a global table (version 2019.11.21), its replicas made by the local cloud's replicator.

moto 5.2.5 has no model for this type. The fill-in creates the table in the stack's region through moto's DynamoDB
backend, then every other replica through the same function as ``UpdateTable`` ``ReplicaUpdates`` ``Create``
(``localcloud/dynamodb/replication.py``), so DescribeTable, the streams and the replicator see a deployed global table
exactly as one made through the API. As CloudFormation documents the type:
- ``Replicas`` must list the stack's own region (the replica the stack "owns" the global table from); with more than one
  replica, ``StreamSpecification`` is required and must be ``NEW_AND_OLD_IMAGES``; a replica region that already holds
  a table of that name fails the resource before anything is created;
- ``Ref`` is the table's name; ``Fn::GetAtt`` answers ``Arn``, ``StreamArn`` and ``TableId`` of the replica in the
  stack's region;
- ``TimeToLiveSpecification`` applies to every replica; per-replica settings (``PointInTimeRecoverySpecification``,
  ``Tags``, ``TableClass``, ...) are accepted and not modelled (moto keeps none of them per replica);
- an update that adds or removes a ``Replicas`` entry adds or deletes that replica (the others keep their items); a new
  ``TableName`` or ``KeySchema`` replaces the whole global table; stack delete deletes every replica, then the table.
"""

from __future__ import annotations

import uuid
from typing import Any

from moto.cloudformation.exceptions import ValidationError

from .base import Context, FillIn, as_bool, random_name_suffix, require, tags_to_list

CFN_TYPE = "AWS::DynamoDB::GlobalTable"


def _backend(account_id: str, region: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account_id][region]


def _replication() -> Any:
    from localcloud.dynamodb import replication

    return replication.current()


def _replica_regions(ctx: Context, props: dict[str, Any]) -> list[str]:
    replicas = require(props, "Replicas", CFN_TYPE)
    regions = [str(require(r, "Region", CFN_TYPE)) for r in replicas]
    if len(set(regions)) != len(regions):
        raise ValidationError(message=f"{CFN_TYPE}: each region may hold one replica only, got {regions}")
    if ctx.region_name not in regions:
        raise ValidationError(
            message=f"{CFN_TYPE}: Replicas must include a replica in the stack's region ({ctx.region_name})"
        )
    stream = (props.get("StreamSpecification") or {}).get("StreamViewType")
    if len(regions) > 1 and stream != "NEW_AND_OLD_IMAGES":
        raise ValidationError(
            message=f"{CFN_TYPE}: StreamSpecification with StreamViewType NEW_AND_OLD_IMAGES is required when the "
            f"table has more than one replica (got {stream!r})"
        )
    return regions


def _ttl(props: dict[str, Any]) -> dict[str, Any] | None:
    spec = props.get("TimeToLiveSpecification")
    if not spec:
        return None
    return {"AttributeName": spec.get("AttributeName", ""), "Enabled": as_bool(spec.get("Enabled"))}


class GlobalTable(FillIn):
    CFN_TYPE = CFN_TYPE
    NAME_PROPERTY = "TableName"
    ATTRIBUTES = frozenset({"Arn", "StreamArn", "TableId"})

    def __init__(self, ctx: Context, name: str, props: dict[str, Any], regions: list[str]) -> None:
        described = _backend(ctx.account_id, ctx.region_name).get_table(name).describe()["TableDescription"]
        attributes = {"Arn": described["TableArn"], "TableId": described.get("TableId") or str(uuid.uuid4())}
        if described.get("LatestStreamArn"):  # GetAtt StreamArn of a table without a stream fails, as on AWS
            attributes["StreamArn"] = described["LatestStreamArn"]
        super().__init__(ctx, name, attributes)
        self.name = name
        self.props = props
        self.regions = regions

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> GlobalTable:
        regions = _replica_regions(ctx, props)
        # CloudFormation's generated name: <stack>-<logical id>-<suffix>, as for AWS::DynamoDB::Table.
        name = str(props.get("TableName") or f"{ctx.stack_name}-{ctx.logical_id}-{random_name_suffix()}")
        taken = [r for r in regions if name in _backend(ctx.account_id, r).tables]
        if taken:
            raise ValidationError(message=f"{CFN_TYPE}: a table named {name} already exists in {', '.join(taken)}")
        view = (props.get("StreamSpecification") or {}).get("StreamViewType")
        on_demand = props.get("BillingMode", "PAY_PER_REQUEST") == "PAY_PER_REQUEST"
        backend = _backend(ctx.account_id, ctx.region_name)
        backend.create_table(
            name,
            schema=require(props, "KeySchema", CFN_TYPE),
            throughput=None,
            attr=require(props, "AttributeDefinitions", CFN_TYPE),
            global_indexes=props.get("GlobalSecondaryIndexes") or [],
            indexes=props.get("LocalSecondaryIndexes") or [],
            streams={"StreamEnabled": True, "StreamViewType": view} if view else None,
            billing_mode="PAY_PER_REQUEST" if on_demand else "PROVISIONED",
            sse_specification=props.get("SSESpecification"),
            tags=tags_to_list(next((r.get("Tags") for r in props["Replicas"] if r["Region"] == ctx.region_name), [])),
            deletion_protection_enabled=False,
            warm_throughput=None,
        )
        try:
            for region in regions:
                if region != ctx.region_name:
                    _replication().add_replica(ctx.account_id, ctx.region_name, name, region)
            cls._apply_ttl(ctx.account_id, name, regions, _ttl(props))
        except Exception:
            cls._delete_all(ctx.account_id, ctx.region_name, name, regions)
            raise
        return cls(ctx, name, props, regions)

    @staticmethod
    def _apply_ttl(account_id: str, name: str, regions: list[str], ttl: dict[str, Any] | None) -> None:
        if ttl is None:
            return
        for region in regions:
            _backend(account_id, region).update_time_to_live(name, ttl)

    @staticmethod
    def _delete_all(account_id: str, home: str, name: str, regions: list[str]) -> None:
        replication = _replication()
        for region in regions:
            if region != home and region in replication.replicas_of(account_id, name):
                replication.remove_replica(account_id, name, region)
        _backend(account_id, home).tables.pop(name, None)

    def remove(self) -> None:
        self._delete_all(self.ctx.account_id, self.ctx.region_name, self.name, self.regions)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        new_name = props.get("TableName") or self.name
        if new_name != self.name or props.get("KeySchema") != self.props.get("KeySchema"):
            return super().update(props, new_resource_name)
        regions = _replica_regions(self.ctx, props)
        replication = _replication()
        for region in regions:
            if region not in self.regions:
                replication.add_replica(self.ctx.account_id, self.ctx.region_name, self.name, region)
        for region in self.regions:
            if region not in regions:
                replication.remove_replica(self.ctx.account_id, self.name, region)
        self._apply_ttl(self.ctx.account_id, self.name, regions, _ttl(props))
        self.props, self.regions = props, regions
        return self
