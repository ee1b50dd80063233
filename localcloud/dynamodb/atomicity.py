"""DynamoDB's atomicity on moto's threaded server: conditional writes and transactions are serializable, as on AWS.

moto's DynamoDB backend assumes one caller at a time. Under the local cloud's threaded server, two requests can
interleave between a condition check and its write (two winners for one seat), and ``TransactWriteItems`` rolls back a
cancelled transaction by putting back a deep copy of every table it touched, which also throws away any write another
thread committed meanwhile, and costs a copy of the whole table (and its stream) per transaction.

``install()`` fixes both, without changing any answer moto gives:
- every DynamoDB API call runs under one lock (a laptop emulator needs correctness, not parallel writes);
- ``TransactWriteItems`` checks every condition first and writes only if all pass (AWS's all-or-nothing, with the same
  ``CancellationReasons`` and ``ALL_OLD`` items), so nothing is ever rolled back and no table is copied.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_LOCK = threading.RLock()
_installed = {"done": False}


def install() -> None:
    if _installed["done"]:
        return
    _installed["done"] = True
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    original_call_action = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with _LOCK:
            return original_call_action(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems, check-then-write: all conditions are evaluated before anything is written."""
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    with _LOCK:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        seen: set[tuple[str, str]] = set()
        errors: list[tuple[Any, Any, Any]] = []
        planned: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        for entry in transact_items:
            if len(entry) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(entry.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            if op_type == "Put":
                table = self.get_table(table_name)
                attrs = op["Item"]
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            unique = (str(table_name), str(dict(sorted(key.items()))))
            if unique in seen:
                raise MultipleTransactionsException()
            seen.add(unique)
            current = self.get_item(table_name, key)
            if not _condition_holds(op, current):
                old = None
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    old = current.to_json()["Attributes"]
                errors.append(("ConditionalCheckFailed", ConditionalCheckFailed().message, old))
                continue
            errors.append((None, None, None))
            planned.append((op_type, op, key))

        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)

        # Every condition held: write. (An invalid update expression fails here; restore what was already written.)
        before = [(op["TableName"], key, copy.deepcopy(self.get_item(op["TableName"], key))) for _, op, key in planned]
        done = 0
        try:
            for op_type, op, key in planned:
                _apply(self, op_type, op, key)
                done += 1
        except Exception:  # noqa: BLE001 - any failure mid-write undoes the writes before it, then propagates
            for table_name, key, item in before[:done]:
                table = self.get_table(table_name)
                if item is None:
                    table.delete_item(*_key_values(table, key))
                else:
                    table.put_item(item.to_json()["Attributes"])
            raise


def _condition_holds(op: dict[str, Any], current: Any) -> bool:
    from moto.dynamodb.comparisons import get_filter_expression

    condition = op.get("ConditionExpression")
    if condition is None:
        return True
    expr = get_filter_expression(condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues"))
    return bool(expr.expr(current))


def _apply(backend: Any, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    names = op.get("ExpressionAttributeNames")
    values = op.get("ExpressionAttributeValues")
    if op_type == "Put":
        backend.put_item(
            op["TableName"], op["Item"], expression_attribute_names=names, expression_attribute_values=values
        )
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], key, expression_attribute_names=names, expression_attribute_values=values)
    elif op_type == "Update":
        backend.update_item(
            op["TableName"],
            key,
            update_expression=op["UpdateExpression"],
            expression_attribute_names=names,
            expression_attribute_values=values,
        )


def _key_values(table: Any, key: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value
