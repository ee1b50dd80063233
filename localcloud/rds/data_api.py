"""The RDS Data API (``rds-data``), served by the local cloud on the cluster's real PostgreSQL database.

moto 5.2.5 has an ``rdsdata`` backend that answers ExecuteStatement with canned results set through its own API. The
local cloud answers the five operations itself (REST-JSON: ``POST /Execute``, ``/BatchExecute``,
``/BeginTransaction``, ``/CommitTransaction``, ``/RollbackTransaction``, signed for the ``rds-data`` service) and runs
the SQL on the cluster's database (``clusters.py``), as the secret's user.

What it checks, in AWS's order and with AWS's error codes (botocore's ``rds-data`` model):
- the cluster: ``resourceArn`` must name an existing cluster with the Data API enabled
  (HttpEndpointNotEnabledException) that has a DB instance (DatabaseNotFoundException);
- the secret: it must exist (SecretsErrorException), be JSON with ``username`` and ``password``
  (InvalidSecretException), and log in to the cluster (DatabaseErrorException, PostgreSQL's own message);
- ``database``: the cluster's DatabaseName (or ``postgres``); omitted, PostgreSQL's default applies (a database named
  like the user), as on AWS; ``schema`` is refused (AWS: "the schema parameter isn't supported");
- SQL errors are DatabaseErrorException ``ERROR: <message>; SQLState: <code>`` (Serverless v2 and provisioned
  clusters; BadRequestException was Serverless v1's, and botocore marks it deprecated);
- a result of more than 1 MiB is UnsupportedResultException; a statement still running after 45 s is
  StatementTimeoutException (cancelled, unless ``continueAfterTimeout``: then it runs on and the call still fails);
- transactions: an id is valid until COMMIT or ROLLBACK, 3 minutes without a call using it, 24 hours in all, or an
  error in one of its statements (it is then rolled back); afterwards TransactionNotFoundException (404). A call on a
  transaction that is already running one is refused (DatabaseErrorException "Transaction is still running a query").
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from localcloud.rds import values
from localcloud.rds.values import DataApiError, bad_request

log = logging.getLogger("localcloud.rds")

PATHS = {  # the same five as localcloud.rds.DATA_API_PATHS
    "/Execute": "ExecuteStatement",
    "/BatchExecute": "BatchExecuteStatement",
    "/BeginTransaction": "BeginTransaction",
    "/CommitTransaction": "CommitTransaction",
    "/RollbackTransaction": "RollbackTransaction",
}
CLUSTER_ARN = re.compile(
    r"^arn:aws[a-z-]*:rds:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):cluster:(?P<id>[A-Za-z0-9-]+)$"
)
SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):secret:")
RESPONSE_LIMIT = 1024 * 1024  # "Database returned more than 1 MiB": the Data API's result limit
DEFAULT_ACCOUNT = "123456789012"

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


@dataclass
class Transaction:
    id: str
    cluster: tuple[str, str, str]
    secret_arn: str
    conn: Any
    pool: Any
    started: float
    last_used: float
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Target:
    """What a call runs against: the cluster's database and the secret's role."""

    key: tuple[str, str, str]
    database: Any
    user: str
    password: str


class DataApi:
    """The WSGI handler of the five Data API operations for one local cloud."""

    def __init__(self, registry: Callable[[], Any]) -> None:
        self._registry = registry  # -> clusters.ClusterRegistry, created with the engine
        self.call_timeout_s = 45.0  # AWS: a call that has not finished in 45 s returns a timeout error
        self.transaction_idle_timeout_s = 180.0  # AWS: no call using its id within 3 minutes
        self.transaction_max_age_s = 24 * 3600.0  # AWS: rolled back automatically after 24 hours
        self._transactions: dict[str, Transaction] = {}
        self._lock = threading.Lock()
        self._sweeper: threading.Thread | None = None
        self._stopping = threading.Event()
        self._element_oids: dict[int, int] | None = None
        self._column_cache: dict[tuple[str, int, int], values.ColumnInfo] = {}

    # --- WSGI -----------------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        operation = PATHS[environ.get("PATH_INFO", "")]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b"{}"
            try:
                request = json.loads(raw or b"{}")
            except ValueError as exc:
                raise bad_request("The request body is not valid JSON") from exc
            handler = getattr(self, _snake(operation))
            body = handler(request)
        except DataApiError as exc:
            return _respond(start_response, exc.status, {"message": exc.message}, exc.code)
        except Exception as exc:  # noqa: BLE001 - the API answers InternalServerErrorException, never an HTML 500
            log.exception("%s failed inside the local cloud", operation)
            return _respond(
                start_response, 500, {"message": f"{type(exc).__name__}: {exc}"}, "InternalServerErrorException"
            )
        return _respond(start_response, 200, body)

    # --- operations -----------------------------------------------------------------------------------------------

    def execute_statement(self, request: dict[str, Any]) -> dict[str, Any]:
        target = self._target(request)
        statement = values.translate(_required(request, "sql"), request.get("parameters"))
        options = values.ResultOptions(
            decimal_as_number=(request.get("resultSetOptions") or {}).get("decimalReturnType") == "DOUBLE_OR_LONG",
            long_as_string=(request.get("resultSetOptions") or {}).get("longReturnType") == "STRING",
        )

        def run(conn: Any) -> dict[str, Any]:
            with conn.cursor() as cursor:
                _execute(cursor, statement)
                return self._result(conn, cursor, request, options)

        return self._run(target, request, run, continue_after_timeout=bool(request.get("continueAfterTimeout")))

    def batch_execute_statement(self, request: dict[str, Any]) -> dict[str, Any]:
        target = self._target(request)
        sql = _required(request, "sql")
        statements = [values.translate(sql, parameters) for parameters in request.get("parameterSets") or []]

        def run(conn: Any) -> dict[str, Any]:
            results: list[dict[str, Any]] = []
            with conn.cursor() as cursor:
                for statement in statements:
                    _execute(cursor, statement)
                    results.append({"generatedFields": []})
            return {"updateResults": results}

        return self._run(target, request, run, atomic=True)

    def begin_transaction(self, request: dict[str, Any]) -> dict[str, Any]:
        target = self._target(request)
        pool = self._registry().pool(target.database, target.user, target.password)
        conn = self._connect(pool)
        try:
            conn.execute("BEGIN")
        except Exception as exc:
            pool.put(conn)
            raise _database_error(exc) from exc
        now = time.monotonic()
        transaction_id = base64.b64encode(os.urandom(96)).decode()
        with self._lock:
            self._transactions[transaction_id] = Transaction(
                transaction_id, target.key, str(request["secretArn"]), conn, pool, now, now
            )
        self._start_sweeper()
        return {"transactionId": transaction_id}

    def commit_transaction(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._end(request, "COMMIT", "Transaction Committed")

    def rollback_transaction(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._end(request, "ROLLBACK", "Rollback Complete")

    # --- the cluster, the secret, the database ---------------------------------------------------------------------

    def _target(self, request: dict[str, Any], *, check_database: bool = True) -> Target:
        from moto.rds.models import rds_backends

        from localcloud.rds.clusters import ClusterNotProvisioned

        resource_arn = _required(request, "resourceArn")
        secret_arn = _required(request, "secretArn")
        match = CLUSTER_ARN.match(resource_arn)
        identifier = match["id"].lower() if match else resource_arn
        if match is None:
            raise DataApiError(
                "HttpEndpointNotEnabledException", f"HttpEndpoint is not enabled for cluster {identifier}"
            )
        account, region = match["account"], match["region"]
        cluster = rds_backends[account][region].clusters.get(identifier)
        if cluster is None or not cluster.enable_http_endpoint:
            raise DataApiError(
                "HttpEndpointNotEnabledException", f"HttpEndpoint is not enabled for cluster {identifier}"
            )
        if not cluster.members:
            raise DataApiError("DatabaseNotFoundException", f"DB cluster {identifier} doesn't have a DB instance", 404)
        if request.get("schema"):
            raise bad_request("The schema parameter isn't supported")
        registry = self._registry()
        try:
            database = registry.get(account, region, identifier)
        except ClusterNotProvisioned as exc:
            raise bad_request(
                f"The local cloud serves the Data API for aurora-postgresql clusters only; {identifier} is "
                f"{cluster.engine}"
            ) from exc
        user, password = self._credentials(secret_arn, account, region)
        if not registry.check_password(user, password, database):
            raise _error_with_state("FATAL", f'password authentication failed for user "{user}"', "28P01")
        name = request.get("database") or user  # PostgreSQL's default database is the user's name
        if check_database and not request.get("transactionId") and name not in database.logical_names():
            raise _error_with_state("FATAL", f'database "{name}" does not exist', "3D000")
        return Target((account, region, identifier), database, user, password)

    @staticmethod
    def _credentials(secret_arn: str, account: str, region: str) -> tuple[str, str]:
        from moto.secretsmanager.exceptions import SecretsManagerClientError
        from moto.secretsmanager.models import secretsmanager_backends

        match = SECRET_ARN.match(secret_arn)
        if match:
            account, region = match["account"], match["region"]
        try:
            secret = secretsmanager_backends[account][region].get_secret_value(secret_arn, None, None)  # type: ignore[arg-type]
        except SecretsManagerClientError as exc:
            raise DataApiError("SecretsErrorException", f"Error retrieving secret {secret_arn}: {exc.message}") from exc
        try:
            document = json.loads(secret.get("SecretString") or "")
            return str(document["username"]), str(document["password"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DataApiError(
                "InvalidSecretException",
                'The secret is not valid: it must be a JSON object with "username" and "password"',
            ) from exc

    # --- running ----------------------------------------------------------------------------------------------------

    def _run(
        self,
        target: Target,
        request: dict[str, Any],
        work: Callable[[Any], dict[str, Any]],
        *,
        atomic: bool = False,
        continue_after_timeout: bool = False,
    ) -> dict[str, Any]:
        transaction_id = request.get("transactionId")
        if transaction_id:
            transaction = self._transaction(str(transaction_id), target)
            if not transaction.lock.acquire(blocking=False):
                raise DataApiError("DatabaseErrorException", "Transaction is still running a query")
            try:
                return work(transaction.conn)
            except Exception as exc:
                # AWS: "Transaction has been aborted due to an error from a previous call"; the id is gone.
                self._discard(transaction, "ROLLBACK")
                raise _translate(exc) from exc
            finally:
                transaction.last_used = time.monotonic()
                transaction.lock.release()
        pool = self._registry().pool(target.database, target.user, target.password)
        conn = self._connect(pool)
        if continue_after_timeout:
            return self._run_continuing(pool, conn, work, atomic)
        try:
            if atomic:
                with conn.transaction():
                    return work(conn)
            return work(conn)
        except Exception as exc:
            raise _translate(exc) from exc
        finally:
            pool.put(conn)

    def _run_continuing(
        self, pool: Any, conn: Any, work: Callable[[Any], dict[str, Any]], atomic: bool
    ) -> dict[str, Any]:
        """continueAfterTimeout: no statement timeout; after 45 s the call fails but the statement runs on."""
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def background() -> None:
            try:
                conn.execute("SET statement_timeout = 0")
                if atomic:
                    with conn.transaction():
                        outcome["result"] = work(conn)
                else:
                    outcome["result"] = work(conn)
            except Exception as exc:  # noqa: BLE001 - handed back to the caller, or logged once the call has gone
                outcome["error"] = exc
                if not done.is_set():
                    log.info("a statement run with continueAfterTimeout failed after its call ended: %s", exc)
            finally:
                try:
                    conn.execute("RESET statement_timeout")
                except Exception:  # noqa: BLE001, S110 - the connection is closed below if it is broken
                    pass
                pool.put(conn)
                done.set()

        threading.Thread(target=background, name="rds-data-continue", daemon=True).start()
        if not done.wait(self.call_timeout_s):
            raise DataApiError("StatementTimeoutException", "Request timed out")
        if "error" in outcome:
            raise _translate(outcome["error"]) from outcome["error"]
        return dict(outcome["result"])

    def _connect(self, pool: Any) -> Any:
        try:
            conn = pool.get()
        except Exception as exc:
            raise _database_error(exc) from exc
        if getattr(conn, "_localcloud_timeout", None) != self.call_timeout_s:
            conn.execute(f"SET statement_timeout = {int(self.call_timeout_s * 1000)}")
            conn._localcloud_timeout = self.call_timeout_s
        return conn

    def _result(self, conn: Any, cursor: Any, request: dict[str, Any], options: values.ResultOptions) -> dict[str, Any]:
        description = cursor.description
        if description is None:
            return {"numberOfRecordsUpdated": max(cursor.rowcount, 0), "generatedFields": []}
        rows = cursor.fetchall()
        elements = self._element_oid_map()
        oids = [(column.type_code, elements.get(column.type_code)) for column in description]
        if request.get("formatRecordsAs") == "JSON":
            objects = [
                {
                    column.name: values.json_value(v, oid, el, options)
                    for column, v, (oid, el) in zip(description, row, oids, strict=True)
                }
                for row in rows
            ]
            _check_size(objects)
            return {"formattedRecords": json.dumps(objects, separators=(",", ":")), "numberOfRecordsUpdated": 0}
        records = [
            [values.field_value(v, oid, el, options) for v, (oid, el) in zip(row, oids, strict=True)] for row in rows
        ]
        _check_size(records)
        response: dict[str, Any] = {"records": records, "numberOfRecordsUpdated": 0}
        if request.get("includeResultMetadata"):
            response["columnMetadata"] = self._column_metadata(conn, cursor, oids)
        return response

    def _column_metadata(self, conn: Any, cursor: Any, oids: list[tuple[int, int | None]]) -> list[dict[str, Any]]:
        result = cursor.pgresult
        wanted = [(result.ftable(i), result.ftablecol(i), oid) for i, (oid, _) in enumerate(oids)]
        unknown = [w for w in wanted if (conn.info.dbname, w[0], w[1]) not in self._column_cache or w[0] == 0]
        # This connection loads every value as text (values.adapters), so the catalog answers are parsed here.
        type_rows = conn.execute("SELECT oid, typname FROM pg_type WHERE oid = ANY(%s)", [[o for o, _ in oids]])
        names = {int(oid): str(name) for oid, name in type_rows.fetchall()}
        for table, column, _oid in unknown:
            if table == 0:
                continue
            row = conn.execute(
                "SELECT c.relname, a.attnotnull, a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid) "
                "LIKE 'nextval(%%', false) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                "WHERE a.attrelid = %s AND a.attnum = %s",
                [table, column],
            ).fetchone()
            if row:
                self._column_cache[(conn.info.dbname, table, column)] = values.ColumnInfo(
                    table=str(row[0]), not_null=row[1] == "t", auto_increment=row[2] == "t"
                )
        metadata = []
        for col, (table, column, oid), (_, element) in zip(cursor.description, wanted, oids, strict=True):
            cached = self._column_cache.get((conn.info.dbname, table, column)) if table else None
            info = values.ColumnInfo(
                type_name=("_" + names.get(element, "unknown")) if element else names.get(oid, "unknown"),
                table=cached.table if cached else "",
                not_null=cached.not_null if cached else False,
                auto_increment=cached.auto_increment if cached else False,
            )
            if element and oid in names:
                info.type_name = names[oid]
            metadata.append(values.column_metadata(col, element, info))
        return metadata

    def _element_oid_map(self) -> dict[int, int]:
        if self._element_oids is None:
            self._element_oids = values.element_oids()
        return self._element_oids

    # --- transactions ---------------------------------------------------------------------------------------------

    def _transaction(self, transaction_id: str, target: Target) -> Transaction:
        now = time.monotonic()
        with self._lock:
            transaction = self._transactions.get(transaction_id)
        if transaction is None or transaction.cluster != target.key:
            raise _not_found(transaction_id)
        if self._expired(transaction, now):
            self._discard(transaction, "ROLLBACK")
            raise _not_found(transaction_id)
        return transaction

    def _expired(self, transaction: Transaction, now: float) -> bool:
        if transaction.lock.locked():
            return False  # a statement is running: the 3 minutes count from the last call
        return (
            now - transaction.last_used > self.transaction_idle_timeout_s
            or now - transaction.started > self.transaction_max_age_s
        )

    def _end(self, request: dict[str, Any], command: str, status: str) -> dict[str, Any]:
        target = self._target(request, check_database=False)
        transaction = self._transaction(_required(request, "transactionId"), target)
        if not transaction.lock.acquire(blocking=False):
            raise DataApiError("DatabaseErrorException", "Transaction is still running a query")
        try:
            self._discard(transaction, command, raise_errors=True)
        finally:
            transaction.lock.release()
        return {"transactionStatus": status}

    def _discard(self, transaction: Transaction, command: str, *, raise_errors: bool = False) -> None:
        with self._lock:
            if self._transactions.pop(transaction.id, None) is None:
                return
        try:
            transaction.conn.execute(command)
        except Exception as exc:
            transaction.conn.close()
            if raise_errors:
                raise _translate(exc) from exc
            return
        finally:
            transaction.pool.put(transaction.conn)

    def _start_sweeper(self) -> None:
        with self._lock:
            if self._sweeper is not None and self._sweeper.is_alive():
                return
            self._sweeper = threading.Thread(target=self._sweep_forever, name="rds-data-transactions", daemon=True)
            self._sweeper.start()

    def _sweep_forever(self) -> None:
        while not self._stopping.wait(min(5.0, max(0.05, self.transaction_idle_timeout_s / 4))):
            self.sweep()

    def sweep(self) -> int:
        """Roll back the transactions that timed out; how many."""
        now = time.monotonic()
        with self._lock:
            expired = [t for t in self._transactions.values() if self._expired(t, now)]
        for transaction in expired:
            if transaction.lock.acquire(blocking=False):
                try:
                    self._discard(transaction, "ROLLBACK")
                finally:
                    transaction.lock.release()
        return len(expired)

    def open_transactions(self) -> int:
        return len(self._transactions)

    def stop(self) -> None:
        """Shutdown and reset: roll back every open transaction."""
        self._stopping.set()
        with self._lock:
            open_ones = list(self._transactions.values())
        for transaction in open_ones:
            self._discard(transaction, "ROLLBACK")
        self._stopping = threading.Event()
        self._sweeper = None
        self._column_cache.clear()


# --- helpers -------------------------------------------------------------------------------------------------------


def _execute(cursor: Any, statement: values.Statement) -> None:
    if statement.statements > 1:
        raise _error_with_state("ERROR", "cannot insert multiple commands into a prepared statement", "42601")
    cursor.execute(statement.sql, statement.values or None, prepare=False)


def _check_size(records: Any) -> None:
    if values.records_size(records) > RESPONSE_LIMIT:
        raise values.unsupported_result("The result exceeds the size limit 1 MB")


def _translate(exc: Exception) -> DataApiError:
    if isinstance(exc, DataApiError):
        return exc
    return _database_error(exc)


def _database_error(exc: Exception) -> DataApiError:
    """A PostgreSQL error as the Data API reports it: ``ERROR: <message>; SQLState: <code>``."""
    import psycopg

    if isinstance(exc, psycopg.errors.QueryCanceled) and "statement timeout" in str(exc):
        return DataApiError("StatementTimeoutException", "Request timed out")
    if isinstance(exc, psycopg.Error):
        diag = exc.diag
        severity = diag.severity_nonlocalized or diag.severity or "ERROR"
        message = diag.message_primary or str(exc).strip()
        if diag.sqlstate:
            return _error_with_state(severity, message, diag.sqlstate)
        return DataApiError("DatabaseErrorException", f"{severity}: {message}")
    raise exc


def _error_with_state(severity: str, message: str, sqlstate: str) -> DataApiError:
    return DataApiError("DatabaseErrorException", f"{severity}: {message}; SQLState: {sqlstate}")


def _not_found(transaction_id: str) -> DataApiError:
    return DataApiError("TransactionNotFoundException", f"Transaction {transaction_id} is not found", 404)


def _required(request: dict[str, Any], name: str) -> str:
    value = request.get(name)
    if not value:
        raise bad_request(f"{name} is required")
    return str(value)


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _respond(start_response: StartResponse, status: int, body: dict[str, Any], error: str | None = None) -> list[bytes]:
    reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}
    headers = [("Content-Type", "application/json")]
    if error:
        headers.append(("x-amzn-ErrorType", error))
    start_response(f"{status} {reasons.get(status, 'Error')}", headers)
    return [json.dumps(body).encode()]
