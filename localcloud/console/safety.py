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

from localcloud.safety import LOCAL_HOSTS, Refused, check_host, check_origin

__all__ = ["LOCAL_HOSTS", "TOKEN_HEADER", "Refused", "check_host", "check_mutation"]

TOKEN_HEADER = "X-Console-Token"  # noqa: S105 - a header name, not a secret


def check_mutation(environ: dict[str, Any], port: int, token: str) -> None:
    check_origin(environ, port)
    sent = str(environ.get("HTTP_X_CONSOLE_TOKEN", ""))
    if not sent or not hmac.compare_digest(sent.encode(), token.encode()):
        raise Refused(f"a mutating request needs the console's token in {TOKEN_HEADER}")
