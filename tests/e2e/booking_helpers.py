"""Helpers of the booking e2e tests: staff build a showtime through the API; customers get tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from devkit.identity import ApiClient

_clients: dict[str, ApiClient] = {}  # per deployed endpoint: its tokens are cached for the whole session


def token(deployed: dict[str, Any], tenant: str, user: str, group: str = "customer") -> str:
    endpoint = deployed["endpoint"]
    if endpoint not in _clients:
        _clients[endpoint] = ApiClient(endpoint, deployed["outputs"])
    return _clients[endpoint].token(tenant, user, group)


@dataclass(frozen=True)
class Show:
    tenant: str
    showtime_id: str
    movie_id: str
    auditorium_id: str
    cinema_id: str


def create_showtime(
    api: str,
    deployed: dict[str, Any],
    tenant: str,
    *,
    rows: int = 5,
    per_row: int = 10,
    lease: int = 600,
    unavailable: list[str] | None = None,
) -> Show:
    headers = {"Authorization": token(deployed, tenant, "staff1", "staff")}

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(f"{api}{path}", json=body, headers=headers, timeout=60)
        assert response.status_code == 201, f"{path}: {response.status_code} {response.text}"
        return dict(response.json())

    cinema = post("/cinemas", {"name": f"Cinema {uuid.uuid4().hex[:4]}", "city": "Porto"})
    auditorium = post(
        "/auditoriums",
        {
            "cinemaId": cinema["cinemaId"],
            "name": "Screen 1",
            "rows": rows,
            "seatsPerRow": per_row,
            "unavailable": unavailable or [],
        },
    )
    movie = post("/movies", {"title": "Race Condition", "runtimeMinutes": 101})
    starts = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat()
    showtime = post(
        "/showtimes",
        {
            "movieId": movie["movieId"],
            "auditoriumId": auditorium["auditoriumId"],
            "startsAt": starts,
            "price": {"amount": 900, "currency": "EUR"},
            "holdLeaseSeconds": lease,
        },
    )
    return Show(tenant, showtime["showtimeId"], movie["movieId"], auditorium["auditoriumId"], cinema["cinemaId"])


def hold(
    api: str, tok: str, showtime_id: str, seats: list[str], session: requests.Session | None = None
) -> requests.Response:
    http = session or requests
    return http.post(
        f"{api}/showtimes/{showtime_id}/holds", json={"seats": seats}, headers={"Authorization": tok}, timeout=120
    )


def partner_key(deployed: dict[str, Any]) -> str:
    """The example partner's API key (the partner usage plan's), read as an operator would: by its name."""
    from infra.constants import API_PARTNER_KEY_NAME
    from localcloud.aws import local_client

    apigw = local_client("apigateway", deployed["endpoint"])
    keys = apigw.get_api_keys(nameQuery=API_PARTNER_KEY_NAME, includeValues=True)["items"]
    return str(next(k["value"] for k in keys if k["name"] == API_PARTNER_KEY_NAME))
