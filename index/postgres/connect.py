"""One connection to the database of TANYA_DATABASE_URL; a failure is one line naming the
server by its masked URL.

`open_database` is what everything else uses: it connects, applies the schema migrations
(index.postgres.migrate) and registers pgvector's type, so a caller gets a ready connection
or a DatabaseError. Advisory lock keys are (LOCK_SPACE, n): n = MIGRATE_LOCK for migrations,
WRITER_LOCK for the index writer; a new user of advisory locks takes the next n.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from index.errors import DatabaseError
from index.postgres.urls import mask, scrub

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT_S = 5
LOCK_SPACE = 0x74616E79  # "tany"
MIGRATE_LOCK = 1
WRITER_LOCK = 2
EXTRA = "pip install 'tanya[postgres]'"


def driver() -> Any:
    """The psycopg module, or a DatabaseError saying which extra to install."""
    try:
        import pgvector.psycopg  # noqa: F401
        import psycopg
    except ImportError as exc:
        raise DatabaseError(f"TANYA_DATABASE_URL needs psycopg and pgvector ({exc.name} is "
                            f"missing): {EXTRA}") from None
    return psycopg


def reason(exc: BaseException, url: str) -> str:
    """The first line of a driver error, scrubbed of the password."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return scrub(lines[0] if lines else type(exc).__name__, url)


def connect(url: str, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    """A plain connection (no migration); DatabaseError with the masked URL when it fails."""
    pg = driver()
    try:
        conn: psycopg.Connection[Any] = pg.connect(
            url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S,
            application_name="tanya")
    except pg.Error as exc:
        # `from None`: the driver's own message is already in this one, scrubbed
        raise DatabaseError(f"cannot connect to PostgreSQL at {mask(url)}: "
                            f"{reason(exc, url)}") from None
    return conn


def open_database(url: str, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    """A connection to a database whose schema is up to date, with pgvector's type known."""
    from pgvector.psycopg import register_vector

    from index.postgres import migrate

    conn = connect(url)
    try:
        migrate.migrate(conn, mask(url))
        register_vector(conn)
        conn.autocommit = autocommit
    except driver().Error as exc:
        conn.close()
        raise DatabaseError(f"cannot use PostgreSQL at {mask(url)}: {reason(exc, url)}") from None
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def translated(url: str) -> Iterator[None]:
    """Turn a driver error inside the block (a lost connection, a value the server refuses)
    into one DatabaseError line naming the server by its masked URL."""
    pg = driver()
    try:
        yield
    except pg.Error as exc:
        raise DatabaseError(f"PostgreSQL at {mask(url)} failed: {reason(exc, url)}") from None
