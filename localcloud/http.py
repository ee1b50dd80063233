"""Loopback HTTP servers of the local cloud (the cloud itself and its simulated providers): one way to start them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

log = logging.getLogger("localcloud.http")


class PortInUse(OSError):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            f"Port {port} on {host} is already in use. Is a local cloud (or LocalStack) already running? "
            f"Try `marquee cloud status`, `marquee cloud down`, or pick another port with --port."
        )
        self.host, self.port = host, port


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
    """Start a threaded WSGI server in a daemon thread; ``PortInUse`` if the port is taken.

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


class SimulatedProvider(Protocol):
    """A simulated external service the local cloud runs on loopback (payment and notification providers)."""

    name: str
    port: int

    @property
    def url(self) -> str: ...

    @property
    def running(self) -> bool: ...

    def start(self) -> object: ...

    def stop(self) -> None: ...


class ProviderFleet:
    """Several simulated providers of one kind: started together, stopped and restarted one by one (the tours and tests
    take a provider down for real: its port closes). A port already in use is reported and that provider left stopped.
    """

    def __init__(self, kind: str, providers: dict[str, SimulatedProvider]) -> None:
        self.kind = kind
        self.providers = providers

    def start(self) -> None:
        for provider in self.providers.values():
            try:
                provider.start()
            except OSError as exc:
                log.warning("%s %s could not listen on port %s: %s", self.kind, provider.name, provider.port, exc)

    def stop(self) -> None:
        for provider in self.providers.values():
            provider.stop()

    def status(self) -> dict[str, Any]:
        return {name: {"url": p.url, "running": p.running} for name, p in self.providers.items()}

    def admin(self, name: str, action: str) -> tuple[int, dict[str, Any]]:
        """``stop`` or ``start`` one provider; the HTTP answer as (status, body)."""
        provider = self.providers.get(name)
        if provider is None or action not in ("stop", "start"):
            return 404, {"message": f"unknown {self.kind} operation {name}/{action}"}
        if action == "stop":
            provider.stop()
        else:
            try:
                provider.start()
            except OSError as exc:
                return 409, {"message": f"port {provider.port} is in use: {exc}"}
        return 200, {"provider": name, "running": provider.running, "url": provider.url}
