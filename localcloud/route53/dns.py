"""Answering Route 53 records the way Route 53's resolvers do, and the global front door that follows them.

:func:`resolve` answers a name from the hosted zones (moto's records) with the routing policies that matter for
failover:
- failover records: the PRIMARY while its health check is healthy (a record without a health check is healthy), else
  the SECONDARY if healthy; when both are unhealthy Route 53 answers the PRIMARY;
- weighted records: the healthy records with the highest weight (deterministic, locally);
- a simple record: its values.

The global front door: a request whose Host is a record name in a hosted zone (``api.marquee.example:4566``) is
resolved per request (no DNS TTL cache: clients that cache DNS see a failover up to the record's TTL later, which is
stated, not modelled) and forwarded to what the record names: an API's host form ``{apiId}.execute-api.localhost``
is served by the API Gateway front door as if the client had called that host. ``GET /_localcloud/dns?name=...``
answers the same resolution for tools.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from localcloud.route53 import health

ACCOUNT = "123456789012"
RESOLVED_HEADER = "X-Localcloud-Resolved-To"


@dataclass
class Answer:
    name: str
    type: str
    values: list[str]
    set_identifier: str | None = None
    failover: str | None = None


def _normal(name: str) -> str:
    return name.lower().rstrip(".")


def _zones() -> list[Any]:
    if "moto.route53" not in sys.modules:
        return []
    from moto.route53.models import route53_backends

    return list(route53_backends[ACCOUNT]["aws"].zones.values())


def _healthy(record: Any) -> bool:
    checker = health.current()
    if not record.health_check_id or checker is None:
        return True
    return checker.is_healthy(record.health_check_id)


def resolve(name: str, types: Iterable[str] = ("CNAME", "A", "AAAA")) -> Answer | None:
    """The answer Route 53 gives for ``name`` now, or None when no hosted zone holds such a record."""
    wanted = _normal(name)
    for zone in _zones():
        zone_name = _normal(zone.name)
        if wanted != zone_name and not wanted.endswith("." + zone_name):
            continue
        for rtype in types:
            records = [r for r in zone.rrsets if _normal(r.name) == wanted and r.type == rtype]
            if records:
                return _choose(wanted, rtype, records)
    return None


def _choose(name: str, rtype: str, records: list[Any]) -> Answer:
    failover = {str(r.failover).upper(): r for r in records if r.failover}
    if failover:
        primary, secondary = failover.get("PRIMARY"), failover.get("SECONDARY")
        if primary is not None and _healthy(primary):
            chosen = primary
        elif secondary is not None and _healthy(secondary):
            chosen = secondary
        else:
            chosen = primary or secondary
    elif any(r.weight is not None for r in records):
        healthy = [r for r in records if _healthy(r)] or records
        chosen = max(healthy, key=lambda r: int(r.weight or 0))
    else:
        chosen = records[0]
    return Answer(name, rtype, list(chosen.records or []), chosen.set_identifier, chosen.failover)


def global_host(environ: dict[str, Any]) -> Answer | None:
    """The record a request's Host names, if it is one of the hosted zones' (never for the cloud's own hosts)."""
    host = (environ.get("HTTP_HOST") or "").rsplit(":", 1)[0]
    if not host or host in ("localhost", "127.0.0.1") or host.endswith(".localhost") or not _zones():
        return None
    return resolve(host)


StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def forward(
    environ: dict[str, Any], start_response: StartResponse, answer: Answer, front_door: Callable[..., Iterable[bytes]]
) -> Iterable[bytes]:
    """Serve the request at the resolved target: the API Gateway front door's host form."""
    target = answer.values[0] if answer.values else ""
    port = (environ.get("HTTP_HOST") or "").rpartition(":")[2] or environ.get("SERVER_PORT", "")
    if ".execute-api." not in target:
        body = b'{"message": "the record does not name an API this cloud serves"}'
        start_response("502 Bad Gateway", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    environ = {**environ, "HTTP_HOST": f"{_normal(target)}:{port}" if port.isdigit() else _normal(target)}

    def tagged(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
        return start_response(
            status, [*headers, (RESOLVED_HEADER, f"{answer.set_identifier or ''} {target}".strip())], *args
        )

    return front_door(environ, tagged)
