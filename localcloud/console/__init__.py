"""The local cloud's web console, at ``/_localcloud/console/``: a small single page and the JSON it reads.

Loaded by the first console request (``LocalCloud.console_app``), never at start. It reads moto's backends
in-process (only the services already loaded: looking never imports a service) and the activity recorder
(localcloud/activity.py), and streams the recorder's notes as Server-Sent Events.

Routes (all under ``/_localcloud/console``):
- ``/`` the page (the per-run token is in a ``<meta>`` tag), ``/static/<file>`` its assets, ``/panels/<id>.js`` an
  extension's panel module (localcloud/extensions.py, ``console_panels``);
- ``GET api/overview``, ``api/invocations[?function=]``, ``api/invocation?id=<request id>``, ``api/events``,
  ``api/executions``, ``api/execution?arn=``, ``api/queue?arn=`` (peek), ``api/panels``;
- ``POST api/redrive`` ``{"queue": <DLQ ARN>, "destination": <ARN, optional>}``;
- ``GET|POST api/x/<path>``: an extension's own console API (``console_api``, localcloud/extensions.py), behind the
  same checks, so a panel's mutations need the token too;
- ``GET stream``: Server-Sent Events (``invocation``, ``event``, ``resync``), a comment every 15 s while quiet.

Safety (localcloud/console/safety.py): every request's ``Host`` must be localhost or 127.0.0.1 (DNS rebinding);
a mutating request must come from the console's own origin and carry the run's token in ``X-Console-Token``.
Refusals are 403 problem+json.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from localcloud import extensions
from localcloud.console import inventory, queues, safety, stepfunctions

if TYPE_CHECKING:
    from localcloud.server import LocalCloud

StartResponse = Callable[..., Any]
PREFIX = "/_localcloud/console"
STATIC = Path(__file__).parent / "static"
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
PANEL_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
MAX_BODY = 64 * 1024
_TITLES = {
    400: "Bad Request",
    404: "Not Found",
    409: "Conflict",
    422: "Unprocessable Content",
    503: "Service Unavailable",
}
HTML_HEADERS = [
    ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
]


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


class Console:
    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.token = secrets.token_urlsafe(24)  # per run: the page gets it, nothing else can read it
        self.port = cloud.settings.port

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")[len(PREFIX) :] or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            safety.check_host(environ, self.port)
            if method not in ("GET", "HEAD"):
                safety.check_mutation(environ, self.port, self.token)
            return self._route(environ, start_response, method, path)
        except safety.Refused as exc:
            return _problem(start_response, environ, 403, "Forbidden", str(exc))
        except Problem as exc:
            return _problem(start_response, environ, exc.status, exc.title, exc.detail)

    def _route(self, environ: dict[str, Any], start_response: StartResponse, method: str, path: str) -> Iterable[bytes]:
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if method in ("GET", "HEAD"):
            if path == "/":
                return self._page(start_response)
            if path.startswith("/static/"):
                return _static(start_response, STATIC, path[len("/static/") :])
            if path.startswith("/panels/") and path.endswith(".js"):
                return self._panel_script(start_response, path[len("/panels/") : -3])
            if path == "/stream":
                return self._stream(environ, start_response)
            getter = self._getters().get(path)
            if getter is not None:
                return _json(start_response, 200, getter(query))
        elif method == "POST" and path == "/api/redrive":
            body = _read_json(environ)
            moved = queues.redrive(str(body.get("queue") or ""), body.get("destination"))
            return _json(start_response, 200, moved)
        if path.startswith("/api/x/") and method in ("GET", "HEAD", "POST"):
            return self._extension_api(environ, start_response, method, path[len("/api/x") :], query)
        if path == "/" or path in self._getters():
            raise Problem(405, "Method Not Allowed", f"{method} is not allowed on {PREFIX}{path}")
        raise Problem(404, "Not Found", f"no console resource {PREFIX}{path}")

    def _getters(self) -> dict[str, Callable[[dict[str, str]], Any]]:
        activity = self.cloud.activity
        return {
            "/api/overview": lambda q: inventory.overview(self.cloud),
            "/api/invocations": lambda q: {
                "invocations": activity.invocations(q.get("function") or None, limit=_limit(q))
            },
            "/api/invocation": lambda q: _found(activity.invocation_detail(q.get("id", "")), "invocation"),
            "/api/events": lambda q: {"events": activity.events(limit=_limit(q))},
            "/api/executions": lambda q: {"executions": stepfunctions.executions(limit=_limit(q))},
            "/api/execution": lambda q: _found(stepfunctions.execution(q.get("arn", "")), "execution"),
            "/api/queue": lambda q: _found(queues.peek(q.get("arn", ""), limit=_limit(q)), "queue"),
            "/api/panels": lambda q: {"panels": [_public(p) for p in self._panels()]},
        }

    # ---- the page -------------------------------------------------------------------------------------------------
    def _page(self, start_response: StartResponse) -> list[bytes]:
        html = (STATIC / "index.html").read_text(encoding="utf-8").replace("{{token}}", self.token)
        data = html.encode()
        start_response(
            "200 OK",
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data))), *HTML_HEADERS],
        )
        return [data]

    def _panels(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for extension in self.cloud.extensions:
            for panel in extensions.console_panels(extension):
                if PANEL_ID.match(str(panel.get("id", ""))) and panel.get("title"):
                    found.append(panel)
        return found

    def _panel_script(self, start_response: StartResponse, panel_id: str) -> list[bytes]:
        panel = next((p for p in self._panels() if p["id"] == panel_id and p.get("script")), None)
        if panel is None:
            raise Problem(404, "Not Found", f"no console panel script {panel_id}")
        script = Path(str(panel["script"]))
        return _static(start_response, script.parent, script.name)

    def _extension_api(
        self, environ: dict[str, Any], start_response: StartResponse, method: str, path: str, query: dict[str, str]
    ) -> list[bytes]:
        body = _read_json(environ) if method == "POST" else None
        for extension in self.cloud.extensions:
            answer = extensions.console_api(extension, method, path, query, body)
            if answer is not None:
                status, payload = answer
                if status >= 400:
                    detail = payload.get("detail") if isinstance(payload, dict) else None
                    raise Problem(status, _TITLES.get(status, "Error"), str(detail or payload))
                return _json(start_response, status, payload)
        raise Problem(404, "Not Found", f"no console resource {PREFIX}/api/x{path}")

    # ---- live updates ---------------------------------------------------------------------------------------------
    def _stream(self, environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        last = environ.get("HTTP_LAST_EVENT_ID", "")
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/event-stream; charset=utf-8"),
                ("Cache-Control", "no-store"),
                ("X-Accel-Buffering", "no"),
            ],
        )
        return _sse(self.cloud.activity.watch(int(last) if last.isdigit() else 0))


def _sse(batches: Iterator[list[dict[str, Any]]]) -> Iterator[bytes]:
    yield b"retry: 2000\n: connected\n\n"
    try:
        for batch in batches:
            if not batch:
                yield b": idle\n\n"  # a comment: keeps proxies quiet and finds a closed client within 15 s
                continue
            chunks = []
            for note in batch:
                data = json.dumps(note["data"], separators=(",", ":"))
                chunks.append(f"id: {note['seq']}\nevent: {note['kind']}\ndata: {data}\n\n")
            yield "".join(chunks).encode()
    finally:
        batches.close()  # type: ignore[attr-defined]  # the watcher leaves the recorder at once


def _public(panel: dict[str, Any]) -> dict[str, Any]:
    out = {"id": panel["id"], "title": str(panel["title"])}
    if panel.get("script"):
        out["module"] = f"{PREFIX}/panels/{panel['id']}.js"
    elif panel.get("endpoint"):
        out["endpoint"] = str(panel["endpoint"])
    return out


def _limit(query: dict[str, str]) -> int:
    text = query.get("limit", "200")
    if not text.isdigit() or not 0 < int(text) <= 2000:
        raise Problem(400, "Bad Request", "limit must be a whole number from 1 to 2000")
    return int(text)


def _found(value: Any, what: str) -> Any:
    if value is None:
        raise Problem(404, "Not Found", f"no such {what}")
    return value


def _read_json(environ: dict[str, Any]) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > MAX_BODY:
        raise Problem(413, "Content Too Large", f"the body is larger than {MAX_BODY} bytes")
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise Problem(400, "Bad Request", "the body is not JSON") from exc
    if not isinstance(body, dict):
        raise Problem(400, "Bad Request", "the body is not a JSON object")
    return body


def _json(start_response: StartResponse, status: int, body: Any) -> list[bytes]:
    data = json.dumps(body, default=str).encode()
    start_response(
        f"{status} OK",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ],
    )
    return [data]


def _problem(start_response: StartResponse, environ: dict[str, Any], status: int, title: str, detail: str) -> list[bytes]:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": environ.get("PATH_INFO")}
    data = json.dumps(body).encode()
    start_response(
        f"{status} {title}",
        [("Content-Type", "application/problem+json"), ("Content-Length", str(len(data))), ("Cache-Control", "no-store")],
    )
    return [data]


def _static(start_response: StartResponse, folder: Path, name: str) -> list[bytes]:
    target = (folder / name).resolve()
    if target.parent != folder.resolve() or target.suffix not in CONTENT_TYPES or not target.is_file():
        raise Problem(404, "Not Found", f"no console asset {name}")
    data = target.read_bytes()
    start_response(
        "200 OK",
        [
            ("Content-Type", CONTENT_TYPES[target.suffix]),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
        ],
    )
    return [data]
