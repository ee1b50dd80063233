"""`marquee seed --search-docs N`: a realistic search corpus loaded in bulk, straight into the cluster's database.

The Data API is the application's only path to Aurora, but it is an HTTPS call per statement (about 4 ms here, more on
AWS) and a 1 MiB request cap: a million documents through it would take hours. Bulk loading is an operator's job, so it
uses PostgreSQL's own bulk path, ``COPY ... FROM STDIN`` over a direct psycopg connection, as the cluster's master user
(the Secrets Manager secret the stack created):
- on the local cloud the connection goes to the engine's Unix socket (the data directory's ``postmaster.pid`` names it),
  or to the server ``--postgres-url`` named;
- on AWS the cluster has no public path (isolated subnets): run this from inside the VPC (an SSM session on a bastion,
  or a task in the VPC). Not built here; see docs/decisions.md.

The load drops the table's secondary indexes, COPYs over two connections at once, rebuilds the indexes from their own
definitions (``pg_get_indexdef``, so the migration stays the source of truth) and ANALYZEs. Searches during a load are
slow (no index); a seed is not a production write path. The generated column builds every tsvector during the COPY.

Per tenant: cinemas in real cities, movies with titles, cast, director, synopsis and genres made from word lists, and
showtimes that copy their movie's text, as the catalog's write path does. Popularity is Zipf-like over movies.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

COLUMNS = (
    "tenant_id, doc_id, kind, movie_id, cinema_id, title, original_title, cast_names, director, synopsis, genres, "
    "cinema_name, city, starts_at, popularity, language"
)
CITIES = (
    "Lisbon",
    "Porto",
    "Braga",
    "Coimbra",
    "Faro",
    "Aveiro",
    "Évora",
    "Funchal",
    "São Paulo",
    "Rio de Janeiro",
    "Belo Horizonte",
    "Curitiba",
    "Recife",
    "Salvador",
    "Fortaleza",
    "Brasília",
    "London",
    "Manchester",
    "Leeds",
    "Bristol",
    "Glasgow",
    "Edinburgh",
    "Cardiff",
    "Dublin",
    "Cork",
    "New York",
    "Boston",
    "Chicago",
    "Seattle",
    "Austin",
    "Denver",
    "Toronto",
    "Vancouver",
    "Sydney",
    "Melbourne",
    "Auckland",
    "Madrid",
    "Barcelona",
    "Lyon",
    "Turin",
    "Ghent",
    "Luanda",
    "Maputo",
    "Praia",
    "Macau",
)
GENRES = (
    "drama",
    "comedy",
    "action",
    "thriller",
    "horror",
    "sci-fi",
    "romance",
    "animation",
    "documentary",
    "adventure",
    "crime",
    "fantasy",
    "mystery",
    "family",
    "musical",
    "war",
    "western",
    "biography",
)
ADJECTIVES = (
    "Silent",
    "Crimson",
    "Last",
    "Broken",
    "Golden",
    "Hidden",
    "Endless",
    "Frozen",
    "Burning",
    "Lost",
    "Savage",
    "Quiet",
    "Electric",
    "Midnight",
    "Northern",
    "Forgotten",
    "Wild",
    "Iron",
    "Hollow",
    "Distant",
    "Bitter",
    "Velvet",
    "Shattered",
    "Restless",
    "Secret",
    "Eternal",
    "Falling",
    "Sleeping",
    "Scarlet",
    "Pale",
    "Wandering",
    "Rising",
)
NOUNS = (
    "Harbor",
    "Tide",
    "Kingdom",
    "Signal",
    "Orchard",
    "Frontier",
    "Echo",
    "Empire",
    "River",
    "Garden",
    "Station",
    "Horizon",
    "Lighthouse",
    "Summer",
    "Winter",
    "Machine",
    "Compass",
    "Witness",
    "Island",
    "Parade",
    "Protocol",
    "Mirror",
    "Archive",
    "Desert",
    "Voyage",
    "Saint",
    "Carnival",
    "Engine",
    "Promise",
    "Shadow",
    "Canyon",
    "Citadel",
    "Storm",
    "Letter",
    "Bridge",
    "Circus",
    "Planet",
    "Forest",
    "Melody",
    "Labyrinth",
    "Harvest",
    "Comet",
    "Lantern",
)
PATTERNS = (
    "The {a} {n}",
    "{a} {n}",
    "Return of the {a} {n}",
    "{n} of the {a} {n2}",
    "The {n} and the {n2}",
    "Beyond the {n}",
    "A {a} {n}",
    "{n}",
    "The Last {n}",
    "Escape from {city}",
    "Night in {city}",
    "{a} Hearts",
)
FIRST = (
    "Ana",
    "João",
    "Maria",
    "Pedro",
    "Inês",
    "Tiago",
    "Sofia",
    "Rui",
    "Beatriz",
    "Miguel",
    "Emma",
    "Oliver",
    "Ava",
    "Liam",
    "Mia",
    "Noah",
    "Isla",
    "Jack",
    "Grace",
    "Leo",
    "Chloe",
    "Lucas",
    "Camila",
    "Mateus",
    "Helena",
    "Gabriel",
    "Keanu",
    "Zoe",
    "Idris",
    "Saoirse",
    "Dev",
    "Priya",
    "Kenji",
    "Yuki",
    "Amara",
    "Kwame",
    "Lea",
    "Hugo",
    "Elena",
)
LAST = (
    "Silva",
    "Santos",
    "Ferreira",
    "Pereira",
    "Oliveira",
    "Costa",
    "Rodrigues",
    "Martins",
    "Sousa",
    "Almeida",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Wilson",
    "Evans",
    "Walker",
    "Wright",
    "Robinson",
    "Thompson",
    "Reeves",
    "Blanchett",
    "Okafor",
    "Nakamura",
    "Moreau",
    "Rossi",
    "Müller",
    "García",
    "Kowalski",
    "O'Brien",
    "Nguyen",
    "Haddad",
    "Lindqvist",
)
HEROES = (
    "a retired detective",
    "a young pilot",
    "two estranged sisters",
    "a small-town teacher",
    "an exiled prince",
    "a street musician",
    "a marine biologist",
    "a disgraced journalist",
    "a reluctant heir",
    "a night nurse",
    "an android",
    "a chess prodigy",
    "a border guard",
    "a widowed farmer",
    "a runaway bride",
    "a rookie firefighter",
)
GOALS = (
    "must find a missing child",
    "races to stop a heist",
    "uncovers a conspiracy",
    "falls in love with a stranger",
    "fights to save the family farm",
    "searches for a lost treasure",
    "tries to win back an old friend",
    "must survive one last winter",
    "plans an impossible escape",
    "confronts a ghost from the past",
    "joins a rebellion against the machines",
    "sails across a stormy ocean",
    "solves a series of murders",
)
TWISTS = (
    "before the city wakes up",
    "while a storm closes every road",
    "as an old war returns",
    "with nothing but a map",
    "when the lights go out across the country",
    "during the longest night of the year",
    "against a ruthless empire",
    "as the festival begins",
    "before the last train leaves",
    "while the river floods the valley",
)
CODAS = (
    "A story about courage and loss.",
    "Based on true events.",
    "A tender comedy about second chances.",
    "An epic adventure across three continents.",
    "A dark thriller full of secrets.",
    "A moving portrait of a family.",
)


REBUILD_FROM = 100_000  # documents: from here on, dropping and rebuilding the indexes beats updating them


@dataclass(frozen=True)
class TenantCorpus:
    tenant_id: str
    documents: int
    language: str = "en"


@dataclass
class LoadReport:
    tenants: list[TenantCorpus]
    documents: int
    copy_seconds: float
    index_seconds: float
    total_seconds: float


# Made-up proper names (8,000 of them): a quarter of the titles carry one, so rare words exist, as in a real catalog.
SYLLABLES = (
    "ka",
    "lo",
    "ren",
    "vi",
    "tor",
    "sa",
    "mi",
    "dra",
    "zu",
    "quel",
    "an",
    "bri",
    "os",
    "thal",
    "ne",
    "gor",
    "ul",
    "fen",
    "ari",
    "dov",
)
NAMED = ("The {name} {n}", "{name}", "{name} and the {n}", "Return to {name}", "The {name} Affair")


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()


def _title(rng: random.Random) -> str:
    if rng.random() < 0.25:
        return rng.choice(NAMED).format(name=_name(rng), n=rng.choice(NOUNS))
    pattern = rng.choice(PATTERNS)
    return pattern.format(a=rng.choice(ADJECTIVES), n=rng.choice(NOUNS), n2=rng.choice(NOUNS), city=rng.choice(CITIES))


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _synopsis(rng: random.Random, city: str) -> str:
    hero = rng.choice(HEROES)
    return f"In {city}, {hero} {rng.choice(GOALS)} {rng.choice(TWISTS)}. {rng.choice(CODAS)}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ").replace("\r", " ")


def plan(corpus: TenantCorpus) -> tuple[int, int, int]:
    """How many cinemas, movies and showtimes make ``corpus.documents`` documents."""
    cinemas = max(5, corpus.documents // 500)
    movies = max(10, corpus.documents // 10)
    return cinemas, movies, max(0, corpus.documents - cinemas - movies)


def rows(corpus: TenantCorpus, *, part: int, parts: int, seed: int = 14) -> Iterator[str]:
    """The COPY text lines of ``corpus`` that belong to ``part`` of ``parts`` (every document lands in exactly one).

    A showtime's text is its movie's and its cinema's, so each movie and cinema is escaped once into a line fragment
    and the million showtime lines are joins of fragments (about 3 µs a line)."""
    rng = random.Random(f"{seed}:{corpus.tenant_id}")  # noqa: S311 - sample data, reproducible on purpose
    n_cinemas, n_movies, n_showtimes = plan(corpus)
    tenant, language = corpus.tenant_id, corpus.language
    cinemas = []  # (id, "cinema_name\tcity")
    for i in range(n_cinemas):
        name, city = f"Cinema {rng.choice(NOUNS)} {i}", rng.choice(CITIES)
        cinemas.append((f"cin_{i:016x}", f"{_escape(name)}\t{_escape(city)}", name))
    movies = []  # (id, "title\toriginal\tcast\tdirector\tsynopsis\tgenres", popularity)
    for rank in range(1, n_movies + 1):
        title = _title(rng)
        original = title if rng.random() < 0.8 else _title(rng)
        cast = ", ".join(_person(rng) for _ in range(rng.randint(2, 5)))
        genres = "{" + ",".join(rng.sample(GENRES, rng.randint(1, 3))) + "}"
        popularity = int(100_000 / rank**0.9) + rng.randint(0, 20)
        fields = (title, original, cast, _person(rng), _synopsis(rng, rng.choice(CITIES)))
        movies.append((f"mov_{rank:016x}", "\t".join(map(_escape, fields)) + "\t" + genres, str(popularity)))
    start = datetime(2026, 12, 1, tzinfo=UTC)
    slots = [(start + timedelta(minutes=15 * k)).strftime("%Y-%m-%d %H:%M:%S+00") for k in range(4 * 24 * 8)]
    index = 0
    for cinema_id, place, name in cinemas:
        if index % parts == part:
            yield f"{tenant}\t{cinema_id}\tcinema\t\\N\t{cinema_id}\t{_escape(name)}\t\t\t\t\t{{}}\t{place}\t\\N\t0\t{language}"
        index += 1
    for movie_id, text, score in movies:
        if index % parts == part:
            yield f"{tenant}\t{movie_id}\tmovie\t{movie_id}\t\\N\t{text}\t\t\t\\N\t{score}\t{language}"
        index += 1
    picks = rng.choices(range(n_movies), weights=[int(m[2]) for m in movies], k=n_showtimes)
    for i, movie_index in enumerate(picks):
        if index % parts == part:
            movie_id, text, score = movies[movie_index]
            cinema_id, place, _ = cinemas[(i * 7919) % n_cinemas]
            starts = slots[(i * 104729) % len(slots)]
            yield (
                f"{tenant}\tsht_{i:016x}\tshowtime\t{movie_id}\t{cinema_id}\t{text}\t{place}\t{starts}\t"
                f"{score}\t{language}"
            )
        index += 1


# ---- where the engine is -----------------------------------------------------------------------------------------------
def local_conninfo(endpoint_url: str, outputs: dict[str, str]) -> dict[str, Any]:
    """psycopg connection arguments for the deployed cluster's database on the local cloud's engine."""
    import requests

    from localcloud.aws import local_client

    engines = requests.get(f"{endpoint_url}/_localcloud/engines", timeout=10).json()["postgres"]
    identifier = outputs["DbClusterArn"].rsplit(":", 1)[-1]
    database = next((d for d in engines["databases"] if d["cluster"] == identifier), None)
    if engines.get("state") != "running" or database is None:
        raise RuntimeError(f"the local cloud's engine has no database for cluster {identifier}: deploy first")
    secret = json.loads(
        local_client("secretsmanager", endpoint_url).get_secret_value(SecretId=outputs["DbSecretArn"])["SecretString"]
    )
    args: dict[str, Any] = {"dbname": database["database"], "user": secret["username"], "password": secret["password"]}
    if engines["kind"] == "embedded":
        pid_lines = (Path(engines["where"]) / "postmaster.pid").read_text().splitlines()
        args.update(host=pid_lines[4], port=int(pid_lines[3]))  # postmaster.pid: line 4 the port, line 5 the socket dir
    else:
        from urllib.parse import urlsplit

        url = urlsplit(engines["where"])
        args.update(host=url.hostname or "127.0.0.1", port=url.port or 5432)
    return args


# ---- the load ---------------------------------------------------------------------------------------------------------
def load(
    conninfo: dict[str, Any],
    corpora: list[TenantCorpus],
    *,
    parts: int = 2,
    rebuild_indexes: bool | None = None,
    on_rows: Callable[[int], None] = lambda n: None,
    on_phase: Callable[[str], None] = lambda s: None,
) -> LoadReport:
    import psycopg

    started = time.perf_counter()
    tenants = [c.tenant_id for c in corpora]
    with psycopg.connect(**conninfo, autocommit=True) as admin:
        indexes = admin.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'search_documents' "
            "AND indexname <> 'search_documents_pkey' ORDER BY indexname"
        ).fetchall()
        if not indexes and not admin.execute("SELECT to_regclass('search_documents')").fetchone()[0]:  # type: ignore[index]
            raise RuntimeError(
                "search_documents does not exist: the migrations have not run (marquee deploy runs them)"
            )
        # The corpus goes into s0's schema (public): a tenant whose read models are on another shard would not see it.
        if admin.execute("SELECT to_regclass('read_model_placement')").fetchone()[0]:  # type: ignore[index]
            elsewhere = admin.execute(
                "SELECT tenant_id, shard FROM read_model_placement WHERE tenant_id = ANY(%s) AND shard <> 's0'",
                (tenants,),
            ).fetchall()
            if elsewhere:
                raise RuntimeError(
                    "the search corpus loads into shard s0's schema, and these tenants' read models are on another "
                    f"shard: {', '.join(f'{t} ({s})' for t, s in elsewhere)}; seed other tenants, or move them to s0"
                )
        if rebuild_indexes is None:  # a small load goes into the indexes; a big one rebuilds them (faster)
            rebuild_indexes = sum(c.documents for c in corpora) >= REBUILD_FROM
        if not rebuild_indexes:
            indexes = []
        on_phase("dropping the tenants' old documents" + (" and the secondary indexes" if indexes else ""))
        for name, _ in indexes:
            admin.execute(f'DROP INDEX IF EXISTS "{name}"')
        admin.execute("DELETE FROM search_documents WHERE tenant_id = ANY(%s)", (tenants,))
        for corpus in corpora:
            admin.execute(
                "INSERT INTO tenant_settings (tenant_id, language) VALUES (%s, %s) "
                "ON CONFLICT (tenant_id) DO UPDATE SET language = EXCLUDED.language, updated_at = now()",
                (corpus.tenant_id, corpus.language),
            )

    on_phase("COPY")
    copy_started = time.perf_counter()
    try:
        # One process per connection (`python -m devkit.search_corpus`, its spec on stdin, counts on stdout): the
        # lines are made in Python, and threads would share one core through the GIL.
        spec = {"conninfo": conninfo, "corpora": [c.__dict__ for c in corpora], "parts": parts}
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "devkit.search_corpus"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=Path(__file__).resolve().parent.parent,
            )
            for _ in range(parts)
        ]
        for part, worker in enumerate(workers):
            assert worker.stdin is not None
            worker.stdin.write(json.dumps({**spec, "part": part}))
            worker.stdin.close()

        def follow(worker: subprocess.Popen[str]) -> None:
            assert worker.stdout is not None
            for line in worker.stdout:
                on_rows(int(line))

        followers = [threading.Thread(target=follow, args=(w,)) for w in workers]
        for t in followers:
            t.start()
        for t in followers:
            t.join()
        failed = [w.wait() for w in workers if w.wait() != 0]
        if failed:
            raise RuntimeError(f"a COPY process failed (exit codes {failed}); its traceback is above")
        copy_seconds = time.perf_counter() - copy_started
    finally:
        # Always: a failed or interrupted COPY must not leave the table without its indexes.
        on_phase("rebuilding the indexes" if indexes else "ANALYZE")
        index_started = time.perf_counter()
        _rebuild(conninfo, [definition for _, definition in indexes], parts)
        index_seconds = time.perf_counter() - index_started
    return LoadReport(
        tenants=corpora,
        documents=sum(c.documents for c in corpora),
        copy_seconds=copy_seconds,
        index_seconds=index_seconds,
        total_seconds=time.perf_counter() - started,
    )


def _rebuild(conninfo: dict[str, Any], definitions: list[str], parts: int) -> None:
    """Create the indexes from their own definitions (``pg_get_indexdef``), ``parts`` at a time, then ANALYZE."""
    import psycopg

    pending = list(definitions)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def build() -> None:
        try:
            with psycopg.connect(**conninfo, autocommit=True) as conn:
                conn.execute("SET maintenance_work_mem = '512MB'")
                while True:
                    with lock:
                        if not pending:
                            return
                        definition = pending.pop(0)
                    conn.execute(definition.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            errors.append(exc)

    builders = [threading.Thread(target=build) for _ in range(parts)]
    for t in builders:
        t.start()
    for t in builders:
        t.join()
    if errors:
        raise errors[0]
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute("ANALYZE search_documents")


def _copy_part(conninfo: dict[str, Any], corpora: list[TenantCorpus], part: int, parts: int) -> None:
    """One COPY connection's share of the lines; prints how many it has sent after each batch."""
    import psycopg

    with psycopg.connect(**conninfo) as conn:
        conn.execute("SET synchronous_commit = off")
        with conn.cursor() as cur, cur.copy(f"COPY search_documents ({COLUMNS}) FROM STDIN") as copy:
            batch: list[str] = []
            for corpus in corpora:
                for line in rows(corpus, part=part, parts=parts):
                    batch.append(line)
                    if len(batch) == 5000:
                        copy.write("\n".join(batch) + "\n")
                        print(len(batch), flush=True)
                        batch = []
            if batch:
                copy.write("\n".join(batch) + "\n")
                print(len(batch), flush=True)


def default_corpora(documents: int) -> list[TenantCorpus]:
    """One big tenant (``documents``) and two small ones: a Portuguese chain and an English one."""
    return [
        TenantCorpus("bulk", documents, "en"),
        TenantCorpus("bulk-pt", max(1000, documents // 20), "pt"),
        TenantCorpus("bulk-small", max(1000, documents // 100), "en"),
    ]


if __name__ == "__main__":
    _spec = json.loads(sys.stdin.read())
    _copy_part(
        _spec["conninfo"], [TenantCorpus(**c) for c in _spec["corpora"]], int(_spec["part"]), int(_spec["parts"])
    )
