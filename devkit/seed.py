"""`marquee seed`: realistic catalog data created through the deployed API (the real path: front door, Cognito
authorizer, catalog function, tenant-scoped sessions), with a progress bar.

Per tenant: cinemas in a few cities, auditoriums of different shapes (with a few unavailable seats), movies, and
``showtimes`` showtimes spread over the next two weeks. ``BookingApi`` is also used by the tour and the benchmarks.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from devkit.identity import ApiClient

CITIES = ("Lisbon", "Porto", "Madrid", "Lyon", "Turin", "Ghent", "Leeds", "Cork")
TITLES = (
    "The Long Take",
    "Fencing Tokens",
    "Idempotent Hearts",
    "Night of the Living Lease",
    "Saga of the Seven Steps",
    "Outbox Express",
    "The Last Partition",
    "Eventually Consistent",
    "Conditional Write",
    "Dead Letter Day",
)


class SeedError(Exception):
    pass


@dataclass
class BookingApi(ApiClient):
    """The deployed booking API as the seeder uses it (tokens cached per (tenant, user, group) by ``ApiClient``)."""

    def post(self, tenant: str, path: str, body: dict[str, Any], *, staff: bool = True) -> dict[str, Any]:
        token = self.token(tenant, "seeder" if staff else "guest", "staff" if staff else "customer")
        response = self.session.post(f"{self.base}{path}", json=body, headers={"Authorization": token}, timeout=60)
        if response.status_code != 201:
            raise SeedError(f"POST {path} -> {response.status_code}: {response.text}")
        result: dict[str, Any] = response.json()
        return result

    def showtime(
        self,
        tenant: str,
        *,
        rows: int = 8,
        per_row: int = 12,
        lease: int = 600,
        unavailable: list[str] | None = None,
        starts_at: datetime | None = None,
        title: str = "Race Condition",
    ) -> dict[str, Any]:
        """A fresh cinema + auditorium + movie + showtime; returns the showtime summary."""
        cinema = self.post(tenant, "/cinemas", {"name": f"{tenant} bench", "city": "Lisbon"})
        auditorium = self.post(
            tenant,
            "/auditoriums",
            {
                "cinemaId": cinema["cinemaId"],
                "name": "Screen 1",
                "rows": rows,
                "seatsPerRow": per_row,
                "unavailable": unavailable or [],
            },
        )
        movie = self.post(tenant, "/movies", {"title": title, "runtimeMinutes": 100})
        starts = starts_at or (datetime.now(UTC) + timedelta(days=1))
        return self.post(
            tenant,
            "/showtimes",
            {
                "movieId": movie["movieId"],
                "auditoriumId": auditorium["auditoriumId"],
                "startsAt": starts.replace(microsecond=0).isoformat(),
                "price": {"amount": 950, "currency": "EUR"},
                "holdLeaseSeconds": lease,
            },
        )


@dataclass(frozen=True)
class SeedReport:
    tenants: int
    cinemas: int
    auditoriums: int
    movies: int
    showtimes: int
    seats: int


def _tenant_catalog(api: BookingApi, tenant: str, rng: random.Random) -> tuple[list[dict[str, Any]], list[str]]:
    auditoriums: list[dict[str, Any]] = []
    for city in rng.sample(CITIES, 2):
        cinema = api.post(tenant, "/cinemas", {"name": f"Marquee {city}", "city": city})
        for screen in (1, 2):
            rows, per_row = rng.randint(6, 12), rng.randint(10, 18)
            broken = sorted({f"{chr(65 + rng.randrange(rows))}{rng.randint(1, per_row)}" for _ in range(3)})
            auditoriums.append(
                api.post(
                    tenant,
                    "/auditoriums",
                    {
                        "cinemaId": cinema["cinemaId"],
                        "name": f"Screen {screen}",
                        "rows": rows,
                        "seatsPerRow": per_row,
                        "unavailable": broken,
                    },
                )
            )
    movies = [
        api.post(tenant, "/movies", {"title": title, "runtimeMinutes": rng.randint(85, 170)})["movieId"]
        for title in rng.sample(TITLES, 6)
    ]
    return auditoriums, movies


def seed(
    endpoint_url: str,
    outputs: dict[str, Any],
    *,
    tenants: int,
    showtimes: int,
    console: Console,
    workers: int = 4,
    random_seed: int = 2026,
) -> SeedReport:
    """Create ``tenants`` tenants (seed-1, seed-2, ...) with ``showtimes`` showtimes EACH, through the API."""
    api = BookingApi(endpoint_url, outputs)
    rng = random.Random(random_seed)  # noqa: S311 - reproducible demo data, not cryptography
    names = [f"seed-{i}" for i in range(1, tenants + 1)]
    catalogs: dict[str, tuple[list[dict[str, Any]], list[str]]] = {}
    seats = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        setup = progress.add_task("cinemas, auditoriums, movies", total=len(names))
        for tenant in names:
            catalogs[tenant] = _tenant_catalog(api, tenant, rng)
            progress.advance(setup)
        plan = []
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        for tenant in names:
            auditoriums, movies = catalogs[tenant]
            for n in range(showtimes):
                auditorium = auditoriums[n % len(auditoriums)]
                starts = now + timedelta(days=1 + n // 8, hours=11 + 3 * (n % 4))
                body = {
                    "movieId": rng.choice(movies),
                    "auditoriumId": auditorium["auditoriumId"],
                    "startsAt": starts.isoformat(),
                    "price": {"amount": rng.choice((750, 900, 1150, 1300)), "currency": "EUR"},
                }
                plan.append((tenant, body, int(auditorium["capacity"]) + len(auditorium["unavailable"])))
        task = progress.add_task("showtimes (each writes its seats)", total=len(plan))
        with ThreadPoolExecutor(workers) as pool:
            futures = {pool.submit(api.post, tenant, "/showtimes", body): size for tenant, body, size in plan}
            for future in as_completed(futures):
                future.result()
                seats += futures[future]
                progress.advance(task)
    return SeedReport(
        tenants=len(names),
        cinemas=2 * len(names),
        auditoriums=sum(len(c[0]) for c in catalogs.values()),
        movies=sum(len(c[1]) for c in catalogs.values()),
        showtimes=len(plan),
        seats=seats,
    )
