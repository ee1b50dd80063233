# ruff: noqa: S608 - the SQL below is the tests' own, with table names they generate
"""Parity tests for the RDS Data API on the local cloud's Aurora PostgreSQL (localcloud/rds/).

Every call goes through boto3's ``rds-data`` client to the session's local cloud, which runs the SQL on a real
PostgreSQL: the embedded engine, or the server ``LOCALCLOUD_TEST_POSTGRES_URL`` names
(``postgresql://postgres@127.0.0.1:5432/postgres``). Each test names the AWS documentation it follows: the Aurora
User Guide's "Using the RDS Data API" (its pages "Calling the Amazon RDS Data API", "Processing Amazon RDS Data API
query results in JSON format", "Troubleshooting Amazon RDS Data API" and the data type mapping tables) and the RDS Data
API Reference (ExecuteStatement, BatchExecuteStatement, BeginTransaction, CommitTransaction, SqlParameter, Field,
ColumnMetadata, ResultSetOptions).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.server import LocalCloud
from tests.localcloud.conftest import FIXTURES

PASSWORD = "local-Secret-pass-1"  # noqa: S105 - the test clusters' master password


@dataclass
class Aurora:
    client: Any
    cluster_arn: str
    secret_arn: str
    database: str

    def call(self, sql: str, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("database", self.database)
        return dict(
            self.client.execute_statement(resourceArn=self.cluster_arn, secretArn=self.secret_arn, sql=sql, **kwargs)
        )

    def error(self, sql: str, **kwargs: Any) -> tuple[str, str, int]:
        with pytest.raises(ClientError) as caught:
            self.call(sql, **kwargs)
        error = caught.value.response
        return error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]

    def begin(self) -> str:
        return str(
            self.client.begin_transaction(
                resourceArn=self.cluster_arn, secretArn=self.secret_arn, database=self.database
            )["transactionId"]
        )

    def end(self, transaction_id: str, commit: bool = True) -> dict[str, Any]:
        operation = self.client.commit_transaction if commit else self.client.rollback_transaction
        return dict(operation(resourceArn=self.cluster_arn, secretArn=self.secret_arn, transactionId=transaction_id))


def make_cluster(
    aws: Callable[[str], Any], *, instance: bool = True, http: bool = True, user: str = "app_admin"
) -> Aurora:
    name = f"data-{uuid.uuid4().hex[:8]}"
    cluster = aws("rds").create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        EngineVersion="16.6",
        MasterUsername=user,
        MasterUserPassword=PASSWORD,
        DatabaseName="app",
        EnableHttpEndpoint=http,
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 2},
    )["DBCluster"]
    if instance:
        aws("rds").create_db_instance(
            DBInstanceIdentifier=f"{name}-writer",
            DBClusterIdentifier=name,
            Engine="aurora-postgresql",
            DBInstanceClass="db.serverless",
        )
    secret = aws("secretsmanager").create_secret(
        Name=f"{name}-credentials", SecretString=json.dumps({"username": user, "password": PASSWORD})
    )["ARN"]
    return Aurora(aws("rds-data"), cluster["DBClusterArn"], secret, "app")


@pytest.fixture(scope="module")
def db(aws: Callable[[str], Any]) -> Aurora:
    return make_cluster(aws)


@pytest.fixture
def table(db: Aurora) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:8]}"
    db.call(f"CREATE TABLE {name} (id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2), note text)")
    yield name
    db.call(f"DROP TABLE IF EXISTS {name}")


def value(field: dict[str, Any]) -> tuple[str, Any]:
    ((kind, inner),) = field.items()
    return kind, inner


# --- results ---------------------------------------------------------------------------------------------------------


def test_result_values_come_back_as_typed_fields(db: Aurora) -> None:
    """Aurora UG, "Calling the Amazon RDS Data API" (data type mapping) and API Reference "Field": integers are
    longValue, floating point doubleValue, numeric a stringValue, booleans booleanValue, bytea blobValue, NULL isNull,
    one-dimensional arrays arrayValue, dates, times, uuid and json stringValue; timestamptz is the UTC wall clock."""
    record = db.call(
        "SELECT 42::int4 AS i, 9000000000::int8 AS l, 1.5::float8 AS d, 12.30::numeric(10,2) AS n, true AS b, "
        "'héllo'::text AS s, NULL::text AS z, '\\x0102ff'::bytea AS blob, DATE '2026-12-05' AS day, "
        "TIME '10:11:12' AS t, TIMESTAMP '2026-12-05 10:11:12.5' AS ts, "
        "TIMESTAMPTZ '2026-12-05 10:11:12+02' AS tz, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, "
        "'{\"k\": [1, 2]}'::jsonb AS j, ARRAY[1, NULL, 3] AS ints, ARRAY['x', 'y'] AS texts, ARRAY[true] AS flags, "
        "ARRAY[1.5::float8] AS doubles"
    )["records"][0]
    assert [value(f) for f in record] == [
        ("longValue", 42),
        ("longValue", 9000000000),
        ("doubleValue", 1.5),
        ("stringValue", "12.30"),
        ("booleanValue", True),
        ("stringValue", "héllo"),
        ("isNull", True),
        ("blobValue", b"\x01\x02\xff"),
        ("stringValue", "2026-12-05"),
        ("stringValue", "10:11:12"),
        ("stringValue", "2026-12-05 10:11:12.5"),
        ("stringValue", "2026-12-05 08:11:12"),
        ("stringValue", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        ("stringValue", '{"k": [1, 2]}'),
        ("arrayValue", {"longValues": [1, None, 3]}),
        ("arrayValue", {"stringValues": ["x", "y"]}),
        ("arrayValue", {"booleanValues": [True]}),
        ("arrayValue", {"doubleValues": [1.5]}),
    ]


def test_column_metadata_only_with_include_result_metadata(db: Aurora, table: str) -> None:
    """API Reference, ExecuteStatement (includeResultMetadata) and "ColumnMetadata": name, JDBC type, typeName
    (serial for a sequence-backed key), tableName, nullable, isAutoIncrement, precision and scale."""
    db.call(f"INSERT INTO {table} (name, price) VALUES ('a', 1.25)")
    plain = db.call(f"SELECT id, name, price FROM {table}")
    assert "columnMetadata" not in plain
    described = db.call(f"SELECT id, name, price FROM {table}", includeResultMetadata=True)["columnMetadata"]
    summary = [
        (
            c["name"],
            c["type"],
            c["typeName"],
            c["tableName"],
            c["nullable"],
            c["isAutoIncrement"],
            c["precision"],
            c["scale"],
        )
        for c in described
    ]
    assert summary == [
        ("id", 4, "serial", table, 0, True, 10, 0),
        ("name", 12, "text", table, 0, False, 2147483647, 0),
        ("price", 2, "numeric", table, 1, False, 10, 2),
    ]
    assert {c["label"] for c in described} == {"id", "name", "price"}


def test_format_records_as_json_returns_one_json_string(db: Aurora) -> None:
    """Aurora UG, "Processing Amazon RDS Data API query results in JSON format": formattedRecords is a JSON array of
    objects keyed by column alias; numeric stays a string; records and columnMetadata are absent."""
    answer = db.call(
        "SELECT 1 AS id, 'x' AS name, 2.50::numeric AS price, NULL::int AS missing, ARRAY[1,2] AS ids",
        formatRecordsAs="JSON",
        includeResultMetadata=True,
    )
    assert json.loads(answer["formattedRecords"]) == [
        {"id": 1, "name": "x", "price": "2.50", "missing": None, "ids": [1, 2]}
    ]
    assert "records" not in answer and "columnMetadata" not in answer


def test_result_set_options_turn_decimals_into_numbers_and_longs_into_strings(db: Aurora) -> None:
    """API Reference, "ResultSetOptions": decimalReturnType DOUBLE_OR_LONG gives a long for scale 0 and a double
    otherwise; longReturnType STRING gives integers as strings."""
    record = db.call(
        "SELECT 12::numeric AS whole, 1.25::numeric AS part, 7::int8 AS big",
        resultSetOptions={"decimalReturnType": "DOUBLE_OR_LONG", "longReturnType": "STRING"},
    )["records"][0]
    assert [value(f) for f in record] == [("longValue", 12), ("doubleValue", 1.25), ("stringValue", "7")]


def test_dml_counts_updated_records_and_returning_gives_records(db: Aurora, table: str) -> None:
    """API Reference, ExecuteStatement: numberOfRecordsUpdated for DML; generatedFields is empty on Aurora
    PostgreSQL, where RETURNING gives the generated values as records."""
    inserted = db.call(f"INSERT INTO {table} (name) VALUES ('a'), ('b'), ('c')")
    assert inserted["numberOfRecordsUpdated"] == 3 and inserted["generatedFields"] == []
    returned = db.call(f"INSERT INTO {table} (name) VALUES ('d') RETURNING id")
    assert returned["records"] == [[{"longValue": 4}]]
    updated = db.call(f"UPDATE {table} SET note = 'n' WHERE name IN ('a', 'b')")
    assert updated["numberOfRecordsUpdated"] == 2


# --- parameters ------------------------------------------------------------------------------------------------------


def test_named_parameters_bind_each_field_kind(db: Aurora) -> None:
    """API Reference, "SqlParameter" and "Field": :name placeholders (not inside quotes, comments or :: casts) take
    stringValue, longValue, doubleValue, booleanValue, blobValue and isNull; a name may repeat."""
    record = db.call(
        "SELECT :s AS s, :l + 1 AS l, :d * 2 AS d, NOT :b AS b, :blob AS blob, :z::int IS NULL AS z, "
        "':s' AS literal, :l::text AS cast -- :ignored",
        parameters=[
            {"name": "s", "value": {"stringValue": "text"}},
            {"name": "l", "value": {"longValue": 41}},
            {"name": "d", "value": {"doubleValue": 1.25}},
            {"name": "b", "value": {"booleanValue": False}},
            {"name": "blob", "value": {"blobValue": b"\x00\x01"}},
            {"name": "z", "value": {"isNull": True}},
        ],
    )["records"][0]
    assert [value(f) for f in record] == [
        ("stringValue", "text"),
        ("longValue", 42),
        ("doubleValue", 2.5),
        ("booleanValue", True),
        ("blobValue", b"\x00\x01"),
        ("booleanValue", True),
        ("stringValue", ":s"),
        ("stringValue", "41"),
    ]


def test_string_parameters_need_type_hints_for_typed_columns(db: Aurora) -> None:
    """API Reference, "SqlParameter" (typeHint): a stringValue is sent as a string (varchar), so a uuid column
    refuses it; with typeHint UUID, TIMESTAMP, DATE, TIME, DECIMAL or JSON it is sent as that type."""
    db.call("CREATE TABLE IF NOT EXISTS hinted (u uuid, ts timestamp, d date, t time, n numeric(8,3), j jsonb)")
    untyped = [{"name": "u", "value": {"stringValue": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}}]
    code, message, status = db.error("INSERT INTO hinted (u) VALUES (:u)", parameters=untyped)
    assert (code, status) == ("DatabaseErrorException", 400)
    assert 'column "u" is of type uuid but expression is of type character varying' in message
    assert message.endswith("SQLState: 42804")

    def hinted(name: str, text: str, hint: str) -> dict[str, Any]:
        return {"name": name, "value": {"stringValue": text}, "typeHint": hint}

    db.call(
        "INSERT INTO hinted VALUES (:u, :ts, :d, :t, :n, :j)",
        parameters=[
            hinted("u", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "UUID"),
            hinted("ts", "2026-12-05 10:11:12.345", "TIMESTAMP"),
            hinted("d", "2026-12-05", "DATE"),
            hinted("t", "10:11:12", "TIME"),
            hinted("n", "12.345", "DECIMAL"),
            hinted("j", '{"a": 1}', "JSON"),
        ],
    )
    record = db.call("SELECT u, ts, d, t, n, j FROM hinted")["records"][0]
    assert [value(f)[1] for f in record] == [
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "2026-12-05 10:11:12.345",
        "2026-12-05",
        "10:11:12",
        "12.345",
        '{"a": 1}',
    ]


def test_array_parameters_are_refused(db: Aurora) -> None:
    """API Reference, ExecuteStatement (parameters): "Array parameters are not supported"."""
    code, message, _ = db.error(
        "SELECT :a", parameters=[{"name": "a", "value": {"arrayValue": {"longValues": [1, 2]}}}]
    )
    assert (code, message) == ("BadRequestException", "Array parameters are not supported.")


# --- errors ----------------------------------------------------------------------------------------------------------


def test_sql_error_is_database_error_with_postgres_message_and_sqlstate(db: Aurora) -> None:
    """Aurora UG, "Troubleshooting Amazon RDS Data API" and API Reference, ExecuteStatement (DatabaseErrorException:
    "There was an error in processing the SQL statement"); the message is PostgreSQL's, with its SQLState."""
    assert db.error("SELECT * FROM no_such_table") == (
        "DatabaseErrorException",
        'ERROR: relation "no_such_table" does not exist; SQLState: 42P01',
        400,
    )


def test_one_statement_per_call(db: Aurora) -> None:
    """Aurora UG, "Troubleshooting Amazon RDS Data API" ("Multi-statements aren't supported")."""
    code, message, _ = db.error("SELECT 1; SELECT 2")
    assert code == "DatabaseErrorException" and "cannot insert multiple commands" in message


def test_result_over_one_mib_is_refused(db: Aurora) -> None:
    """Aurora UG, "Troubleshooting Amazon RDS Data API" (the 1 MiB limit on the result set) and API Reference,
    UnsupportedResultException ("The size was too large"); just under the limit passes."""
    assert len(db.call("SELECT repeat('x', 1000000) AS big")["records"][0][0]["stringValue"]) == 1000000
    code, message, status = db.error("SELECT repeat('x', 600000) FROM generate_series(1, 2)")
    assert (code, status) == ("UnsupportedResultException", 400)
    assert "exceeds the size limit" in message


def test_unsupported_result_types_are_refused(db: Aurora) -> None:
    """API Reference, UnsupportedResultException: an unsupported data type (interval) or a multidimensional array."""
    assert db.error("SELECT interval '1 day'")[0] == "UnsupportedResultException"
    code, message, _ = db.error("SELECT ARRAY[[1, 2], [3, 4]]")
    assert (code, message) == ("UnsupportedResultException", "The result contains a multidimensional array")


def test_schema_parameter_is_refused(db: Aurora) -> None:
    """API Reference, ExecuteStatement (schema: "Currently, the schema parameter isn't supported") and Aurora UG,
    "Troubleshooting Amazon RDS Data API" ("Schema parameter isn't supported")."""
    assert db.error("SELECT 1", schema="public")[0] == "BadRequestException"


def test_database_parameter_names_the_cluster_database(db: Aurora, aws: Callable[[str], Any]) -> None:
    """API Reference, ExecuteStatement (database): the cluster's database; another name fails as PostgreSQL does.
    Without it, PostgreSQL's default (a database named like the user) applies, as AWS users report."""
    assert db.call("SELECT current_user")["records"] == [[{"stringValue": "app_admin"}]]
    assert db.error("SELECT 1", database="nope")[1] == 'FATAL: database "nope" does not exist; SQLState: 3D000'
    assert db.error("SELECT 1", database="")[1] == 'FATAL: database "app_admin" does not exist; SQLState: 3D000'


def test_each_cluster_has_its_own_database_owned_by_the_master_user(db: Aurora, aws: Callable[[str], Any]) -> None:
    """Aurora UG, "Using the RDS Data API" (the secret holds the database user's credentials): the secret's user is a
    real role, owner of the cluster's database; another cluster's tables are not visible."""
    owner = db.call("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
    assert owner["records"] == [[{"stringValue": "app_admin"}]]
    db.call("CREATE TABLE IF NOT EXISTS only_here (id int)")
    other = make_cluster(aws, user="other_admin")
    assert other.error("SELECT * FROM only_here")[1].startswith('ERROR: relation "only_here" does not exist')


# --- the cluster and the secret -------------------------------------------------------------------------------------


def test_wrong_or_missing_secret_fails_as_on_aws(db: Aurora, aws: Callable[[str], Any]) -> None:
    """API Reference, ExecuteStatement errors: a secret that cannot be read is SecretsErrorException, one without
    credentials InvalidSecretException; wrong credentials fail PostgreSQL's authentication (DatabaseErrorException)."""
    wrong = aws("secretsmanager").create_secret(
        Name=f"wrong-{uuid.uuid4().hex[:6]}",
        SecretString=json.dumps({"username": "app_admin", "password": "nope-nope"}),
    )["ARN"]
    shapeless = aws("secretsmanager").create_secret(Name=f"plain-{uuid.uuid4().hex[:6]}", SecretString="just text")[
        "ARN"
    ]
    missing = wrong.replace("wrong-", "missing-")

    def error(secret: str) -> tuple[str, str]:
        with pytest.raises(ClientError) as caught:
            db.client.execute_statement(resourceArn=db.cluster_arn, secretArn=secret, sql="SELECT 1", database="app")
        return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]

    assert error(wrong) == (
        "DatabaseErrorException",
        'FATAL: password authentication failed for user "app_admin"; SQLState: 28P01',
    )
    assert error(shapeless)[0] == "InvalidSecretException"
    assert error(missing)[0] == "SecretsErrorException"


def test_cluster_must_exist_have_the_data_api_and_an_instance(aws: Callable[[str], Any]) -> None:
    """Aurora UG, "Troubleshooting Amazon RDS Data API" ("HttpEndpoint isn't enabled for cluster", also for an ARN
    that names no cluster) and API Reference, DatabaseNotFoundException ("The DB cluster doesn't have a DB
    instance")."""
    disabled = make_cluster(aws, http=False)
    code, message, _ = disabled.error("SELECT 1")
    assert code == "HttpEndpointNotEnabledException" and message.startswith("HttpEndpoint is not enabled for cluster")
    unknown = Aurora(disabled.client, disabled.cluster_arn.replace("data-", "nothing-"), disabled.secret_arn, "app")
    assert unknown.error("SELECT 1")[0] == "HttpEndpointNotEnabledException"
    bare = make_cluster(aws, instance=False)
    assert bare.error("SELECT 1")[:1] == ("DatabaseNotFoundException",)
    assert aws("rds").describe_db_clusters(DBClusterIdentifier=bare.cluster_arn.rsplit(":", 1)[1])["DBClusters"][0][
        "HttpEndpointEnabled"
    ]


# --- batches and transactions ---------------------------------------------------------------------------------------


def test_batch_execute_runs_once_per_parameter_set(db: Aurora, table: str) -> None:
    """API Reference, BatchExecuteStatement: the statement runs once per parameter set, updateResults has one entry
    each; with no parameter sets nothing runs."""
    sets = [[{"name": "n", "value": {"stringValue": name}}] for name in ("a", "b", "c")]
    batch = db.client.batch_execute_statement(
        resourceArn=db.cluster_arn, secretArn=db.secret_arn, database="app",
        sql=f"INSERT INTO {table} (name) VALUES (:n)", parameterSets=sets,
    )  # fmt: skip
    assert batch["updateResults"] == [{"generatedFields": []}] * 3
    empty = db.client.batch_execute_statement(
        resourceArn=db.cluster_arn,
        secretArn=db.secret_arn,
        database="app",
        sql=f"INSERT INTO {table} (name) VALUES ('z')",
    )
    assert empty["updateResults"] == []
    assert db.call(f"SELECT name FROM {table} ORDER BY id")["records"] == [[{"stringValue": n}] for n in "abc"]


def test_commit_keeps_and_rollback_discards_and_the_id_ends(db: Aurora, table: str) -> None:
    """API Reference, BeginTransaction, CommitTransaction ("Transaction Committed") and RollbackTransaction
    ("Rollback Complete"); Aurora UG troubleshooting: an ended transaction's id is not found."""
    kept = db.begin()
    db.call(f"INSERT INTO {table} (name) VALUES ('kept')", transactionId=kept)
    assert db.call(f"SELECT count(*) FROM {table}")["records"] == [[{"longValue": 0}]]  # not visible outside yet
    assert db.end(kept)["transactionStatus"] == "Transaction Committed"
    dropped = db.begin()
    db.call(f"INSERT INTO {table} (name) VALUES ('dropped')", transactionId=dropped)
    assert db.end(dropped, commit=False)["transactionStatus"] == "Rollback Complete"
    assert db.call(f"SELECT name FROM {table}")["records"] == [[{"stringValue": "kept"}]]
    code, message, status = db.error("SELECT 1", transactionId=kept)
    assert (code, status) == ("TransactionNotFoundException", 404) and message == f"Transaction {kept} is not found"


def test_an_error_in_a_transaction_rolls_it_back_and_ends_it(db: Aurora, table: str) -> None:
    """Aurora UG, "Troubleshooting Amazon RDS Data API": "Transaction has been aborted due to an error from a previous
    call"; the transaction's earlier changes are rolled back and its id is no longer found."""
    transaction = db.begin()
    db.call(f"INSERT INTO {table} (name) VALUES ('first')", transactionId=transaction)
    assert (
        db.error(f"INSERT INTO {table} (name) VALUES (NULL)", transactionId=transaction)[0] == "DatabaseErrorException"
    )
    assert db.error("SELECT 1", transactionId=transaction)[0] == "TransactionNotFoundException"
    assert db.call(f"SELECT count(*) FROM {table}")["records"] == [[{"longValue": 0}]]


def test_idle_transaction_times_out_and_is_rolled_back(
    db: Aurora, table: str, cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """API Reference, BeginTransaction: "A transaction times out if no calls use its transaction ID in three
    minutes ... it's rolled back automatically" (3 minutes shortened to 0.3 s here); a call within the period keeps
    it alive."""
    monkeypatch.setattr(cloud.rds.data_api, "transaction_idle_timeout_s", 0.3)
    transaction = db.begin()
    for name in ("a", "b"):
        time.sleep(0.2)  # each call within the idle period
        db.call(f"INSERT INTO {table} (name) VALUES ('{name}')", transactionId=transaction)
    time.sleep(0.45)
    assert db.error("SELECT 1", transactionId=transaction)[0] == "TransactionNotFoundException"
    assert db.call(f"SELECT count(*) FROM {table}")["records"] == [[{"longValue": 0}]]


def test_a_transaction_runs_one_call_at_a_time(db: Aurora) -> None:
    """Aurora UG, "Troubleshooting Amazon RDS Data API" ("DatabaseErrorException: Transaction is still running a
    query"): a second call on a busy transaction is refused at once."""
    transaction = db.begin()
    slow = threading.Thread(target=lambda: db.call("SELECT pg_sleep(0.6)", transactionId=transaction))
    slow.start()
    time.sleep(0.2)
    assert db.error("SELECT 1", transactionId=transaction)[:2] == (
        "DatabaseErrorException",
        "Transaction is still running a query",
    )
    slow.join()
    assert db.end(transaction)["transactionStatus"] == "Transaction Committed"


def test_statement_timeout_and_continue_after_timeout(
    db: Aurora, table: str, cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Aurora UG, "Controlling Data API timeout behavior": a call stops after 45 s (0.4 s here) with a timeout error
    and the statement is cancelled; with continueAfterTimeout the call still times out but the statement finishes."""
    monkeypatch.setattr(cloud.rds.data_api, "call_timeout_s", 0.4)
    code, _, _ = db.error(f"INSERT INTO {table} (name) SELECT 'cancelled' FROM pg_sleep(1)")
    assert code == "StatementTimeoutException"
    code, _, _ = db.error(f"INSERT INTO {table} (name) SELECT 'finished' FROM pg_sleep(0.8)", continueAfterTimeout=True)
    assert code == "StatementTimeoutException"
    deadline = time.monotonic() + 5
    while db.call(f"SELECT name FROM {table}")["records"] != [[{"stringValue": "finished"}]]:
        assert time.monotonic() < deadline, "the statement run with continueAfterTimeout never finished"
        time.sleep(0.1)


# --- CloudFormation -------------------------------------------------------------------------------------------------


def test_cdk_aurora_serverless_v2_template_deploys_and_serves_the_data_api(
    aws: Callable[[str], Any], cloud: LocalCloud
) -> None:
    """CFN UG, AWS::RDS::DBCluster, ::DBInstance, ::DBSubnetGroup, AWS::SecretsManager::SecretTargetAttachment (Ref is
    the secret ARN; the secret gains engine, host, port, dbClusterIdentifier) and dynamic references
    ({{resolve:secretsmanager:...}}): the shape CDK's rds.DatabaseCluster synthesises deploys, and the Data API runs
    with the stack's outputs; deleting the stack drops the cluster's database."""
    template = (FIXTURES / "aurora_serverless_v2.json").read_text()
    stack = f"aurora-{uuid.uuid4().hex[:6]}"
    cfn = aws("cloudformation")
    cfn.create_stack(StackName=stack, TemplateBody=template)
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    secret = json.loads(aws("secretsmanager").get_secret_value(SecretId=outputs["SecretArn"])["SecretString"])
    identifier = outputs["ClusterArn"].rsplit(":", 1)[1]
    assert secret["username"] == "marquee_admin" and len(secret["password"]) == 30
    assert (secret["engine"], secret["port"], secret["dbClusterIdentifier"]) == ("postgres", 5432, identifier)
    cluster = aws("rds").describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]
    assert cluster["HttpEndpointEnabled"] and cluster["ServerlessV2ScalingConfiguration"] == {
        "MinCapacity": 0.5,
        "MaxCapacity": 2,
    }
    assert [m["IsClusterWriter"] for m in cluster["DBClusterMembers"]] == [True]
    deployed = Aurora(aws("rds-data"), outputs["ClusterArn"], outputs["SecretArn"], "marquee")
    assert deployed.call("SELECT current_user, current_database() <> ''")["records"] == [
        [{"stringValue": "marquee_admin"}, {"booleanValue": True}]
    ]
    databases = {d["cluster"] for d in cloud.rds.status()["postgres"]["databases"]}
    assert identifier in databases
    cfn.delete_stack(StackName=stack)
    assert identifier not in {d["cluster"] for d in cloud.rds.status()["postgres"]["databases"]}
    assert deployed.error("SELECT 1")[0] == "HttpEndpointNotEnabledException"


def test_engine_status_is_reported_at_engines(endpoint: str, db: Aurora) -> None:
    """Local mechanism (no AWS counterpart): GET /_localcloud/engines shows the engine's state, version, where it runs
    and the clusters' databases."""
    import requests

    engines = requests.get(f"{endpoint}/_localcloud/engines", timeout=5).json()["postgres"]
    assert engines["state"] == "running" and engines["engine"] == "postgresql"
    assert engines["version"] and engines["where"] and engines["kind"] in ("embedded", "external")
    identifier = db.cluster_arn.rsplit(":", 1)[1]
    assert identifier in {d["cluster"] for d in engines["databases"]}


def test_blob_parameter_round_trips_bytes(db: Aurora) -> None:
    """API Reference, "Field" (blobValue): bytes in, the same bytes out."""
    payload = bytes(range(256))
    record = db.call("SELECT :b AS b", parameters=[{"name": "b", "value": {"blobValue": payload}}])["records"][0]
    assert record == [{"blobValue": payload}]


def test_two_clusters_with_one_master_username_keep_their_own_passwords(endpoint: str) -> None:
    """The same stack in two regions of one cloud: two clusters, one master username, two generated passwords. On AWS
    each cluster is its own server; here they share one engine and so one role, and the second cluster's password
    must not lock the first cluster's clients out (it did: the drill's primary region failed its health for good)."""
    from localcloud.aws import local_client
    from tests.aurora import new_cluster

    arns = {}
    for region, password in (("us-east-1", "first-Password-1"), ("eu-west-1", "second-Password-2")):
        arn, secret = new_cluster(endpoint, password=password, username="twin_admin", prefix="twin", region=region)
        arns[region] = (arn, secret)
    for region, (arn, secret) in arns.items():
        data = local_client("rds-data", endpoint, region=region)
        answer = data.execute_statement(resourceArn=arn, secretArn=secret, sql="SELECT current_user", database="app")
        assert answer["records"] == [[{"stringValue": "twin_admin"}]], region
    first_arn, _ = arns["us-east-1"]
    _, second_secret = arns["eu-west-1"]
    with pytest.raises(ClientError) as refused:  # one cluster's password is not the other's
        local_client("rds-data", endpoint, region="us-east-1").execute_statement(
            resourceArn=first_arn, secretArn=second_secret, sql="SELECT 1", database="app"
        )
    assert refused.value.response["Error"]["Code"] == "DatabaseErrorException"
