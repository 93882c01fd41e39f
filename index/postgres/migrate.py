"""Schema migrations: the numbered SQL files of migrations/, applied in order, once.

Each database records what it has in `schema_version`. All pending files are applied in one
transaction that first takes an advisory lock, so two processes starting at once do not both
migrate: the second waits, then finds nothing left to do. Plain SQL rather than Alembic: no
SQLAlchemy dependency, and pgvector's and full text search's DDL is SQL anyway. A new file
takes the next number (0001 is the index, 0002 the Telegram bot's state).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from index.errors import DatabaseError
from index.postgres.connect import LOCK_SPACE, MIGRATE_LOCK

if TYPE_CHECKING:
    import psycopg

_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")
PGVECTOR_MIN = (0, 8)  # hnsw.iterative_scan, for filters inside the vector search
TABLE = """CREATE TABLE IF NOT EXISTS schema_version(
    version integer PRIMARY KEY, name text NOT NULL,
    applied timestamptz NOT NULL DEFAULT now())"""


@dataclass(frozen=True)
class Migration:
    """One SQL file: its number, its name and its statements."""

    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every shipped migration, in order."""
    folder = resources.files("index.postgres") / "migrations"
    found = []
    for item in folder.iterdir():
        if m := _FILE.match(item.name):
            found.append(Migration(int(m[1]), m[2], item.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def migrate(conn: psycopg.Connection[Any], where: str) -> list[int]:
    """Apply the pending migrations (where: the masked URL, for messages); the versions
    applied, none when the schema was up to date."""
    known = migrations()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_SPACE, MIGRATE_LOCK))
        check_pgvector(conn, where)
        row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
        have = {int(r[0]) for r in conn.execute("SELECT version FROM schema_version")} if (
            row and row[0]) else set()
        newest = max((m.version for m in known), default=0)
        if have and max(have) > newest:
            raise DatabaseError(f"the database at {where} has schema version {max(have)}, newer "
                                f"than this tanya knows ({newest}); upgrade tanya")
        applied = []
        if any(m.version not in have for m in known):
            conn.execute(TABLE)  # no DDL at all when up to date: a read-only role may connect
        for m in known:
            if m.version not in have:
                conn.execute(m.sql.encode())  # several statements: no parameters
                conn.execute("INSERT INTO schema_version(version, name) VALUES (%s, %s)",
                             (m.version, m.name))
                applied.append(m.version)
    return applied


def check_pgvector(conn: psycopg.Connection[Any], where: str) -> None:
    """DatabaseError naming pgvector when the server lacks it or has one older than 0.8."""
    row = conn.execute("SELECT coalesce(installed_version, default_version) "
                       "FROM pg_available_extensions WHERE name = 'vector'").fetchone()
    if row is None:
        raise DatabaseError(f"PostgreSQL at {where} has no pgvector extension (`vector` is not "
                            "among its available extensions); install pgvector 0.8 or newer "
                            "on the server")
    version = tuple(int(p) for p in re.findall(r"\d+", str(row[0]))[:2])
    if version < PGVECTOR_MIN:
        raise DatabaseError(f"PostgreSQL at {where} has pgvector {row[0]}; tanya needs 0.8 or "
                            "newer (iterative index scans)")
