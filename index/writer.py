"""The single writer of the index: changes go to a fresh generation, published on commit."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import filelock
import numpy as np

from index import generations, vectors
from index.embedding import Vectors
from index.embedding.fingerprint import VectorSpace
from index.errors import ArticleNotFoundError, IndexBusyError, IndexCorruptError
from index.records import Article, Chunk
from index.store import (
    ARTICLE_COLS,
    DB,
    FORMAT_VERSION,
    LOCK,
    META,
    SCHEMA,
    VECTORS,
    IndexMeta,
    StoredArticle,
    iter_articles,
    now_iso,
    read_meta,
)


@dataclass(frozen=True)
class CatalogRow:
    """The part of an article row that sync compares."""

    id: str
    content_hash: str
    metadata: tuple[str | None, ...]



class IndexWriter:
    """Exclusive writer: changes go to a fresh generation that is published on commit.

    Use as a context manager; leaving the block without `commit()` discards the changes.
    """

    def __init__(self, index_dir: Path, space: VectorSpace, chunking: str,
                 *, fresh: bool = False) -> None:
        self.index_dir = index_dir
        index_dir.mkdir(parents=True, exist_ok=True)
        self._lock = filelock.FileLock(str(index_dir / LOCK))
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout as exc:
            raise IndexBusyError(str(index_dir / LOCK)) from exc
        try:
            self._open(space, chunking, fresh)
        except BaseException:
            self._lock.release()
            raise

    def _open(self, space: VectorSpace, chunking: str, fresh: bool) -> None:
        self._previous = generations.current_generation(self.index_dir)
        generations.collect_garbage(self.index_dir, None)
        base = None if fresh else self._previous
        probes = None if space.probes is None else [list(r) for r in space.probes]
        if base is not None:
            old = read_meta(base)
            old.check_space(self.index_dir, space, chunking)
            # Recorded from the first sync that knows them (the name already matched).
            self.meta = old if old.probes is not None else replace(
                old, probes=probes, served_model=space.served_model)
        else:
            self.meta = IndexMeta(FORMAT_VERSION, space.name, space.dim, chunking, now_iso(),
                                  probes=probes, served_model=space.served_model)
        self.generation = generations.new_generation(self.index_dir)
        if base is not None:
            shutil.copyfile(base / DB, self.generation / DB)
            self._vectors = vectors.load(base / VECTORS)
        else:
            self._vectors = vectors.empty(self.meta.dim)
        self._db = sqlite3.connect(self.generation / DB, isolation_level=None)
        # The generation is private until published, so journaling buys nothing.
        self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
        if base is None:
            self._db.executescript(SCHEMA)
        self._db.execute("BEGIN")
        self._committed = False

    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if not self._committed:
            self._db.close()
            generations.discard(self.generation)
        self._lock.release()

    def catalog(self) -> dict[str, CatalogRow]:
        """source -> id, hash and metadata of every stored article (texts are not loaded)."""
        rows = self._db.execute(
            "SELECT source, id, content_hash, url, published, outlet, language FROM articles")
        return {r[0]: CatalogRow(r[1], r[2], (r[3], r[4], r[5], r[6])) for r in rows}

    def articles(self) -> Iterator[StoredArticle]:
        """Every article in the generation being written."""
        yield from iter_articles(self._db)

    def put(self, article: Article, chunks: Sequence[Chunk], vecs: Vectors) -> None:
        """Insert or replace an article with its chunks and their vectors."""
        if len(chunks) != len(vecs):
            raise ValueError("one vector per chunk is required")
        stamp = now_iso()
        row = self._db.execute("SELECT added FROM articles WHERE id = ?", (article.id,)).fetchone()
        if row is not None:
            self._drop_chunks(article.id)
            self._db.execute("DELETE FROM articles WHERE id = ?", (article.id,))
        self._db.execute(
            f"INSERT INTO articles({ARTICLE_COLS}, content_hash, added, updated) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (*_article_values(article), article.content_hash, row[0] if row else stamp, stamp),
        )
        ids: list[int] = []
        for chunk in chunks:
            cur = self._db.execute(
                'INSERT INTO chunks(article_id, ordinal, start, "end") VALUES (?,?,?,?)',
                (article.id, chunk.ordinal, chunk.start, chunk.end),
            )
            chunk_id = int(cur.lastrowid or 0)
            ids.append(chunk_id)
            self._db.execute("INSERT INTO chunks_fts(rowid, title, text) VALUES (?,?,?)",
                             (chunk_id, article.title, chunk.text))
        vectors.add(self._vectors, np.asarray(ids, dtype=np.int64), vecs)

    def update_metadata(self, article: Article) -> None:
        """Change url, date, outlet, source etc. of an article whose text is unchanged."""
        self._db.execute(
            "UPDATE articles SET source=?, url=?, published=?, outlet=?, language=?, updated=? "
            "WHERE id=?",
            (article.source, article.url, article.published, article.outlet, article.language,
             now_iso(), article.id),
        )

    def remove(self, article_id: str) -> None:
        """Delete an article, its chunks, their FTS rows and vectors."""
        if self._db.execute("SELECT 1 FROM articles WHERE id=?", (article_id,)).fetchone() is None:
            raise ArticleNotFoundError(article_id)
        self._drop_chunks(article_id)
        self._db.execute("DELETE FROM articles WHERE id = ?", (article_id,))

    def _drop_chunks(self, article_id: str) -> None:
        ids = [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE article_id=?",
                                              (article_id,))]
        self._db.executemany("DELETE FROM chunks_fts WHERE rowid=?", [(i,) for i in ids])
        self._db.execute("DELETE FROM chunks WHERE article_id=?", (article_id,))
        vectors.remove(self._vectors, np.asarray(ids, dtype=np.int64))

    def commit(self, *, synced: bool = True) -> IndexMeta:
        """Write everything to the new generation and publish it atomically."""
        self._db.execute("COMMIT")
        counts = self._db.execute(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM chunks)").fetchone()
        self._db.close()
        if int(counts[1]) != vectors.count(self._vectors):
            raise IndexCorruptError(str(self.generation), "chunk rows and vectors disagree")
        self._vectors = vectors.fit(self._vectors)
        vectors.save(self._vectors, self.generation / VECTORS)
        self.meta = replace(self.meta, articles=int(counts[0]), chunks=int(counts[1]),
                            last_sync=now_iso() if synced else self.meta.last_sync)
        (self.generation / META).write_text(json.dumps(asdict(self.meta), indent=2) + "\n",
                                            encoding="utf-8")
        generations.publish(self.index_dir, self.generation)
        self._committed = True
        generations.collect_garbage(self.index_dir, self._previous)
        return self.meta


def _article_values(a: Article) -> tuple[Any, ...]:
    return (a.id, a.title, a.text, a.source, a.url, a.published, a.outlet, a.language)
