"""Operations on the cloud's regions: a regional outage (chaos), global-table replication, and DNS answers.

- ``POST /_localcloud/chaos/region/{region}?state=down`` (``up`` restores): the region's API Gateway front door answers
  503 for every API in it (so health checks against it fail as they would in an outage), and its global-table
  replicas neither send nor receive writes (they wait, see localcloud/dynamodb/replication.py). AWS API calls to the
  region keep working: the outage models the application's regional entry and the replication link, not the control
  plane. ``GET`` lists the regions down.
- ``GET /_localcloud/replication``: the replicator's state (lag, global tables, pending writes per pair, conflicts
  lost); ``POST /_localcloud/replication?lagMs=N`` sets the lag.
- ``GET /_localcloud/dns?name=api.example.com``: the record Route 53 answers now (failover followed), and the health
  checks' states with their transitions.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from localcloud.dynamodb import replication
from localcloud.route53 import dns, health


def admin(cloud: Any, environ: dict[str, Any], path: str) -> tuple[int, Any]:
    method = environ.get("REQUEST_METHOD", "GET")
    query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    down: set[str] = cloud.front_door.regions_down
    if path.startswith("/_localcloud/chaos/region/"):
        region = path.rsplit("/", 1)[-1]
        if method == "POST":
            state = query.get("state", "down")
            if state not in ("down", "up"):
                return 400, {"message": "state must be down or up"}
            (down.add if state == "down" else down.discard)(region)
            replication.current().set_region_down(region, state == "down")
        return 200, {"regionsDown": sorted(down)}
    if path == "/_localcloud/replication":
        replicator = replication.current()
        if method == "POST" and "lagMs" in query:
            if not query["lagMs"].isdigit() or int(query["lagMs"]) > 600_000:
                return 400, {"message": "lagMs must be a whole number of milliseconds up to 600000"}
            replicator.lag_s = int(query["lagMs"]) / 1000
        return 200, replicator.status()
    if path == "/_localcloud/dns":
        answer = dns.resolve(query.get("name", "")) if query.get("name") else None
        checker = health.current()
        checks = {}
        if checker is not None:
            for check_id, state in list(checker.states.items()):
                checks[check_id] = {
                    "healthy": checker.is_healthy(check_id),
                    "report": state.report,
                    "transitions": [{"at": at, "healthy": ok} for at, ok in state.transitions],
                }
        return 200, {"answer": answer.__dict__ if answer else None, "healthChecks": checks}
    return 404, {"message": f"unknown local cloud endpoint {path}"}
