"""Route 53 health checks, evaluated for real: moto stores them and answers GetHealthCheckStatus with a fixed success.

As AWS documents ("How Amazon Route 53 determines whether a health check is healthy"):
- HTTP, HTTPS and their ``_STR_MATCH`` forms: a request every ``RequestInterval`` seconds (10 or 30) to
  ``{FullyQualifiedDomainName or IPAddress}:{Port}{ResourcePath}``; a success is a TCP connection within 4 s and an
  HTTP status 2xx or 3xx within 2 s more (for ``_STR_MATCH``, the search string in the first 5,120 bytes of the body);
  TCP: the connection alone;
- the status changes after ``FailureThreshold`` (default 3) consecutive results the other way; a new check counts as
  healthy until it has enough results to say otherwise; ``Inverted`` flips it; ``Disabled`` is always healthy;
- CALCULATED: healthy while at least ``HealthThreshold`` children are healthy;
- ``GetHealthCheckStatus`` answers the checker's last observation (``Success: HTTP Status Code 200, OK``,
  ``Failure: HTTP Status Code 503, Service Unavailable``, ``Failure: Connection timed out...``).

Local model: one checker instead of AWS's checkers in eight or so regions (AWS calls an endpoint healthy when more than
18% of checkers do; with one, its opinion is the answer). A host under ``.localhost`` is reached on 127.0.0.1 with its
name in the Host header (LocalStack's API host form). ``time_scale`` (1.0 by default, as AWS) shortens the interval for
parity tests only; the timeouts never scale.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("localcloud.route53")

CONNECT_TIMEOUT_S = 4.0
RESPONSE_TIMEOUT_S = 2.0
STR_MATCH_BYTES = 5120
HTTP_TYPES = ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH")


@dataclass
class CheckState:
    healthy: bool = True
    streak: int = 0  # consecutive results that disagree with ``healthy``
    next_at: float = 0.0
    report: str = "Success: no observation yet"
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    transitions: list[tuple[float, bool]] = field(default_factory=list)  # (epoch, healthy) each time it changed


_current: HealthChecker | None = None


def current() -> HealthChecker | None:
    return _current


class HealthChecker:
    """The cloud component that runs every health check on its own interval, in one thread."""

    def __init__(self, time_scale: float = 1.0, account: str = "123456789012") -> None:
        self.time_scale = time_scale
        self.account = account
        self.states: dict[str, CheckState] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        global _current
        _current = self
        self._thread = threading.Thread(target=self._loop, name="route53-health", daemon=True)
        self._thread.start()

    def stop_accepting(self) -> None:
        pass

    def drain(self, deadline: float) -> bool:
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    # ---- status -----------------------------------------------------------------------------------------------------
    def is_healthy(self, health_check_id: str) -> bool:
        check = self._checks().get(health_check_id)
        if check is None:
            return True
        return self._status(check)

    def state(self, health_check_id: str) -> CheckState:
        with self._lock:
            return self.states.setdefault(health_check_id, CheckState())

    def _status(self, check: Any, depth: int = 0) -> bool:
        if check.disabled:
            return True
        if check.type_ == "CALCULATED":
            children = check.children or []
            healthy = sum(1 for c in children if depth < 4 and self._status(self._checks().get(c), depth + 1))
            threshold = int(check.health_threshold if check.health_threshold is not None else len(children))
            status = healthy >= threshold
        else:
            status = self.state(check.id).healthy
        return not status if check.inverted else status

    def _checks(self) -> dict[str, Any]:
        if "moto.route53" not in sys.modules:
            return {}
        from moto.route53.models import route53_backends

        checks: dict[str, Any] = route53_backends[self.account]["aws"].health_checks
        return checks

    # ---- the loop ---------------------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.wait(0.05):
            now = time.monotonic()
            for check in list(self._checks().values()):
                if check.type_ not in (*HTTP_TYPES, "TCP") or check.disabled:
                    continue
                state = self.state(check.id)
                if now < state.next_at:
                    continue
                state.next_at = now + float(check.request_interval or 30) * self.time_scale
                threading.Thread(target=self.check_once, args=(check,), name="route53-check", daemon=True).start()
            with self._lock:  # forget the states of deleted checks
                for gone in set(self.states) - set(self._checks()):
                    self.states.pop(gone, None)

    def check_once(self, check: Any) -> None:
        ok, report = probe(check)
        state = self.state(check.id)
        with self._lock:
            state.report, state.checked_at = report, datetime.now(UTC)
            if ok == state.healthy:
                state.streak = 0
                return
            state.streak += 1
            if state.streak >= int(check.failure_threshold or 3):
                state.healthy, state.streak = ok, 0
                state.transitions.append((time.time(), ok))
                log.info("health check %s is now %s (%s)", check.id, "healthy" if ok else "unhealthy", report)


def probe(check: Any) -> tuple[bool, str]:
    """One checker's request: (success, the status report AWS words it as)."""
    import socket

    import requests

    host = check.fqdn or check.ip_address or ""
    port = int(check.port or (443 if str(check.type_).startswith("HTTPS") else 80))
    connect_host = "127.0.0.1" if host == "localhost" or host.endswith(".localhost") else host
    if check.type_ == "TCP":
        try:
            socket.create_connection((connect_host, port), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as exc:
            return False, f"Failure: Connection refused or timed out: {type(exc).__name__}"
        return True, "Success: TCP connection established"
    scheme = "https" if str(check.type_).startswith("HTTPS") else "http"
    path = check.resource_path or "/"
    url = f"{scheme}://{connect_host}:{port}{path if path.startswith('/') else '/' + path}"
    try:
        response = requests.get(
            url,
            headers={"Host": f"{host}:{port}", "User-Agent": "Amazon-Route53-Health-Check-Service"},
            timeout=(CONNECT_TIMEOUT_S, RESPONSE_TIMEOUT_S),
            allow_redirects=False,
            stream=True,
        )
    except requests.Timeout:
        return False, "Failure: Connection timed out. The endpoint or the internet connection is down."
    except requests.RequestException as exc:
        return False, f"Failure: Could not connect to the endpoint: {type(exc).__name__}"
    with response:
        reason = response.reason or ""
        if not 200 <= response.status_code < 400:
            return False, f"Failure: HTTP Status Code {response.status_code}, {reason}"
        if str(check.type_).endswith("_STR_MATCH"):
            head = response.raw.read(STR_MATCH_BYTES, decode_content=True).decode("utf-8", "replace")
            if (check.search_string or "") not in head:
                return False, "Failure: Search string not found in the response body"
        return True, f"Success: HTTP Status Code {response.status_code}, {reason}"


def install() -> None:
    """GetHealthCheckStatus answers the checker's observation (moto answers a fixed success)."""
    from moto.core.responses import ActionResult
    from moto.route53.responses import Route53

    if getattr(Route53.get_health_check_status, "__localcloud__", False):
        return

    def get_health_check_status(self: Any) -> Any:
        health_check_id = self._get_param("HealthCheckId")
        check = self.backend.get_health_check(health_check_id)  # NoSuchHealthCheck as AWS answers it
        checker = current()
        state = checker.state(check.id) if checker else CheckState()
        return ActionResult(
            {
                "HealthCheckObservations": [
                    {
                        "Region": "us-east-1",
                        "IPAddress": "127.0.0.1",
                        "StatusReport": {"Status": state.report, "CheckedTime": state.checked_at},
                    }
                ]
            }
        )

    get_health_check_status.__localcloud__ = True  # type: ignore[attr-defined]
    Route53.get_health_check_status = get_health_check_status  # type: ignore[method-assign]
