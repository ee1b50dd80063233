"""The console's request checks. The cloud listens on 127.0.0.1 only; these close what a web page could still do.

- **DNS rebinding.** A page on ``evil.example`` whose name is re-pointed at 127.0.0.1 reaches the port with
  ``Host: evil.example``. Every console request needs a ``Host`` of ``localhost``, ``127.0.0.1`` or ``[::1]``, with
  the cloud's port or none.
- **Cross-site requests.** A page may send a form POST to any origin. A mutating request needs an ``Origin`` (when
  the client sends one, as browsers do) of the console itself, and the run's token in ``X-Console-Token``. The token
  is in the page the console serves, which another origin cannot read; the custom header also makes a browser ask
  first (CORS preflight), which the console never grants.
"""

from __future__ import annotations

import hmac
from typing import Any

LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
TOKEN_HEADER = "X-Console-Token"  # noqa: S105 - a header name, not a secret


class Refused(Exception):
    """A request the console does not serve (403)."""


def _allowed_hosts(port: int) -> set[str]:
    return {host for name in LOCAL_HOSTS for host in (name, f"{name}:{port}")}


def check_host(environ: dict[str, Any], port: int) -> None:
    host = str(environ.get("HTTP_HOST", "")).lower()
    if host not in _allowed_hosts(port):
        raise Refused(f"the console answers only on localhost:{port} or 127.0.0.1:{port}, not on Host {host!r}")


def check_mutation(environ: dict[str, Any], port: int, token: str) -> None:
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and origin.lower() not in {f"http://{host}" for host in _allowed_hosts(port)}:
        raise Refused(f"a request from origin {origin!r} may not change anything here")
    sent = str(environ.get("HTTP_X_CONSOLE_TOKEN", ""))
    if not sent or not hmac.compare_digest(sent.encode(), token.encode()):
        raise Refused(f"a mutating request needs the console's token in {TOKEN_HEADER}")
