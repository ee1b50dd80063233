"""Recommendations in Valkey: what the event stream says people watch now, and what one customer watched.

Every key of a tenant shares the hash tag ``{<tenant>/reco}`` (one cluster slot, so one Lua call may touch several):

- ``rc:{t/reco}:seen:<event id>``: an OrderConfirmed already counted (7 days). Counting and this mark are one script,
  so a redelivered event changes nothing.
- ``rc:{t/reco}:movie:<id>``: HASH title, genres (JSON), ``rev`` and ``deleted`` (kept by revision: a late, older
  MovieChanged never overwrites a newer one).
- ``rc:{t/reco}:showtime:<id>``: HASH movie, city (from ShowtimeScheduled). OrderConfirmed names only the showtime.
- ``rc:{t/reco}:showing:<city>``: ZSET movie -> the latest start time (epoch s) of its showtimes in the city (``*``: the
  tenant's every city). The cold start's candidates.
- ``rc:{t/reco}:pop:<city>:e<era>``: ZSET movie -> decayed ticket count, one per era (a day) and city (``*`` too).
- ``rc:{t/reco}:recent:<customer>``: LIST of the customer's last 20 movies, newest first (90 days).

**Decay without rewriting.** "Popular now" is a ticket count where a ticket sold ``a`` seconds ago weighs
``2^(-a/H)`` (half-life ``H`` = 1 h). Rescoring every member as time passes would be a write per member per tick.
Instead, a ticket sold at ``t`` adds ``exp(λ(t - t0))`` (λ = ln 2 / H) with ``t0`` the start of its era, and a read at
``now`` multiplies by ``exp(-λ(now - t0))``: the order of a sorted set never changes as time passes, so ZINCRBY is the
only write and a read is a ZRANGE. The factor grows 2^24 over a one-day era, far inside a double's range, and a new
era starts a new key from zero (reads merge the current and previous era, each scaled to now; keys live 3 eras). The
increment uses the event's ``occurredAt``, not the time it arrived, so a late or replayed event counts the same.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

NAMESPACE = "rc"
HALF_LIFE_S = 3600.0
DECAY = math.log(2) / HALF_LIFE_S
ERA_S = 86_400
POPULAR_TTL_S = 3 * ERA_S
SEEN_TTL_S = 7 * 86_400
RECENT_MAX = 20
RECENT_TTL_S = 90 * 86_400
SHOWING_WINDOW_S = 86_400  # a movie whose latest showtime started more than a day ago is no longer showing
TOP = 50  # candidates read per sorted set
EVERY_CITY = "*"

# KEYS: seen, recent, popular (city, era), popular (every city, era). ARGV: seen TTL, increment, movie, recent max,
# popular TTL, recent TTL. 0 if the event was counted before.
RECORD_ORDER = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('ZINCRBY', KEYS[3], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[5])
redis.call('ZINCRBY', KEYS[4], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[4], ARGV[5])
redis.call('LREM', KEYS[2], 0, ARGV[3])
redis.call('LPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
redis.call('EXPIRE', KEYS[2], ARGV[6])
return 1
"""
# KEYS: the movie. ARGV: revision, title ('' = none), genres JSON, deleted ('' = unchanged, '0', '1').
# Title and deletion have their own revisions: each is kept only if the event is not older than what is stored.
UPSERT_MOVIE = """
local rev = tonumber(ARGV[1])
if ARGV[2] ~= '' and rev >= tonumber(redis.call('HGET', KEYS[1], 'rev') or '0') then
  redis.call('HSET', KEYS[1], 'rev', rev, 'title', ARGV[2], 'genres', ARGV[3])
end
if ARGV[4] ~= '' and rev >= tonumber(redis.call('HGET', KEYS[1], 'liferev') or '0') then
  redis.call('HSET', KEYS[1], 'liferev', rev, 'deleted', ARGV[4])
end
return 1
"""
# KEYS: the showtime, showing (city), showing (every city). ARGV: movie, city, start (epoch s).
SCHEDULE = """
redis.call('HSET', KEYS[1], 'movie', ARGV[1], 'city', ARGV[2])
redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], 'GT', ARGV[3], ARGV[1])
return 1
"""

ReasonKind = Literal["because-you-watched", "popular-now", "now-showing"]
Basis = Literal["your-orders", "popular", "catalog"]


class UnknownShowtime(LookupError):
    """An order for a showtime whose ShowtimeScheduled has not been seen: raised so the delivery is retried."""


def city_key(city: str) -> str:
    token = " ".join(city.split()).casefold()
    return token if token and token != EVERY_CITY else f"_{token}"


@dataclass(frozen=True)
class Reason:
    kind: ReasonKind
    detail: str  # one sentence a customer can read
    genre: str | None = None
    because_of: str | None = None  # the title of the watched movie that led here
    score: float | None = None  # the decayed ticket count ("popular-now")
    scope: str | None = None  # the city, or "every city" of the tenant


@dataclass(frozen=True)
class Recommendation:
    movie_id: str
    title: str
    genres: list[str]
    reason: Reason


@dataclass(frozen=True)
class Recommendations:
    items: list[Recommendation]
    basis: Basis  # what the list rests on: the customer's orders, what sells now, or only what is showing
    city: str | None
    watched_genres: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Movie:
    movie_id: str
    title: str
    genres: list[str]
    deleted: bool


class RecommendationStore:
    """Writes from the event stream and reads for one customer, on one Valkey (a cluster client on AWS)."""

    def __init__(self, client: Any, *, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.clock = clock
        self._record = client.register_script(RECORD_ORDER)
        self._upsert_movie = client.register_script(UPSERT_MOVIE)
        self._schedule = client.register_script(SCHEDULE)

    # ---- keys --------------------------------------------------------------------------------------------------------
    @staticmethod
    def _prefix(tenant: str) -> str:
        if "{" in tenant or "}" in tenant or not tenant:
            raise ValueError("a tenant id cannot contain braces")
        return f"{NAMESPACE}:{{{tenant}/reco}}"

    def _popular_key(self, tenant: str, city: str, era: int) -> str:
        return f"{self._prefix(tenant)}:pop:{city}:e{era}"

    # ---- writes (the event stream) -----------------------------------------------------------------------------------
    def movie_changed(self, tenant: str, movie_id: str, *, revision: int, title: str, genres: Sequence[str]) -> None:
        self._upsert_movie(
            keys=[f"{self._prefix(tenant)}:movie:{movie_id}"], args=[revision, title, json.dumps(list(genres)), ""]
        )

    def movie_deleted(self, tenant: str, movie_id: str, *, revision: int, deleted: bool) -> None:
        self._upsert_movie(
            keys=[f"{self._prefix(tenant)}:movie:{movie_id}"], args=[revision, "", "[]", "1" if deleted else "0"]
        )

    def showtime_scheduled(
        self, tenant: str, showtime_id: str, *, movie_id: str, city: str, starts_at: datetime
    ) -> None:
        prefix = self._prefix(tenant)
        self._schedule(
            keys=[
                f"{prefix}:showtime:{showtime_id}",
                f"{prefix}:showing:{city_key(city)}",
                f"{prefix}:showing:{EVERY_CITY}",
            ],
            args=[movie_id, city, int(starts_at.timestamp())],
        )

    def order_confirmed(
        self, tenant: str, *, event_id: str, showtime_id: str, customer_id: str, seats: int, occurred_at: datetime
    ) -> Literal["counted", "duplicate", "stale"]:
        """Count ``seats`` tickets for the showtime's movie at ``occurred_at``: ``duplicate`` if this event was counted
        before, ``stale`` if it is older than the eras a read looks at (it would weigh 2^-24 or less).
        ``UnknownShowtime`` if the showtime's ShowtimeScheduled has not arrived yet (the caller retries)."""
        prefix = self._prefix(tenant)
        movie, city = self.client.hmget(f"{prefix}:showtime:{showtime_id}", ["movie", "city"])
        if movie is None:
            raise UnknownShowtime(f"showtime {showtime_id} of {tenant} is not known yet")
        at = occurred_at.timestamp()
        era = int(at // ERA_S)
        if era < int(self.clock() // ERA_S) - 1:
            return "stale"
        increment = max(seats, 1) * math.exp(DECAY * (at - era * ERA_S))
        counted = self._record(
            keys=[
                f"{prefix}:seen:{event_id}",
                f"{prefix}:recent:{customer_id}",
                self._popular_key(tenant, city_key(_text(city)), era),
                self._popular_key(tenant, EVERY_CITY, era),
            ],
            args=[SEEN_TTL_S, repr(increment), _text(movie), RECENT_MAX, POPULAR_TTL_S, RECENT_TTL_S],
        )
        return "counted" if counted else "duplicate"

    # ---- reads -------------------------------------------------------------------------------------------------------
    def popular(self, tenant: str, city: str, *, now: float | None = None) -> list[tuple[str, float]]:
        """The ``TOP`` movies by decayed ticket count at ``now`` in ``city`` (a ``city_key``, or ``EVERY_CITY``)."""
        now = self.clock() if now is None else now
        era = int(now // ERA_S)
        scores: dict[str, float] = {}
        for e in (era, era - 1):
            scale = math.exp(-DECAY * (now - e * ERA_S))
            for member, raw in self.client.zrevrange(self._popular_key(tenant, city, e), 0, TOP - 1, withscores=True):
                scores[_text(member)] = scores.get(_text(member), 0.0) + float(raw) * scale
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
        return [(movie, score) for movie, score in ranked if score > 0]

    def recommend(
        self, tenant: str, customer_id: str, showtime_id: str, *, limit: int = 5, now: float | None = None
    ) -> Recommendations:
        now = self.clock() if now is None else now
        prefix = self._prefix(tenant)
        current, city = self.client.hmget(f"{prefix}:showtime:{showtime_id}", ["movie", "city"])
        city_name = _text(city) if city is not None else None
        city_token = city_key(city_name) if city_name else None
        recent = [_text(m) for m in self.client.lrange(f"{prefix}:recent:{customer_id}", 0, RECENT_MAX - 1)]
        in_city = self.popular(tenant, city_token, now=now) if city_token else []
        everywhere = self.popular(tenant, EVERY_CITY, now=now)
        showing_key = f"{prefix}:showing:{city_token or EVERY_CITY}"
        showing = [_text(m) for m in self.client.zrevrangebyscore(showing_key, "+inf", now - SHOWING_WINDOW_S)][:TOP]
        movies = self._movies(prefix, {*recent, *(m for m, _ in in_city), *(m for m, _ in everywhere), *showing})

        excluded = {*recent, _text(current) if current is not None else ""}
        chosen: list[Recommendation] = []

        def take(movie_id: str, reason: Reason) -> None:
            movie = movies.get(movie_id)
            if movie is None or movie.deleted or movie_id in excluded or len(chosen) >= limit:
                return
            excluded.add(movie_id)
            chosen.append(Recommendation(movie_id, movie.title, movie.genres, reason))

        # 1. because you watched <genre>: the customer's most watched genre (recent orders weigh more)
        genres = _genre_weights(movies.get(m) for m in recent)
        for genre in genres[:1]:
            because = next(movies[m].title for m in recent if m in movies and genre in movies[m].genres)
            for movie_id, _ in [*in_city, *everywhere, *((m, 0.0) for m in showing)]:
                if len(chosen) >= max(limit // 2, 1):
                    break
                if genre in (movies[movie_id].genres if movie_id in movies else []):
                    take(
                        movie_id,
                        Reason(
                            "because-you-watched",
                            f"Because you watched {because} ({genre})",
                            genre=genre,
                            because_of=because,
                        ),
                    )
        personal = bool(chosen)
        # 2. popular now: in the showtime's city, then in every city of the tenant
        for scope, ranked in ((city_name, in_city), ("every city", everywhere)):
            for movie_id, score in ranked:
                where = f"in {scope}" if scope != "every city" else "across all our cinemas"
                take(
                    movie_id,
                    Reason(
                        "popular-now",
                        f"Popular {where} right now (about {score:.1f} recent tickets, halving every hour)",
                        score=round(score, 3),
                        scope=scope,
                    ),
                )
        popular = len(chosen) > int(personal)
        # 3. cold start: what is showing
        for movie_id in showing:
            take(
                movie_id,
                Reason("now-showing", f"Now showing in {city_name}" if city_name else "Now showing", scope=city_name),
            )
        basis: Basis = "your-orders" if personal else "popular" if popular and (in_city or everywhere) else "catalog"
        return Recommendations(chosen, basis, city_name, watched_genres=genres[:3])

    def _movies(self, prefix: str, movie_ids: Iterable[str]) -> dict[str, _Movie]:
        ids = sorted(movie_ids)
        if not ids:
            return {}
        pipe = self.client.pipeline(transaction=False)
        for movie_id in ids:
            pipe.hmget(f"{prefix}:movie:{movie_id}", ["title", "genres", "deleted"])
        found = {}
        for movie_id, (title, genres, deleted) in zip(ids, pipe.execute(), strict=True):
            if title is None:
                continue  # no MovieChanged seen: nothing to show for it
            found[movie_id] = _Movie(movie_id, _text(title), list(json.loads(genres or "[]")), _text(deleted) == "1")
        return found


def _genre_weights(recent: Iterable[_Movie | None]) -> list[str]:
    """Genres of the recent movies, most weighted first: the newest order weighs 1, the next 1/2, then 1/3..."""
    weights: dict[str, float] = {}
    for rank, movie in enumerate(recent):
        for genre in movie.genres if movie is not None else []:
            weights[genre] = weights.get(genre, 0.0) + 1.0 / (rank + 1)
    return [genre for genre, _ in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
