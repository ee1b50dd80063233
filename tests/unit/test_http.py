"""The local cloud's loopback servers: a port in use is a clear error, never a silent process exit."""

from __future__ import annotations

import socket

import pytest

from localcloud.http import PortInUse, serve


def test_a_port_in_use_raises_port_in_use_instead_of_exiting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUse) as excinfo:
            serve("127.0.0.1", port, lambda environ, start_response: [], name="test")
    assert f"Port {port}" in str(excinfo.value) and "--port" in str(excinfo.value)


def test_serve_answers_on_a_free_port_and_stops() -> None:
    def app(environ: dict, start_response: object) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])  # type: ignore[operator]
        return [b"ok"]

    server = serve("127.0.0.1", 0, app, name="test")
    try:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=10) as conn:
            conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
            response = b""
            while chunk := conn.recv(1024):  # HTTP/1.0: the server closes when done
                response += chunk
        assert response.startswith(b"HTTP/1.0 200") and response.endswith(b"ok")
    finally:
        server.shutdown()
        server.server_close()
