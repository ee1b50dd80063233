"""`marquee race SHOWTIME SEAT`: N customers ask for the same seat at once, through the front door (challenge 3).

The same race as the tour's and ``bench/seat_race.py``, on a showtime you pick, to watch in the console's seat map:
exactly one 201, every other racer a 409, and one seat turning held.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

from devkit.seed import BookingApi

RACE_TENANT = "race"  # the tenant of `marquee race new SEAT`


class RaceError(Exception):
    pass


@dataclass(frozen=True)
class RaceResult:
    tenant: str
    showtime_id: str
    seat: str
    racers: int
    statuses: dict[int, int]
    seconds: float
    winner: dict[str, Any] | None

    @property
    def winners(self) -> int:
        return self.statuses.get(201, 0)


def find_tenant(ddb: Any, table: str, kind: str, entity_id: str) -> str | None:
    """The tenant whose main-table item ``TENANT#{tenant}#{kind}#{id}`` / ``META`` exists: one filtered scan."""
    suffix = f"#{kind}#{entity_id}"
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "sk = :meta AND contains(pk, :suffix)",
        "ExpressionAttributeValues": {":meta": {"S": "META"}, ":suffix": {"S": suffix}},
        "ProjectionExpression": "pk",
    }
    while True:
        page = ddb.scan(**kwargs)
        for item in page.get("Items", []):
            pk = item["pk"]["S"]
            if pk.startswith("TENANT#") and pk.endswith(suffix):
                return str(pk[len("TENANT#") : -len(suffix)])
        if "LastEvaluatedKey" not in page:
            return None
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def race(
    endpoint_url: str,
    outputs: dict[str, Any],
    *,
    showtime: str,
    seat: str,
    racers: int = 200,
    concurrency: int = 48,
    tenant: str | None = None,
) -> RaceResult:
    """Race ``racers`` holds of ``seat`` (``showtime`` "new": a fresh showtime of tenant ``race``)."""
    from localcloud.aws import local_client

    api = BookingApi(endpoint_url, outputs)
    if showtime == "new":
        tenant = tenant or RACE_TENANT
        showtime = api.showtime(tenant, rows=5, per_row=10)["showtimeId"]
    elif tenant is None:
        tenant = find_tenant(local_client("dynamodb", endpoint_url), outputs["TableName"], "SHOWTIME", showtime)
        if tenant is None:
            raise RaceError(f"no showtime {showtime}: give its id (and --tenant), or `new`")
    tokens = [api.token(tenant, f"racer{i}") for i in range(min(racers, 10))]
    url = f"{api.base}/showtimes/{showtime}/holds"
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=concurrency))

    def one(i: int) -> requests.Response:
        return session.post(
            url, json={"seats": [seat]}, headers={"Authorization": tokens[i % len(tokens)]}, timeout=120
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        responses = list(pool.map(one, range(racers)))
    seconds = time.perf_counter() - started
    statuses: dict[int, int] = {}
    for response in responses:
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    winner = next((r.json() for r in responses if r.status_code == 201), None)
    if statuses.keys() <= {404, 422}:
        raise RaceError(f"every racer was refused ({sorted(statuses)}): {responses[0].text[:300]}")
    return RaceResult(tenant, showtime, seat, racers, statuses, seconds, winner)
