"""The single writer of the index in PostgreSQL: one transaction per article.

A session-level advisory lock (LOCK_SPACE, WRITER_LOCK) keeps writers apart; PostgreSQL
releases it when the writer's connection ends, a killed process included. Each `put` or
metadata change commits on its own, so readers never see half an article and a sync that
dies loses only the article it was writing: the next sync finds the others unchanged by
their content hash. Removals wait for `commit` and go together (all or nothing, as
`tanya index remove` promises). A rebuild (`fresh`) is one transaction from start to end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from types import TracebackType
from typing import Any

from index.embedding import Vectors
from index.embedding.fingerprint import VectorSpace
from index.errors import ArticleNotFoundError, IndexBusyError
from index.postgres import textsearch
from index.postgres.connect import LOCK_SPACE, WRITER_LOCK, open_database, translated
from index.postgres.store import META_COLS, iter_articles, read_meta
from index.postgres.urls import Database
from index.records import Article, Chunk
from index.store import FORMAT_VERSION, IndexMeta, StoredArticle, now_iso
from index.writer import CatalogRow

_CHUNK = ('INSERT INTO chunks(article_id, ordinal, start, "end", embedding, tsconfig, tsv) '
          "VALUES (%s, %s, %s, %s, %s, %s, setweight(to_tsvector(%s::regconfig, %s), 'B') || "
          "setweight(to_tsvector(%s::regconfig, %s), 'A'))")


class PgWriter:
    """Exclusive writer; use as a context manager. Leaving without `commit()` keeps the
    articles already put (each was its own transaction) and drops pending removals."""

    def __init__(self, database: Database, space: VectorSpace, chunking: str,
                 *, fresh: bool = False) -> None:
        self.database = database
        self._conn = open_database(database.url)
        try:
            with translated(database.url):
                locked = self._conn.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                            (LOCK_SPACE, WRITER_LOCK)).fetchone()
                if not locked or not locked[0]:
                    raise IndexBusyError(f"PostgreSQL advisory lock ({LOCK_SPACE}, {WRITER_LOCK}) "
                                         f"on {database.masked}")
                self._configs = textsearch.available(self._conn)
                self._removing: list[str] = []
                self._fresh: AbstractContextManager[Any] | None = None
                if fresh:  # a rebuild: readers keep the old index until it commits
                    self._fresh = self._conn.transaction()
                    self._fresh.__enter__()
                    self._conn.execute("DELETE FROM articles")
                self.meta = self._open(space, chunking, fresh)
        except BaseException:
            self._conn.close()
            raise
        self._committed = False

    def _open(self, space: VectorSpace, chunking: str, fresh: bool) -> IndexMeta:
        probes = None if space.probes is None else [list(r) for r in space.probes]
        old = None if fresh else read_meta(self._conn)
        if old is not None:
            old.check_space(self.database.masked, space, chunking)
            if old.probes is None:  # recorded from the first sync that knows them
                self._conn.execute("UPDATE index_meta SET probes = %s, served_model = %s",
                                   (json.dumps(probes), space.served_model))
                old = replace(old, probes=probes, served_model=space.served_model)
            return old
        meta = IndexMeta(FORMAT_VERSION, space.name, space.dim, chunking, now_iso(),
                         probes=probes, served_model=space.served_model)
        with self._conn.transaction():
            self._conn.execute("DELETE FROM index_meta")
            self._conn.execute(
                f"INSERT INTO index_meta({META_COLS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (meta.format_version, meta.embed_model, meta.dim, meta.chunking, meta.created,
                 meta.last_sync, json.dumps(probes), meta.served_model))
            # the vector column takes the embedder's dimension, and its HNSW index
            self._conn.execute("DROP INDEX IF EXISTS chunks_embedding")
            self._conn.execute("ALTER TABLE chunks ALTER COLUMN embedding "
                               f"TYPE vector({int(space.dim)})")
            self._conn.execute("CREATE INDEX chunks_embedding ON chunks "
                               "USING hnsw (embedding vector_cosine_ops)")
        return meta

    def __enter__(self) -> PgWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # closing the connection rolls back what is open and releases the advisory lock
        self._conn.close()

    def catalog(self) -> dict[str, CatalogRow]:
        """source -> id, hash and metadata of every stored article (texts are not loaded)."""
        with translated(self.database.url):
            rows = self._conn.execute("SELECT source, id, content_hash, url, published, "
                                      "outlet, language FROM articles").fetchall()
        return {r[0]: CatalogRow(r[1], r[2], (r[3], r[4], r[5], r[6])) for r in rows}

    def articles(self) -> Iterator[StoredArticle]:
        """Every stored article."""
        with translated(self.database.url):
            found = list(iter_articles(self._conn))
        yield from found

    def put(self, article: Article, chunks: Sequence[Chunk], vecs: Vectors) -> None:
        """Insert or replace an article with its chunks and vectors, in one transaction."""
        if len(chunks) != len(vecs):
            raise ValueError("one vector per chunk is required")
        config = textsearch.config_for(article.language, self._configs)
        stamp = now_iso()
        with translated(self.database.url), self._conn.transaction():
            row = self._conn.execute("SELECT added FROM articles WHERE id = %s FOR UPDATE",
                                     (article.id,)).fetchone()
            self._conn.execute("DELETE FROM articles WHERE id = %s", (article.id,))
            self._conn.execute(
                "INSERT INTO articles(id, title, text, source, url, published, outlet, language, "
                "content_hash, added, updated) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (article.id, article.title, article.text, article.source, article.url,
                 article.published, article.outlet, article.language, article.content_hash,
                 row[0] if row else stamp, stamp))
            with self._conn.cursor() as cur:
                cur.executemany(_CHUNK, [
                    (article.id, c.ordinal, c.start, c.end, vecs[i].astype("float32"), config,
                     config, article.title, config, c.text) for i, c in enumerate(chunks)])

    def update_metadata(self, article: Article) -> None:
        """Change url, date, outlet, source etc. of an article whose text is unchanged."""
        with translated(self.database.url):
            self._conn.execute(
                "UPDATE articles SET source=%s, url=%s, published=%s, outlet=%s, language=%s, "
                "updated=%s WHERE id=%s",
                (article.source, article.url, article.published, article.outlet,
                 article.language, now_iso(), article.id))

    def remove(self, article_id: str) -> None:
        """Mark an article for deletion at commit; ArticleNotFoundError now if there is none."""
        with translated(self.database.url):
            row = self._conn.execute("SELECT 1 FROM articles WHERE id = %s",
                                     (article_id,)).fetchone()
        if row is None:
            raise ArticleNotFoundError(article_id)
        self._removing.append(article_id)

    def commit(self, *, synced: bool = True) -> IndexMeta:
        """Delete the marked articles, stamp the sync and end a rebuild's transaction."""
        with translated(self.database.url):
            with self._conn.transaction():
                self._conn.execute("DELETE FROM articles WHERE id = ANY(%s)",
                                   (self._removing,))
                # always an update: the row's new version tells readers to reopen (PgStore)
                self._conn.execute("UPDATE index_meta SET last_sync = CASE WHEN %s THEN %s "
                                   "ELSE last_sync END", (synced, now_iso()))
            if self._fresh is not None:
                self._fresh.__exit__(None, None, None)
                self._fresh = None
            meta = read_meta(self._conn)
        self._removing = []
        assert meta is not None  # written when the writer opened
        self.meta = meta
        self._committed = True
        return meta
