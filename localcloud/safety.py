"""Requests a web page must not be able to make. The cloud listens on 127.0.0.1 only; these close what a page in the
developer's browser could still do to it:

- **DNS rebinding.** A page on ``evil.example`` whose name is re-pointed at 127.0.0.1 reaches the port with
  ``Host: evil.example``. The cloud's own operations answer only to a ``Host`` of ``localhost``, ``127.0.0.1`` or
  ``[::1]``, with the cloud's port or none.
- **Cross-site requests.** A page may send a form POST to any origin, and browsers add its ``Origin``. A request that
  changes something (any method but GET, HEAD and OPTIONS) is refused when it carries an ``Origin`` other than the
  cloud's own. The CLI, the SDKs and the tests send no ``Origin``.

The console (``localcloud/console``) adds a per-run token on top for its own mutating requests.
"""

from __future__ import annotations

from typing import Any

LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Refused(Exception):
    """A request the cloud does not serve (403)."""


def allowed_hosts(port: int) -> set[str]:
    return {host for name in LOCAL_HOSTS for host in (name, f"{name}:{port}")}


def check_host(environ: dict[str, Any], port: int) -> None:
    host = str(environ.get("HTTP_HOST", "")).lower()
    if host not in allowed_hosts(port):
        raise Refused(f"the local cloud answers only on localhost:{port} or 127.0.0.1:{port}, not on Host {host!r}")


def check_origin(environ: dict[str, Any], port: int) -> None:
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and origin.lower() not in {f"http://{host}" for host in allowed_hosts(port)}:
        raise Refused(f"a request from origin {origin!r} may not change anything here")


def check_admin(environ: dict[str, Any], port: int) -> None:
    """The cloud's own operations (``/_localcloud/...``): a local Host always, a local Origin to change anything."""
    check_host(environ, port)
    if str(environ.get("REQUEST_METHOD", "GET")).upper() not in SAFE_METHODS:
        check_origin(environ, port)
