"""The search documents' write path: one row per movie, cinema and showtime in ``search_documents``.

The projector (``marquee.projections.projector``) calls ``apply_event`` for each catalog event (``CinemaOpened``,
``MovieChanged``, ``ShowtimeScheduled``), in the same transaction that logs the event once, so a changed movie is
searchable as soon as its event is projected (its lag is measured in bench/projections.py). Each call is ONE statement
(writable CTEs), so a document and the copies of it that showtimes carry change together:
- ``index_movie`` upserts the movie's document and rewrites the movie fields of its showtimes' documents;
- ``index_cinema`` upserts the cinema's document and rewrites the cinema name and city of its showtimes' documents;
- ``index_showtime`` adds one to the movie's popularity (showtimes scheduled), inserts the showtime's document from
  the movie's and cinema's documents, and gives the movie's other showtimes the new popularity (a showtime ranks by
  its movie's, so the value does not depend on the order the events came in).

Events of different aggregates may arrive in any order, so each statement stands alone: a movie's document keeps the
highest revision it saw (``version``), a showtime's document takes the movie's fields if its document exists and the
event's title otherwise (the movie's next revision rewrites it), and its cinema name and city from the event. A movie
document created after some of its showtimes counts them as its popularity.

**Concurrent events.** Standing alone is not enough when two of them run at once: the projector applies different
aggregates' events in parallel (one FIFO message group per aggregate), and a statement sees only what was committed
when it started. A ``ShowtimeScheduled`` and its movie's ``MovieChanged`` projected side by side would each miss the
other's row (the showtime copies no genres, the movie rewrites no showtime) and the showtime's document would lack its
movie's fields for good. So each statement first takes a transaction-scoped advisory lock per entity whose document it
reads or rewrites (``lock_entities``: a movie, a cinema, or a showtime's movie then cinema, always in that order so two
showtimes cannot deadlock). The second transaction waits for the first to commit, and its statement, starting after
the wait, sees the first's rows. The locks are the projector's transaction's (``pg_advisory_xact_lock``), released at
its commit or rollback.

Each statement names its tables as ``{S}.search_documents``: the tenant's read-model shard's schema goes there
(``marquee.projections.shards``: ``public`` for s0, ``shard_sN`` for the others).

The tsvector is a generated column (migration 0001), so nothing here builds it. The document's language is the
tenant's (``tenant_settings``, English when the tenant has no row).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from marquee.booking.catalog import CinemaOpened, MovieChanged, ShowtimeScheduled
from marquee.messaging.events import Envelope
from marquee.projections.shards import HOME_SCHEMA, qualify
from marquee.relational.client import DataApi, Transaction
from marquee.tenancy.tenant import TenantContext

Executor = DataApi | Transaction

TENANT_LANGUAGE = "coalesce((SELECT t.language FROM tenant_settings t WHERE t.tenant_id = :tenant), 'en')"
GENRE_SEPARATOR = "|"


class MovieDocument(BaseModel):
    model_config = ConfigDict(frozen=True)
    movie_id: str
    title: str
    original_title: str = ""
    cast: Sequence[str] = ()
    director: str = ""
    synopsis: str = ""
    genres: Sequence[str] = ()
    revision: int = 1


class CinemaDocument(BaseModel):
    model_config = ConfigDict(frozen=True)
    cinema_id: str
    name: str
    city: str


class ShowtimeDocument(BaseModel):
    model_config = ConfigDict(frozen=True)
    showtime_id: str
    movie_id: str
    cinema_id: str
    title: str
    starts_at: datetime
    cinema_name: str = ""
    city: str = ""


def genres_param(genres: Sequence[str]) -> str:
    """Genres as one string (the Data API takes no array parameters); ``string_to_array`` splits it in SQL."""
    if any(GENRE_SEPARATOR in g for g in genres):
        raise ValueError(f"a genre contains {GENRE_SEPARATOR!r}")
    return GENRE_SEPARATOR.join(genres)


MOVIE_FIELDS = "title, original_title, cast_names, director, synopsis, genres"

INDEX_MOVIE = f"""WITH movie AS (
    INSERT INTO {{S}}.search_documents AS target (tenant_id, doc_id, kind, movie_id, {MOVIE_FIELDS}, language, version,
                                                 popularity)
    VALUES (:tenant, :movie_id, 'movie', :movie_id, :title, :original_title, :cast_names, :director, :synopsis,
            string_to_array(:genres, '{GENRE_SEPARATOR}'), {TENANT_LANGUAGE}, :revision,
            (SELECT count(*) FROM {{S}}.search_documents x
             WHERE x.tenant_id = :tenant AND x.movie_id = :movie_id AND x.kind = 'showtime'))
    ON CONFLICT (tenant_id, doc_id) DO UPDATE SET
        title = EXCLUDED.title, original_title = EXCLUDED.original_title, cast_names = EXCLUDED.cast_names,
        director = EXCLUDED.director, synopsis = EXCLUDED.synopsis, genres = EXCLUDED.genres,
        version = EXCLUDED.version, updated_at = now()
    WHERE target.version < EXCLUDED.version
    RETURNING {MOVIE_FIELDS}, popularity
)
UPDATE {{S}}.search_documents s SET
    title = m.title, original_title = m.original_title, cast_names = m.cast_names, director = m.director,
    synopsis = m.synopsis, genres = m.genres, popularity = m.popularity, updated_at = now()
FROM movie m
WHERE s.tenant_id = :tenant AND s.movie_id = :movie_id AND s.kind = 'showtime'"""  # noqa: S608 - constants only

INDEX_CINEMA = f"""WITH cinema AS (
    INSERT INTO {{S}}.search_documents (tenant_id, doc_id, kind, cinema_id, title, cinema_name, city, language)
    VALUES (:tenant, :cinema_id, 'cinema', :cinema_id, :name, :name, :city, {TENANT_LANGUAGE})
    ON CONFLICT (tenant_id, doc_id) DO UPDATE SET
        title = EXCLUDED.title, cinema_name = EXCLUDED.cinema_name, city = EXCLUDED.city, updated_at = now()
    RETURNING cinema_name, city
)
UPDATE {{S}}.search_documents s SET cinema_name = c.cinema_name, city = c.city, updated_at = now()
FROM cinema c
WHERE s.tenant_id = :tenant AND s.cinema_id = :cinema_id AND s.kind = 'showtime'"""  # noqa: S608 - constants only

INDEX_SHOWTIME = f"""WITH movie AS (
    UPDATE {{S}}.search_documents SET popularity = popularity + 1
    WHERE tenant_id = :tenant AND doc_id = :movie_id AND kind = 'movie'
    RETURNING {MOVIE_FIELDS}, popularity
), showtime AS (
    INSERT INTO {{S}}.search_documents (tenant_id, doc_id, kind, movie_id, cinema_id, {MOVIE_FIELDS}, cinema_name, city,
                                  starts_at, popularity, language)
    SELECT :tenant, :showtime_id, 'showtime', :movie_id, :cinema_id,
           coalesce(m.title, :title), coalesce(m.original_title, ''), coalesce(m.cast_names, ''),
           coalesce(m.director, ''), coalesce(m.synopsis, ''), coalesce(m.genres, '{{}}'),
           coalesce(nullif(:cinema_name, ''), c.cinema_name, ''), coalesce(nullif(:city, ''), c.city, ''),
           :starts_at AT TIME ZONE 'UTC', coalesce(m.popularity, 0),
           {TENANT_LANGUAGE}
    FROM (SELECT 1) AS one
    LEFT JOIN movie m ON TRUE
    LEFT JOIN {{S}}.search_documents c ON c.tenant_id = :tenant AND c.doc_id = :cinema_id AND c.kind = 'cinema'
    ON CONFLICT (tenant_id, doc_id) DO NOTHING
    RETURNING doc_id
)
UPDATE {{S}}.search_documents s SET popularity = m.popularity
FROM movie m
WHERE s.tenant_id = :tenant AND s.movie_id = :movie_id AND s.kind = 'showtime' AND s.popularity <> m.popularity"""  # noqa: S608 - constants only


LOCK_ENTITY = "SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"


def lock_entities(api: Executor, tenant: TenantContext, *entity_ids: str) -> None:
    """Take each entity's advisory lock until the transaction ends (see the module's "Concurrent events"); a statement
    run after this sees every row a transaction holding the same lock committed. ``api`` must be a transaction."""
    for entity_id in entity_ids:
        api.execute(LOCK_ENTITY, {"key": f"search#{tenant.tenant_id}#{entity_id}"})


def index_movie(api: Executor, tenant: TenantContext, movie: MovieDocument, *, schema: str = HOME_SCHEMA) -> None:
    lock_entities(api, tenant, movie.movie_id)
    api.execute(
        qualify(INDEX_MOVIE, schema),
        {
            "tenant": tenant.tenant_id,
            "movie_id": movie.movie_id,
            "title": movie.title,
            "original_title": movie.original_title,
            "cast_names": ", ".join(movie.cast),
            "director": movie.director,
            "synopsis": movie.synopsis,
            "genres": genres_param(movie.genres),
            "revision": movie.revision,
        },
    )


def index_cinema(api: Executor, tenant: TenantContext, cinema: CinemaDocument, *, schema: str = HOME_SCHEMA) -> None:
    lock_entities(api, tenant, cinema.cinema_id)
    api.execute(
        qualify(INDEX_CINEMA, schema),
        {"tenant": tenant.tenant_id, "cinema_id": cinema.cinema_id, "name": cinema.name, "city": cinema.city},
    )


def index_showtime(
    api: Executor, tenant: TenantContext, showtime: ShowtimeDocument, *, schema: str = HOME_SCHEMA
) -> None:
    lock_entities(api, tenant, showtime.movie_id, showtime.cinema_id)  # the movie's first: one order everywhere
    api.execute(
        qualify(INDEX_SHOWTIME, schema),
        {
            "tenant": tenant.tenant_id,
            "movie_id": showtime.movie_id,
            "showtime_id": showtime.showtime_id,
            "cinema_id": showtime.cinema_id,
            "title": showtime.title,
            "starts_at": showtime.starts_at,
            "cinema_name": showtime.cinema_name,
            "city": showtime.city,
        },
    )


# ---- the projection of catalog events -------------------------------------------------------------------------------
def _movie(api: Executor, tenant: TenantContext, event: Envelope, schema: str) -> None:
    data = MovieChanged.model_validate(event.data)
    document = MovieDocument(
        movie_id=data.movie_id,
        title=data.title,
        original_title=data.original_title,
        cast=data.cast,
        director=data.director,
        synopsis=data.synopsis,
        genres=data.genres,
        revision=data.revision,
    )
    index_movie(api, tenant, document, schema=schema)


def _cinema(api: Executor, tenant: TenantContext, event: Envelope, schema: str) -> None:
    data = CinemaOpened.model_validate(event.data)
    index_cinema(api, tenant, CinemaDocument(cinema_id=data.cinema_id, name=data.name, city=data.city), schema=schema)


def _showtime(api: Executor, tenant: TenantContext, event: Envelope, schema: str) -> None:
    data = ShowtimeScheduled.model_validate(event.data)
    document = ShowtimeDocument(
        showtime_id=data.showtime_id,
        movie_id=data.movie_id,
        cinema_id=data.cinema_id,
        title=data.title,
        starts_at=data.starts_at,
        cinema_name=data.cinema_name,
        city=data.city,
    )
    index_showtime(api, tenant, document, schema=schema)


TOMBSTONE = """INSERT INTO {S}.search_tombstones AS r (tenant_id, doc_id, revision, deleted)
    VALUES (:tenant, :doc_id, :revision, :deleted)
    ON CONFLICT (tenant_id, doc_id) DO UPDATE SET revision = EXCLUDED.revision, deleted = EXCLUDED.deleted
    WHERE r.revision < EXCLUDED.revision"""

LIFECYCLE: dict[str, tuple[str, bool]] = {
    "MovieDeleted": ("movieId", True),
    "MovieRestored": ("movieId", False),
    "CinemaDeleted": ("cinemaId", True),
    "CinemaRestored": ("cinemaId", False),
    "ShowtimeDeleted": ("showtimeId", True),
    "ShowtimeRestored": ("showtimeId", False),
}


def _lifecycle(api: Executor, tenant: TenantContext, event: Envelope, schema: str) -> None:
    """A soft delete or restore (challenge 8): the entity's tombstone keeps its highest revision (commutative); the
    documents stay, and the queries skip those whose own id, movie or cinema is deleted."""
    field, deleted = LIFECYCLE[event.type]
    api.execute(
        qualify(TOMBSTONE, schema),
        {
            "tenant": tenant.tenant_id,
            "doc_id": str(event.data[field]),
            "revision": int(event.data["revision"]),
            "deleted": deleted,
        },
    )


SEARCH_HANDLERS = {
    "MovieChanged": _movie,
    "CinemaOpened": _cinema,
    "ShowtimeScheduled": _showtime,
    **dict.fromkeys(LIFECYCLE, _lifecycle),
}


def apply_event(api: Executor, event: Envelope, *, schema: str = HOME_SCHEMA) -> None:
    """Write the documents a catalog event changes in the tenant's shard ``schema`` (other types: nothing)."""
    handler = SEARCH_HANDLERS.get(event.type)
    if handler is not None:
        handler(api, TenantContext(tenant_id=event.tenant_id, user_id="projector"), event, schema)
