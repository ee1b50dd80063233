"""Low-level DynamoDB items: Python values to attribute values and back (boto3's own type (de)serializers)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def attribute(value: Any) -> dict[str, Any]:
    """One Python value as a DynamoDB attribute value (``{"S": ...}``, ``{"N": ...}``, ``{"L": [...]}``, ...)."""
    return _serializer.serialize(value)


def to_attributes(values: Mapping[str, Any], *, skip_none: bool = False) -> dict[str, Any]:
    """A mapping of Python values as an item; ``skip_none`` leaves out the ``None`` ones instead of storing NULL."""
    return {name: _serializer.serialize(value) for name, value in values.items() if not (skip_none and value is None)}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; every number the stores keep is an integer. Sets become frozensets."""
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, set):
        return frozenset(plain(v) for v in value)
    if isinstance(value, Decimal):
        return int(value)
    return value
