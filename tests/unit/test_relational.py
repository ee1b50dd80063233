"""The Data API client (marquee.relational): typed parameters, JSON records, transactions, error mapping, and the
migration runner's statement splitter and bookkeeping, against a fake rds-data client."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from botocore.exceptions import ClientError

from marquee.relational import migrations
from marquee.relational.client import DataApi, sql_parameter
from marquee.relational.errors import DatabaseUnavailable, SqlError, StatementTimeout, TransactionLost

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "functions" / "migrate" / "sql"


def error(code: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "ExecuteStatement")


class FakeDataApi:
    """Records calls; answers from a script (a dict, an exception, or a callable of the request)."""

    def __init__(self, answers: list[Any] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answers = list(answers or [])

    def _answer(self, op: str, request: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((op, request))
        answer = self.answers.pop(0) if self.answers else {}
        if isinstance(answer, Exception):
            raise answer
        return answer(request) if callable(answer) else answer

    def execute_statement(self, **request: Any) -> dict[str, Any]:
        return self._answer("execute", request)

    def begin_transaction(self, **request: Any) -> dict[str, Any]:
        self.calls.append(("begin", request))
        return {"transactionId": "tx-1"}

    def commit_transaction(self, **request: Any) -> dict[str, Any]:
        self.calls.append(("commit", request))
        return {"transactionStatus": "Transaction Committed"}

    def rollback_transaction(self, **request: Any) -> dict[str, Any]:
        self.calls.append(("rollback", request))
        return {"transactionStatus": "Rollback Complete"}


def api(fake: FakeDataApi) -> DataApi:
    return DataApi(
        cluster_arn="arn:aws:rds:us-east-1:123456789012:cluster:c",
        secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:s",  # noqa: S106 - an ARN, not a secret
        database="marquee",
        client=fake,
    )


def test_python_values_become_typed_parameters_with_the_hints_the_data_api_needs() -> None:
    assert sql_parameter("a", None) == {"name": "a", "value": {"isNull": True}}
    assert sql_parameter("a", True) == {"name": "a", "value": {"booleanValue": True}}
    assert sql_parameter("a", 7) == {"name": "a", "value": {"longValue": 7}}
    assert sql_parameter("a", 1.5) == {"name": "a", "value": {"doubleValue": 1.5}}
    assert sql_parameter("a", "x") == {"name": "a", "value": {"stringValue": "x"}}
    assert sql_parameter("a", b"\x00") == {"name": "a", "value": {"blobValue": b"\x00"}}
    lisbon_winter = datetime(2026, 12, 5, 20, 30, tzinfo=timezone(timedelta(hours=1)))
    assert sql_parameter("a", lisbon_winter) == {
        "name": "a",
        "value": {"stringValue": "2026-12-05 19:30:00.000000"},
        "typeHint": "TIMESTAMP",
    }
    assert sql_parameter("a", date(2026, 1, 2))["typeHint"] == "DATE"
    assert sql_parameter("a", Decimal("1.10")) == {"name": "a", "value": {"stringValue": "1.10"}, "typeHint": "DECIMAL"}
    assert sql_parameter("a", UUID(int=1))["typeHint"] == "UUID"
    assert sql_parameter("a", {"k": [1]}) == {"name": "a", "value": {"stringValue": '{"k": [1]}'}, "typeHint": "JSON"}
    with pytest.raises(TypeError, match="object"):
        sql_parameter("a", object())  # type: ignore[arg-type]


def test_execute_reads_json_records_and_counts_updates() -> None:
    fake = FakeDataApi([{"formattedRecords": json.dumps([{"id": 1, "name": "x"}])}, {"numberOfRecordsUpdated": 3}])
    db = api(fake)
    assert db.query("SELECT :id AS id", {"id": 1}) == [{"id": 1, "name": "x"}]
    _, request = fake.calls[0]
    assert request["formatRecordsAs"] == "JSON" and request["database"] == "marquee"
    assert request["parameters"] == [{"name": "id", "value": {"longValue": 1}}]
    assert db.execute("UPDATE t SET x = 1").updated == 3
    assert "parameters" not in fake.calls[1][1]


def test_a_transaction_commits_on_exit_and_rolls_back_on_an_exception() -> None:
    fake = FakeDataApi()
    with api(fake).transaction() as tx:
        tx.execute("SELECT 1")
    assert [c[0] for c in fake.calls] == ["begin", "execute", "commit"]
    assert fake.calls[1][1]["transactionId"] == "tx-1"

    fake = FakeDataApi([error("DatabaseErrorException", "ERROR: boom; SQLState: 22012")])
    with pytest.raises(SqlError) as caught, api(fake).transaction() as tx:
        tx.execute("SELECT 1/0")
    assert caught.value.sqlstate == "22012"
    assert [c[0] for c in fake.calls] == ["begin", "execute", "rollback"]


@pytest.mark.parametrize(
    ("code", "message", "kind"),
    [
        ("DatabaseResumingException", "", DatabaseUnavailable),
        ("DatabaseNotFoundException", "", DatabaseUnavailable),
        ("StatementTimeoutException", "", StatementTimeout),
        (
            "DatabaseErrorException",
            "ERROR: canceling statement due to statement timeout; SQLState: 57014",
            StatementTimeout,
        ),
        ("TransactionNotFoundException", "Transaction tx is not found", TransactionLost),
        ("DatabaseErrorException", "ERROR: duplicate key; SQLState: 23505", SqlError),
    ],
)
def test_data_api_errors_become_kernel_errors(code: str, message: str, kind: type[Exception]) -> None:
    with pytest.raises(kind) as caught:
        api(FakeDataApi([error(code, message)])).execute("SELECT 1")
    assert isinstance(caught.value.__cause__, ClientError)
    assert "SELECT" not in str(caught.value)


def test_scripts_split_on_top_level_semicolons_only() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE a (x text DEFAULT 'a;b', "we;ird" int); /* block; comment */
    CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;
    INSERT INTO a VALUES ('it''s; fine')
    ;
    -- trailing comment only
    """
    statements = migrations.split_statements(script)
    assert len(statements) == 3
    assert statements[0].endswith('"we;ird" int)')
    assert "$body$ SELECT 1; $body$" in statements[1]
    assert statements[2] == "INSERT INTO a VALUES ('it''s; fine')"
    with pytest.raises(migrations.MigrationError, match="unterminated"):
        migrations.split_statements("SELECT 'open")


def test_the_shipped_migrations_load_in_order_and_split_cleanly() -> None:
    found = migrations.load(MIGRATIONS_DIR)
    assert [m.version for m in found] == sorted({m.version for m in found}) and found[0].version == 1
    statements = found[0].statements
    assert any(s.startswith("CREATE TABLE search_documents") for s in statements)
    assert all(";" not in s.split("\n")[-1] for s in statements)


def test_apply_takes_the_lock_skips_what_is_applied_and_records_the_rest() -> None:
    first = migrations.Migration(1, "one", "CREATE TABLE one (x int);")
    second = migrations.Migration(2, "two", "CREATE TABLE two (x int); CREATE INDEX two_x ON two (x)")
    already = json.dumps([{"version": 1, "checksum": first.checksum}])
    fake = FakeDataApi([{}, {}, {"formattedRecords": already}])
    outcome = migrations.apply(api(fake), [first, second])
    assert outcome.applied == [2] and outcome.already == [1]
    sqls = [c[1].get("sql", "") for c in fake.calls if c[0] == "execute"]
    assert sqls[0] == "SELECT pg_advisory_xact_lock(:key)"
    assert sqls[3:5] == ["CREATE TABLE two (x int)", "CREATE INDEX two_x ON two (x)"]
    assert sqls[5].startswith("INSERT INTO schema_migrations")
    assert fake.calls[-1][0] == "commit"


def test_an_applied_migration_that_changed_stops_the_run_and_rolls_back() -> None:
    edited = migrations.Migration(1, "one", "CREATE TABLE one (x bigint)")
    stale = json.dumps([{"version": 1, "checksum": "0" * 64}])
    fake = FakeDataApi([{}, {}, {"formattedRecords": stale}])
    with pytest.raises(migrations.MigrationDrift):
        migrations.apply(api(fake), [edited])
    assert fake.calls[-1][0] == "rollback"


def test_migration_files_are_named_by_version(tmp_path: Path) -> None:
    (tmp_path / "1_bad.sql").write_text("SELECT 1")
    with pytest.raises(migrations.MigrationError, match="NNNN"):
        migrations.load(tmp_path)


def test_timestamps_are_sent_in_utc() -> None:
    assert sql_parameter("t", datetime(2026, 1, 1, tzinfo=UTC))["value"]["stringValue"] == "2026-01-01 00:00:00.000000"
