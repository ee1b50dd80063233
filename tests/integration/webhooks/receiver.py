"""A webhook receiver for tests: a tiny HTTP server on 127.0.0.1 that verifies every request with the official
``standardwebhooks`` library, against each secret it knows, and records what it saw."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str
    verified_with: list[str]  # names of the secrets that verified it


@dataclass
class Receiver:
    """``secrets`` maps a name to a secret; ``status`` is what the receiver answers (change it to make it fail)."""

    secrets: dict[str, str] = field(default_factory=dict)
    status: int = 200
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = []
                for name, secret in list(receiver.secrets.items()):
                    try:
                        Webhook(secret).verify(body, headers)
                        verified.append(name)
                    except WebhookVerificationError:
                        pass
                with receiver._lock:
                    receiver.received.append(Received(self.path, headers, body, verified))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
