"""The control table: the shard map (one versioned item) and the mover's per-tenant state.

The map is written only with a condition on the version it replaces (optimistic concurrency): two operators, or a
mover and an operator, can never both win. Items: ``pk=SHARDMAP sk=CURRENT`` (``map`` JSON and ``version``) and
``pk=MOVE#{tenant} sk=CURRENT`` (the mover's state machine, see ``mover``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from marquee.dynamo.conditions import CONDITION_FAILED, error_code
from marquee.sharding.ring import ShardMap

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

MAP_KEY = {"pk": {"S": "SHARDMAP"}, "sk": {"S": "CURRENT"}}


class MapVersionConflict(Exception):
    """The map changed since it was read: read it again and redo the change."""


def move_key(tenant_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"MOVE#{tenant_id}"}, "sk": {"S": "CURRENT"}}


class ControlStore:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.table_name = table_name
        self.client = client

    # ---- the map ----------------------------------------------------------------------------------------------------
    def load(self) -> ShardMap | None:
        item = self.client.get_item(TableName=self.table_name, Key=MAP_KEY, ConsistentRead=True).get("Item")
        return ShardMap.model_validate_json(item["map"]["S"]) if item else None

    def put_map_request(self, new: ShardMap, *, expected_version: int | None) -> dict[str, Any]:
        """The Put (for a transaction, or alone) that replaces version ``expected_version`` with ``new``."""
        put: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": {**MAP_KEY, "version": {"N": str(new.version)}, "map": {"S": new.to_item_json()}},
        }
        if expected_version is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(expected_version)}}
        return put

    def save(self, new: ShardMap, *, expected_version: int | None) -> None:
        try:
            self.client.put_item(**self.put_map_request(new, expected_version=expected_version))
        except ClientError as exc:
            if error_code(exc) == CONDITION_FAILED:
                raise MapVersionConflict(f"the shard map is no longer version {expected_version}") from exc
            raise

    def ensure(self, default: ShardMap) -> ShardMap:
        """The stored map, or ``default`` stored as version 1 if there is none yet (first caller wins)."""
        current = self.load()
        if current is not None:
            return current
        first = default.model_copy(update={"version": 1})
        try:
            self.save(first, expected_version=None)
        except MapVersionConflict:
            stored = self.load()
            assert stored is not None  # noqa: S101 - it was just written by the winner
            return stored
        return first

    # ---- moves ------------------------------------------------------------------------------------------------------
    def read_move(self, tenant_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.table_name, Key=move_key(tenant_id), ConsistentRead=True).get("Item")
        return _record(item) if item else None

    def write_move(self, record: dict[str, Any]) -> None:
        """The whole record as one JSON attribute (its floats are times), and its state beside it for a glance."""
        self.client.put_item(
            TableName=self.table_name,
            Item={
                **move_key(record["tenant"]),
                "state": {"S": str(record["state"])},
                "record": {"S": json.dumps(record, sort_keys=True)},
            },
        )

    def moves(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table_name, "ConsistentRead": True}
        while True:
            page = self.client.scan(**kwargs)
            for item in page.get("Items", []):
                if item["pk"]["S"].startswith("MOVE#"):
                    found.append(_record(item))
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _record(item: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(item["record"]["S"])
    return record
