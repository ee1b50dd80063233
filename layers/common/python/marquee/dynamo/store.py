"""The base of every store over one DynamoDB table: the table's name and a lazy, injectable client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from marquee.core import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any


class TableStore:
    """A store over ``table_name``. ``client`` defaults to the shared client, created on first use; tests pass a moto
    client, a Stubber or a fake."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()
