"""Versioned SQL migrations, applied idempotently under a PostgreSQL advisory lock, through the Data API.

A migration is a file ``<version>_<name>.sql`` (``0001_search_documents.sql``); versions are applied in order, once.
``apply`` runs in ONE Data API transaction:
1. ``pg_advisory_xact_lock`` on a fixed key: two runners (two deploys, a retried invoke) queue instead of racing; the
   lock is released by the commit or rollback;
2. the ``schema_migrations`` table is created if it is missing, and the applied versions read;
3. each pending file's statements run (the Data API takes one statement per call, so files are split with
   ``split_statements``), then its row is inserted with the file's SHA-256;
4. commit. PostgreSQL's DDL is transactional: a failing statement leaves nothing of the run behind.

An applied migration whose file has changed since (another checksum) stops the run with ``MigrationDrift``: the fix is a
new migration, never an edited one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from marquee.core.errors import MarqueeError
from marquee.relational.client import DataApi

# pg_advisory_xact_lock takes a bigint; any constant works as long as every runner uses the same one.
LOCK_KEY = 0x4D41_5251_5545_45  # "MARQUEE"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


class MigrationError(MarqueeError):
    slug = "migration-error"
    title = "Migration error"


class MigrationDrift(MigrationError):
    slug = "migration-drift"
    title = "An applied migration has changed"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def statements(self) -> list[str]:
        return split_statements(self.sql)


def load(directory: Path) -> list[Migration]:
    """Every ``NNNN_name.sql`` of ``directory``, by version; two files with one version are an error."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: a migration is named NNNN_lowercase_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations with version {version}")
        found[version] = Migration(version, match.group(2), path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def split_statements(sql: str) -> list[str]:
    """Split a SQL script on top-level ``;``: not inside quotes, quoted identifiers, dollar quotes or comments."""
    statements: list[str] = []
    current: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            current.append(sql[i:end])
            i = end
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                raise MigrationError("an unterminated /* comment")
            current.append(sql[i : end + 2])
            i = end + 2
            continue
        if ch in ("'", '"'):
            end = i + 1
            while True:
                end = sql.find(ch, end)
                if end < 0:
                    raise MigrationError(f"an unterminated {ch} quote")
                if sql.startswith(ch * 2, end):  # '' or "" inside the literal
                    end += 2
                    continue
                break
            current.append(sql[i : end + 1])
            i = end + 1
            continue
        if ch == "$":
            tag = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql[i:])
            if tag:
                close = sql.find(tag.group(0), i + len(tag.group(0)))
                if close < 0:
                    raise MigrationError(f"an unterminated {tag.group(0)} quote")
                end = close + len(tag.group(0))
                current.append(sql[i:end])
                i = end
                continue
        if ch == ";":
            _flush(current, statements)
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    _flush(current, statements)
    return statements


def _flush(parts: list[str], statements: list[str]) -> None:
    text = "".join(parts).strip()
    meaningful = re.sub(r"--[^\n]*|/\*.*?\*/", "", text, flags=re.DOTALL).strip()
    if meaningful:
        statements.append(text)


@dataclass(frozen=True)
class Outcome:
    applied: list[int]
    already: list[int]


def apply(api: DataApi, migrations: list[Migration]) -> Outcome:
    """Apply the pending migrations under the advisory lock, in one transaction (see the module docstring)."""
    with api.transaction() as tx:
        tx.execute("SELECT pg_advisory_xact_lock(:key)", {"key": LOCK_KEY})
        tx.execute(CREATE_TABLE)
        rows = tx.query("SELECT version, checksum FROM schema_migrations")
        done = {int(r["version"]): str(r["checksum"]) for r in rows}
        applied: list[int] = []
        for migration in migrations:
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    raise MigrationDrift(
                        f"migration {migration.version} ({migration.name}) was applied with another content; "
                        "add a new migration instead of editing an applied one"
                    )
                continue
            for statement in migration.statements:
                tx.execute(statement)
            tx.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (:version, :name, :checksum)",
                {"version": migration.version, "name": migration.name, "checksum": migration.checksum},
            )
            applied.append(migration.version)
    return Outcome(applied=applied, already=sorted(done))
