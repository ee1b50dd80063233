"""Tenant sharding (challenge 9): the shard tables, the control table, and the routing wiring of every function.

- **Shards.** The main table is shard ``s0`` (every tenant it holds stays where it is); ``s1``..``sN-1`` are tables of
  the same shape (``pk``/``sk``, no GSIs, a NEW_AND_OLD_IMAGES stream, the TTL attribute, PITR). N comes from the
  context ``marquee:shards`` (default 3); the ring holds the first ``marquee:shardRing`` of them (default 1: only
  ``s0``, so no tenant changes tables on deploy; ``s1``.. take tenants by ``marquee shards move``, as placements or
  silos; see docs/decisions.md).
- **The control table** holds the versioned shard map (``SHARDMAP``) and the mover's records (``MOVE#{tenant}``).
- **Routing** (``route_main_table_functions``): every function whose ``TABLE_NAME`` is the main table routes its
  main-table calls through ``marquee.sharding`` (the kernel reads ``TABLE_NAME`` as the logical table). Each such
  function gets the variables the kernel reads, GetItem/PutItem on the map item only (``LeadingKeys`` ``SHARDMAP``:
  the first caller stores version 1 with ``attribute_not_exists``; the mover's records are out of its reach), and on
  every shard table exactly the actions its role has on the main table (the same statements, mirrored: a function
  that may only PutItem on the main table may only PutItem on the shards). The tenant-access role's statement is
  mirrored the same way, and its session policy names every shard (``SHARD_TABLE_ARNS``).
- **The operator's policy** (``ShardOperatorPolicy``): what ``marquee shards move`` needs (the mover runs in the CLI
  with the caller's credentials): scans and writes on every shard, their streams, the control table.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Fn, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from infra import constants
from infra.constructs.function import PythonFunction

# What the mover does on the shard tables (copy, catch up, verify, flip, clean up) and on their streams.
MOVER_TABLE_ACTIONS = [
    "dynamodb:Scan",
    "dynamodb:Query",
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
]
MOVER_STREAM_ACTIONS = ["dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"]


class ShardCountError(ValueError):
    """``marquee:shards`` / ``marquee:shardRing`` are not whole numbers in range."""


def shard_settings(scope: Construct) -> tuple[int, int]:
    """(count, ring size) from the context, checked: 1 <= ring <= count, MIN_SHARDS <= count <= MAX_SHARDS."""
    node = scope.node
    raw_count = node.try_get_context(constants.SHARDS_CONTEXT_KEY) or constants.DEFAULT_SHARDS
    raw_ring = node.try_get_context(constants.SHARD_RING_CONTEXT_KEY) or constants.DEFAULT_SHARD_RING
    try:
        count, ring = int(raw_count), int(raw_ring)
    except (TypeError, ValueError) as exc:
        raise ShardCountError(
            f"{constants.SHARDS_CONTEXT_KEY} and {constants.SHARD_RING_CONTEXT_KEY} are numbers"
        ) from exc
    if not (1 <= ring <= count and constants.MIN_SHARDS <= count <= constants.MAX_SHARDS):
        raise ShardCountError(
            f"need 1 <= {constants.SHARD_RING_CONTEXT_KEY} ({ring}) <= {constants.SHARDS_CONTEXT_KEY} ({count}), "
            f"{constants.MIN_SHARDS} <= {constants.SHARDS_CONTEXT_KEY} <= {constants.MAX_SHARDS}"
        )
    return count, ring


class Sharding(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, main_table: dynamodb.ITable) -> None:
        super().__init__(scope, construct_id)
        self.main_table = main_table
        count, self.ring_size = shard_settings(self)
        self.extra_tables: list[dynamodb.Table] = [self._table(f"Shard{i}", stream=True) for i in range(1, count)]
        self.tables: list[dynamodb.ITable] = [main_table, *self.extra_tables]
        self.control_table = self._table("ControlTable", stream=False)
        self.table_names = Fn.join(",", [t.table_name for t in self.tables])
        self.table_arns = Fn.join(",", [t.table_arn for t in self.tables])

        self.operator_policy = iam.ManagedPolicy(
            self,
            "OperatorPolicy",
            description="Marquee shard operator (marquee shards status|move): the mover's scans, copies, stream reads",
            statements=[
                iam.PolicyStatement(actions=MOVER_TABLE_ACTIONS, resources=[t.table_arn for t in self.tables]),
                iam.PolicyStatement(
                    actions=MOVER_STREAM_ACTIONS,
                    resources=[t.table_stream_arn for t in self.tables if t.table_stream_arn],
                ),
                # The map and the move records; the flip writes the map and the fence's tombstone in one transaction
                # (a transaction is authorized through its items' actions).
                iam.PolicyStatement(
                    actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"],
                    resources=[self.control_table.table_arn],
                ),
            ],
        )

    @property
    def environment(self) -> dict[str, str]:
        """The variables ``marquee.sharding.routing.ShardingEnv`` and ``TenantDataEnv`` read."""
        return {
            "SHARD_CONTROL_TABLE_NAME": self.control_table.table_name,
            "SHARD_TABLES": self.table_names,
            "SHARD_TABLE_ARNS": self.table_arns,
            "SHARD_RING_SIZE": str(self.ring_size),
            "SHARD_STALENESS_S": str(constants.SHARD_STALENESS_S),
        }

    def _table(self, construct_id: str, *, stream: bool) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES if stream else None,
            time_to_live_attribute=constants.TABLE_TTL_ATTRIBUTE if stream else None,
            removal_policy=constants.REMOVAL_POLICY,
        )

    # ---- routing ----------------------------------------------------------------------------------------------------
    def route_main_table_functions(self, scope: IConstruct, *, roles: list[iam.IRole]) -> list[PythonFunction]:
        """Wire every function under ``scope`` whose ``TABLE_NAME`` is the main table; mirror ``roles`` too.

        Call it last, once every construct has made its grants: the mirror copies the statements that exist."""
        stack = Stack.of(self)
        main_name = stack.resolve(self.main_table.table_name)
        routed: list[PythonFunction] = []
        for construct in scope.node.find_all():
            if not isinstance(construct, PythonFunction):
                continue
            if stack.resolve(construct.environment.get("TABLE_NAME")) != main_name:
                continue
            self.read_map(construct)
            self.mirror_grants(construct.role)
            routed.append(construct)
        for role in roles:
            self.mirror_grants(role)
        return routed

    def read_map(self, function: PythonFunction) -> None:
        """Let ``function`` read the shard map (and store its first version): the variables and the one statement.
        The projector needs only this: where a tenant lives decides its read models' schema."""
        for name, value in self.environment.items():
            function.add_environment(name, value)
        function.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ShardMapReadAndFirstVersion",
                actions=["dynamodb:GetItem", "dynamodb:PutItem"],
                resources=[self.control_table.table_arn],
                conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["SHARDMAP"]}},
            )
        )

    def mirror_grants(self, role: iam.IRole) -> int:
        """Give ``role`` on every shard table the statements it has on the main table (same actions, conditions)."""
        stack = Stack.of(self)
        main_arn = stack.resolve(self.main_table.table_arn)
        policy: Any = role.node.try_find_child("DefaultPolicy")
        if policy is None:
            return 0
        mirrored = 0
        for statement in list(stack.resolve(policy.document.to_json()).get("Statement", [])):
            resources = statement.get("Resource", [])
            resources = resources if isinstance(resources, list) else [resources]
            if main_arn not in resources or statement.get("Effect") != "Allow":
                continue
            actions = statement["Action"]
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=actions if isinstance(actions, list) else [actions],
                    resources=[t.table_arn for t in self.extra_tables],
                    conditions=statement.get("Condition"),
                )
            )
            mirrored += 1
        return mirrored
