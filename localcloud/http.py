"""Loopback HTTP servers (the local cloud itself, and any server an app runs beside it): one way to start them."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

log = logging.getLogger("localcloud.http")


class PortInUse(OSError):
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.holder = port_holder(port)
        held = f" by {self.holder}" if self.holder else ""
        super().__init__(
            f"Port {port} on {host} is already in use{held}. Is a local cloud (or LocalStack) already running? "
            f"Try `marquee cloud status`, `marquee cloud down`, or pick another port with --port."
        )


_TCP_LISTEN = "0A"  # the state column of /proc/net/tcp{,6}


def port_holder(port: int, proc: Path = Path("/proc")) -> str | None:
    """Who listens on TCP ``port``: "pid N (command line)", "a process this user cannot inspect", or None if unknown.

    Best effort, Linux only: the listening socket's inode from ``/proc/net/tcp`` and ``tcp6``, then the process whose
    ``/proc/<pid>/fd`` holds ``socket:[inode]``. Another user's processes cannot be looked into; elsewhere (macOS) there
    is no /proc and the answer is None.
    """
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == _TCP_LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    inodes.discard("0")
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    try:
        pid_dirs = [d for d in proc.iterdir() if d.name.isdigit()]
    except OSError:
        return None
    for pid_dir in pid_dirs:
        try:
            fds = list((pid_dir / "fd").iterdir())
        except OSError:
            continue  # another user's process, or gone
        for fd in fds:
            try:
                if os.readlink(fd) in targets:
                    return f"pid {pid_dir.name} ({_command_line(pid_dir)})"
            except OSError:
                continue
    return "a process this user cannot inspect"


def _command_line(pid_dir: Path) -> str:
    try:
        words = (pid_dir / "cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    except OSError:
        return "?"
    line = " ".join(w.decode(errors="replace") for w in words)
    return line if len(line) <= 160 else line[:157] + "..."


def hold_port(host: str, port: int) -> socket.socket | None:
    """Keep ``port`` out of the OS's hands while a simulated provider is stopped: bound, never listening.

    A bound socket that does not listen refuses connections exactly like a closed port, and the OS then cannot give
    the port to an outgoing connection or to another program's port 0 while the provider is down. None if it cannot
    be bound (then the restart may find the port taken, and says so).
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        return None
    return sock


class QuietHttp10Handler(WSGIRequestHandler):
    """HTTP/1.0, one connection per request (a stopped provider leaves no kept-alive connection), no access log."""

    protocol_version = "HTTP/1.0"

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return


def serve(
    host: str,
    port: int,
    app: Callable[..., Any],
    *,
    name: str,
    request_handler: type[WSGIRequestHandler] = QuietHttp10Handler,
    poll_interval_s: float = 0.5,
) -> BaseWSGIServer:
    """Start a threaded WSGI server in a daemon thread; ``PortInUse`` (naming the holder if found) if the port is taken.

    werkzeug binds with SO_REUSEADDR, so connections of a server just stopped (TIME_WAIT) do not block the port;
    ``localcloud.server.port_is_free`` checks the same way.

    werkzeug's ``make_server`` prints "Address already in use" and calls ``sys.exit(1)`` instead of raising, which would
    take the whole local cloud down: it is turned into ``PortInUse`` here.
    """
    try:
        server = make_server(host, port, app, threaded=True, request_handler=request_handler)
    except SystemExit as exc:
        raise PortInUse(host, port) from exc
    except OSError as exc:
        if exc.errno in (98, 48):  # EADDRINUSE on Linux, macOS
            raise PortInUse(host, port) from exc
        raise
    server.daemon_threads = True  # type: ignore[attr-defined]  # a ThreadingMixIn server under the hood
    threading.Thread(target=server.serve_forever, args=(poll_interval_s,), name=name, daemon=True).start()
    return server
