"""Run a sync into PostgreSQL in a child process and stop it inside one article's transaction
(used by test_pg_index.py): `kill` SIGKILLs the process once the article's rows are written
but not committed; `stall` writes a marker file and waits there for the test to end the
connection (pg_terminate_backend).

    python -m tests.pg_crash_child URL FOLDER N kill|stall [MARKER]
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from index.chunking import ChunkSettings
from index.embedding import Vectors
from index.postgres.urls import Database
from index.postgres.writer import PgWriter
from index.records import Article, Chunk
from index.sources import SourceLimits
from index.sync import sync
from tests.fakes import HashingEmbedder


def _arm(n: int, how: str, marker: Path | None) -> None:
    real_put, calls = PgWriter.put, [0]

    def put(self: PgWriter, article: Article, chunks: Sequence[Chunk], vecs: Vectors) -> None:
        calls[0] += 1
        if calls[0] < n:
            real_put(self, article, chunks, vecs)
            return
        # the article's own transaction runs inside this one, which never commits
        with self._conn.transaction():
            real_put(self, article, chunks, vecs)
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            assert marker is not None
            marker.write_text(article.id, encoding="utf-8")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # until the test ends the connection
                self._conn.execute("SELECT pg_sleep(0.1)")

    PgWriter.put = put  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    """Sync FOLDER into URL, stopping in the N-th article written."""
    url, folder, n, how = argv[:4]
    _arm(int(n), how, Path(argv[4]) if len(argv) > 4 else None)
    sync(Database(url), [folder], HashingEmbedder(), ChunkSettings(), SourceLimits())


if __name__ == "__main__":
    main(sys.argv[1:])
