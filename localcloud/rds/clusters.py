"""Each Aurora PostgreSQL cluster in moto's RDS backend gets a real database and a real role on the engine.

moto stays the control plane: CreateDBCluster, DescribeDBClusters, ModifyDBCluster and DeleteDBCluster (and the
CloudFormation fill-in, which calls the same backend methods) are moto's. :func:`install` wraps three of them:
- ``create_db_cluster``: for ``aurora-postgresql``, start the engine if it is not running yet, then create the
  cluster's role (the master username, with the master password, or the managed secret's) and its database, owned by
  that role. The first cluster therefore pays the engine's start;
- ``modify_db_cluster``: a new ``MasterUserPassword`` becomes the role's password;
- ``delete_db_cluster``: drop the database, and the role once no other cluster of this cloud uses it.

Role names are the master usernames exactly (``current_user`` is what the secret says); PostgreSQL roles are global to
a server, so two clusters with the same master username share one role (the same stack deployed to two regions of one
cloud does that). Each cluster's own master password is what the Data API accepts for it (``check_password`` with the
cluster): a second cluster's password never locks the first one's clients out. The role's password on the server is
the last one set, and the Data API's pooled connections use it. Database
names are ``<prefix><cluster identifier>`` (the prefix is empty on the embedded server); the Data API maps the
``database`` parameter (the cluster's ``DatabaseName``, ``postgres``, or the physical name) onto it.

moto's own ``enable_http_endpoint`` only honours the flag for Serverless v1 engine versions; AWS supports the Data API
on Aurora PostgreSQL Serverless v2 and provisioned clusters, so the setter is corrected here too.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
import re
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.rds.engine import PostgresEngine

log = logging.getLogger("localcloud.rds")

POSTGRES_ENGINES = ("aurora-postgresql",)
DATA_API_ENGINES = ("aurora-postgresql", "aurora-mysql")
_MARK = "__localcloud_rds__"
PASSWORD_CHECK_TTL_S = 2.0


class ClusterNotProvisioned(RuntimeError):
    """The cluster has no database on the engine (not PostgreSQL, or its provisioning failed)."""


@dataclass
class ClusterDatabase:
    account: str
    region: str
    identifier: str
    physical_name: str
    database_name: str | None
    username: str
    master_password: str = ""  # this cluster's (its creation's, or its last ModifyDBCluster's)
    pools: dict[tuple[str, str], ConnectionPool] = field(default_factory=dict)

    def logical_names(self) -> set[str]:
        return {n for n in (self.database_name, "postgres", self.physical_name) if n}


class ConnectionPool:
    """Idle autocommit connections of one role to one database. A connection in any other state is closed."""

    def __init__(self, connect: Callable[[], Any], max_idle: int = 8) -> None:
        self._connect = connect
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self.max_idle = max_idle

    def get(self) -> Any:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed:
                    return conn
        return self._connect()

    def put(self, conn: Any) -> None:
        from psycopg.pq import TransactionStatus

        healthy = not conn.closed and conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE
        with self._lock:
            if healthy and len(self._idle) < self.max_idle:
                self._idle.append(conn)
                return
        conn.close()

    @contextmanager
    def connection(self) -> Iterator[Any]:
        conn = self.get()
        try:
            yield conn
        finally:
            self.put(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class ClusterRegistry:
    """The clusters of one local cloud and their databases on its engine."""

    def __init__(self, engine: PostgresEngine) -> None:
        self.engine = engine
        self._clusters: dict[tuple[str, str, str], ClusterDatabase] = {}
        self._lock = threading.RLock()
        self._password_checks: dict[tuple[str, str], float] = {}
        self._server_passwords: dict[str, str] = {}  # role -> the password last set on the server

    # --- provisioning ---------------------------------------------------------------------------------------------

    def provision(self, account: str, region: str, cluster: Any) -> ClusterDatabase:
        from psycopg import sql

        username = cluster.master_username
        password = master_password(cluster)
        physical = f"{self.engine.prefix}{cluster.db_cluster_identifier}"
        admin_user = self.engine.conninfo("postgres").get("user")
        if username == admin_user:
            raise ValueError(
                f"MasterUsername {username!r} is the local cloud engine's own admin user; choose another master username"
            )
        with self._lock, self.engine.admin_connect() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [username]).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(verb + " ROLE {} WITH LOGIN CREATEROLE PASSWORD {}").format(
                    sql.Identifier(username), sql.Literal(password)
                )
            )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(physical)))
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(physical), sql.Identifier(username))
            )
            self._server_passwords[username] = password
            database = ClusterDatabase(
                account, region, cluster.db_cluster_identifier, physical, cluster.database_name, username, password
            )
            self._clusters[(account, region, cluster.db_cluster_identifier)] = database
        with self.engine.admin_connect(physical) as conn:  # the owner's schema, as on Aurora (PostgreSQL 15+)
            conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(username)))
        return database

    def set_password(self, account: str, region: str, identifier: str, password: str) -> None:
        from psycopg import sql

        database = self.get(account, region, identifier)
        with self.engine.admin_connect() as conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(
                    sql.Identifier(database.username), sql.Literal(password)
                )
            )
        database.master_password = password
        self._server_passwords[database.username] = password
        self._password_checks.clear()

    def drop(self, account: str, region: str, identifier: str) -> None:
        from psycopg import sql

        with self._lock:
            database = self._clusters.pop((account, region, identifier), None)
            if database is None or self.engine.state != "running":
                return
            for pool in database.pools.values():
                pool.close()
            with self.engine.admin_connect() as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database.physical_name))
                )
                if not any(other.username == database.username for other in self._clusters.values()):
                    import psycopg

                    try:
                        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(database.username)))
                    except psycopg.errors.DependentObjectsStillExist:
                        # A shared server: the role also owns another cloud's objects, and stays theirs.
                        log.info("role %s still owns objects elsewhere on the server; kept", database.username)

    def drop_all(self) -> None:
        """reset: every cluster's database and role; the engine keeps running."""
        for account, region, identifier in list(self._clusters):
            self.drop(account, region, identifier)

    def close_pools(self) -> None:
        for database in list(self._clusters.values()):
            for pool in database.pools.values():
                pool.close()

    # --- lookups --------------------------------------------------------------------------------------------------

    def get(self, account: str, region: str, identifier: str) -> ClusterDatabase:
        database = self._clusters.get((account, region, identifier))
        if database is None:
            raise ClusterNotProvisioned(identifier)
        return database

    def databases(self) -> list[dict[str, Any]]:
        return [
            {
                "cluster": d.identifier,
                "region": d.region,
                "database": d.physical_name,
                "databaseName": d.database_name,
                "owner": d.username,
            }
            for d in self._clusters.values()
        ]

    def pool(self, database: ClusterDatabase, user: str, password: str) -> ConnectionPool:
        import psycopg

        if user == database.username:  # the shared master role: log in with what the server has
            password = self._server_passwords.get(user, password)
        key = (user, password)
        with self._lock:
            pool = database.pools.get(key)
            if pool is None:
                from localcloud.rds.values import adapters

                info = self.engine.conninfo(database.physical_name, user=user, password=password)
                info["options"] = "-c TimeZone=UTC"  # timestamptz comes back as the UTC wall clock, as on AWS
                pool = ConnectionPool(
                    lambda: psycopg.connect(**info, autocommit=True, prepare_threshold=None, context=adapters())
                )
                database.pools[key] = pool
            return pool

    def check_password(self, user: str, password: str, database: ClusterDatabase | None = None) -> bool:
        """Does ``password`` log ``user`` in? The cluster's master user: its cluster's master password does; so does,
        for any role, what the role's SCRAM (or md5) verifier in pg_authid accepts (a password set through SQL).

        The embedded server trusts local connections, and a test server may trust everything, so the check is made
        here rather than left to the server; a success is remembered for a moment, so rotation takes effect at once
        after that.
        """
        master = database is not None and user == database.username and bool(database.master_password)
        if master and hmac.compare_digest(password.encode(), database.master_password.encode()):  # type: ignore[union-attr]
            return True
        now = time.monotonic()
        if now - self._password_checks.get((user, password), -1e9) < PASSWORD_CHECK_TTL_S:
            return True
        with self.engine.admin_connect() as conn:
            try:
                row = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [user]).fetchone()
            except Exception:  # noqa: BLE001 - not a superuser on an external server: leave the check to the server
                log.warning("cannot read pg_authid on the PostgreSQL engine; passwords are checked by the server only")
                return True
        if row is None or row[0] is None or not verify_password(str(row[0]), user, password):
            return False
        known = self._server_passwords.get(user)
        if master and known is not None and verify_password(str(row[0]), user, known):
            return False  # the server has what a cluster was given, so nobody set it through SQL: another cluster's
        self._password_checks[(user, password)] = now
        return True


def verify_password(verifier: str, user: str, password: str) -> bool:
    """PostgreSQL's own check of a password against a stored SCRAM-SHA-256 or md5 verifier."""
    scram = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", verifier)
    if scram:
        iterations, salt, stored_key = int(scram[1]), base64.b64decode(scram[2]), base64.b64decode(scram[3])
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        return hmac.compare_digest(hashlib.sha256(client_key).digest(), stored_key)
    if verifier.startswith("md5"):
        digest = "md5" + hashlib.md5((password + user).encode(), usedforsecurity=False).hexdigest()
        return hmac.compare_digest(digest, verifier)
    return hmac.compare_digest(verifier, password)


def master_password(cluster: Any) -> str:
    """The password the cluster was created with, or its managed secret's."""
    if getattr(cluster, "manage_master_user_password", False) and hasattr(cluster, "master_user_secret"):
        secret = cluster.master_user_secret.secret
        return str(json.loads(secret.secret_string)["password"])
    password = getattr(cluster, "_master_user_password", None)
    if not password:
        raise ValueError("the cluster has no master password")
    return str(password)


def _generated_password(length: int = 30) -> str:
    alphabet = string.ascii_letters + string.digits + "-_.,="
    return "".join(secrets.choice(alphabet) for _ in range(length))


# --- moto hooks -------------------------------------------------------------------------------------------------------

_registry: ClusterRegistry | None = None


def current() -> ClusterRegistry | None:
    """The registry of the running local cloud (None when moto runs without one, as in a plain moto test)."""
    return _registry


def install(registry: ClusterRegistry) -> None:
    """Point the moto hooks at ``registry`` (the latest local cloud's) and patch moto's RDS, once.

    The local cloud calls this when moto's RDS package is first imported (``localcloud.patches.when_imported``):
    importing it costs about 30 ms, and most apps never use it.
    """
    global _registry
    _registry = registry
    from moto.rds.models import DBCluster, MasterUserSecret, RDSBackend

    if getattr(RDSBackend.create_db_cluster, _MARK, False):
        return
    RDSBackend.create_db_cluster = _after_create(RDSBackend.create_db_cluster)  # type: ignore[method-assign]
    RDSBackend.modify_db_cluster = _after_modify(RDSBackend.modify_db_cluster)  # type: ignore[method-assign]
    RDSBackend.delete_db_cluster = _after_delete(RDSBackend.delete_db_cluster)  # type: ignore[method-assign]
    getter = DBCluster.__dict__["enable_http_endpoint"].fget
    DBCluster.enable_http_endpoint = property(getter, _set_http_endpoint)  # type: ignore[method-assign,assignment]
    MasterUserSecret._generate_secret_string = _managed_secret_string  # type: ignore[method-assign]


def _set_http_endpoint(cluster: Any, value: bool | None) -> None:
    """AWS: the Data API runs on Aurora PostgreSQL (and MySQL 8.0) Serverless v2 and provisioned clusters, and on
    Serverless v1. moto only knew Serverless v1 versions, and silently turned the flag off for the rest."""
    cluster._enable_http_endpoint = bool(value) and cluster.engine in DATA_API_ENGINES


def _managed_secret_string(self: Any) -> str:
    """ManageMasterUserPassword: the secret holds the cluster's master username and a generated password (moto's
    fixed ``admin`` / ``P@55w0rd!`` would not log in as the master user)."""
    username = getattr(self.resource, "master_username", None) or "admin"
    return json.dumps({"username": username, "password": _generated_password()})


def _after_create(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def create(backend: Any, kwargs: dict[str, Any]) -> Any:
        cluster = method(backend, kwargs)
        registry = _registry
        if registry is None or cluster.engine not in POSTGRES_ENGINES:
            return cluster
        try:
            registry.provision(backend.account_id, backend.region_name, cluster)
        except Exception as exc:
            backend.clusters.pop(cluster.db_cluster_identifier, None)
            from moto.rds.exceptions import RDSClientError

            log.exception("provisioning cluster %s on the PostgreSQL engine failed", cluster.db_cluster_identifier)
            raise RDSClientError("InvalidParameterValue", f"the local cloud's PostgreSQL engine: {exc}") from exc
        return cluster

    setattr(create, _MARK, True)
    return create


def _after_modify(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def modify(backend: Any, kwargs: dict[str, Any]) -> Any:
        password = kwargs.get("master_user_password")
        cluster = method(backend, kwargs)
        registry = _registry
        if registry is not None and cluster.engine in POSTGRES_ENGINES:
            new = password or (master_password(cluster) if kwargs.get("manage_master_user_password") else None)
            if new:
                try:
                    registry.set_password(backend.account_id, backend.region_name, cluster.db_cluster_identifier, new)
                except ClusterNotProvisioned:
                    pass
        return cluster

    return modify


def _after_delete(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def delete(backend: Any, cluster_identifier: str, *args: Any, **kwargs: Any) -> Any:
        cluster = method(backend, cluster_identifier, *args, **kwargs)
        registry = _registry
        if registry is not None:
            registry.drop(backend.account_id, backend.region_name, cluster.db_cluster_identifier)
        return cluster

    return delete
