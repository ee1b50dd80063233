"""``DataApi``: the RDS Data API (Aurora PostgreSQL) through boto3, typed.

- ``execute(sql, params)``: one statement with ``:name`` parameters; Python values become typed ``SqlParameter``s
  (``str`` a stringValue, ``int`` a longValue, ``float`` a doubleValue, ``bool``, ``None``, ``bytes``; ``datetime``,
  ``date``, ``Decimal``, ``UUID`` and ``dict``/``list`` a string with the ``typeHint`` the Data API needs to cast it).
- ``query(sql, params)``: rows as dicts, read with ``formatRecordsAs=JSON`` (column names as keys, JSON types).
- ``transaction()``: a context manager; commit on exit, rollback on an exception.
- Every ``ClientError`` becomes a kernel error (``marquee.relational.errors``), raised ``from`` the original.

The cluster and secret ARNs come from the environment (``RelationalEnv``: ``DB_CLUSTER_ARN``, ``DB_SECRET_ARN``,
``DB_NAME``). The function needs no VPC: the Data API is an HTTPS endpoint, and IAM (``grant_data_api_access``) plus the
secret decide who may call it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

from botocore.exceptions import ClientError
from pydantic import Field

from marquee.core import aws
from marquee.core.env import BaseEnv
from marquee.relational.errors import from_client_error

Param = str | int | float | bool | bytes | datetime | date | Decimal | UUID | dict[str, Any] | list[Any] | None


class RelationalEnv(BaseEnv):
    db_cluster_arn: str = Field(min_length=1)
    db_secret_arn: str = Field(min_length=1)
    db_name: str = Field(min_length=1, max_length=63)


def sql_parameter(name: str, value: Param) -> dict[str, Any]:
    """One Data API ``SqlParameter``. ``bool`` is checked before ``int`` (a bool is an int in Python)."""
    if value is None:
        return {"name": name, "value": {"isNull": True}}
    if isinstance(value, bool):
        return {"name": name, "value": {"booleanValue": value}}
    if isinstance(value, int):
        return {"name": name, "value": {"longValue": value}}
    if isinstance(value, float):
        return {"name": name, "value": {"doubleValue": value}}
    if isinstance(value, str):
        return {"name": name, "value": {"stringValue": value}}
    if isinstance(value, bytes):
        return {"name": name, "value": {"blobValue": value}}
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        text = value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return {"name": name, "value": {"stringValue": text}, "typeHint": "TIMESTAMP"}
    if isinstance(value, date):
        return {"name": name, "value": {"stringValue": value.isoformat()}, "typeHint": "DATE"}
    if isinstance(value, Decimal):
        return {"name": name, "value": {"stringValue": str(value)}, "typeHint": "DECIMAL"}
    if isinstance(value, UUID):
        return {"name": name, "value": {"stringValue": str(value)}, "typeHint": "UUID"}
    if isinstance(value, dict | list):
        return {"name": name, "value": {"stringValue": json.dumps(value)}, "typeHint": "JSON"}
    raise TypeError(f"parameter {name!r}: no Data API type for {type(value).__name__}")


def sql_parameters(params: Mapping[str, Param] | None) -> list[dict[str, Any]]:
    return [sql_parameter(name, value) for name, value in (params or {}).items()]


@dataclass(frozen=True)
class Result:
    """What ``execute`` answers: the rows (``formatRecordsAs=JSON``) and the count of rows a DML statement changed."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    updated: int = 0


@dataclass(frozen=True)
class Transaction:
    api: DataApi
    transaction_id: str

    def execute(self, sql: str, params: Mapping[str, Param] | None = None) -> Result:
        return self.api.execute(sql, params, transaction_id=self.transaction_id)

    def query(self, sql: str, params: Mapping[str, Param] | None = None) -> list[dict[str, Any]]:
        return self.execute(sql, params).rows


class DataApi:
    def __init__(self, *, cluster_arn: str, secret_arn: str, database: str, client: Any | None = None) -> None:
        self.cluster_arn = cluster_arn
        self.secret_arn = secret_arn
        self.database = database
        self._client = client

    @classmethod
    def from_env(cls, env: RelationalEnv, client: Any | None = None) -> DataApi:
        return cls(cluster_arn=env.db_cluster_arn, secret_arn=env.db_secret_arn, database=env.db_name, client=client)

    @property
    def client(self) -> Any:
        return self._client if self._client is not None else aws.rds_data()

    def _target(self) -> dict[str, str]:
        return {"resourceArn": self.cluster_arn, "secretArn": self.secret_arn, "database": self.database}

    def execute(
        self, sql: str, params: Mapping[str, Param] | None = None, *, transaction_id: str | None = None
    ) -> Result:
        """Run one statement. Rows come back as dicts (``formatRecordsAs=JSON``) when the statement returns any."""
        request: dict[str, Any] = {**self._target(), "sql": sql, "formatRecordsAs": "JSON"}
        if params:
            request["parameters"] = sql_parameters(params)
        if transaction_id is not None:
            request["transactionId"] = transaction_id
        try:
            response = self.client.execute_statement(**request)
        except ClientError as exc:
            raise from_client_error(exc) from exc
        formatted = response.get("formattedRecords")
        rows: list[dict[str, Any]] = json.loads(formatted) if formatted else []
        return Result(rows=rows, updated=int(response.get("numberOfRecordsUpdated", 0)))

    def query(self, sql: str, params: Mapping[str, Param] | None = None) -> list[dict[str, Any]]:
        return self.execute(sql, params).rows

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """``with api.transaction() as tx: tx.execute(...)``: committed on exit, rolled back if the block raises."""
        try:
            transaction_id = self.client.begin_transaction(**self._target())["transactionId"]
        except ClientError as exc:
            raise from_client_error(exc) from exc
        try:
            yield Transaction(self, transaction_id)
        except BaseException:
            try:
                self.client.rollback_transaction(
                    resourceArn=self.cluster_arn, secretArn=self.secret_arn, transactionId=transaction_id
                )
            except ClientError:  # already ended by the error (the Data API aborts a transaction on a SQL error)
                pass
            raise
        try:
            self.client.commit_transaction(
                resourceArn=self.cluster_arn, secretArn=self.secret_arn, transactionId=transaction_id
            )
        except ClientError as exc:
            raise from_client_error(exc) from exc


@cache
def data_api(env: RelationalEnv) -> DataApi:
    """One ``DataApi`` per environment model (the model is frozen, so hashable) for the life of the function."""
    return DataApi.from_env(env)
