"""The self-describing index directory: meta.json, vectors.faiss and tanya.db per generation.

Readers open the live generation read-only; a writer copies it into a new generation,
changes that copy and publishes it atomically (see generations.py).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import filelock
import numpy as np

from index import generations, vectors
from index.embedding import Vectors
from index.errors import (
    ArticleNotFoundError,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
)
from index.records import Article, Chunk, Hit

FORMAT_VERSION = 1
META, VECTORS, DB, LOCK = "meta.json", "vectors.faiss", "tanya.db", "lock"

_SCHEMA = """
CREATE TABLE articles(
    id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL, source TEXT NOT NULL UNIQUE,
    url TEXT, published TEXT, outlet TEXT, language TEXT,
    content_hash TEXT NOT NULL, added TEXT NOT NULL, updated TEXT NOT NULL);
CREATE INDEX articles_hash ON articles(content_hash);
CREATE TABLE chunks(
    id INTEGER PRIMARY KEY AUTOINCREMENT, article_id TEXT NOT NULL REFERENCES articles(id),
    ordinal INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL);
CREATE INDEX chunks_article ON chunks(article_id);
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    title, text, tokenize='porter unicode61 remove_diacritics 2');
"""
_ARTICLE_COLS = "id, title, text, source, url, published, outlet, language"
_HIT_SQL = """
SELECT c.id, c.article_id, a.title, substr(a.text, c.start + 1, c."end" - c.start), c.start,
       c."end", a.url, a.published, a.outlet
FROM chunks c JOIN articles a ON a.id = c.article_id WHERE c.id IN ({})
"""


def now_iso() -> str:
    """Current UTC time, second precision, ISO 8601."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class IndexMeta:
    """What meta.json records: enough to tell whether the index fits the configuration."""

    format_version: int
    embed_model: str
    dim: int
    chunking: str
    created: str
    last_sync: str | None = None
    articles: int = 0
    chunks: int = 0

    def check(self, path: Path, embed_model: str, chunking: str | None) -> None:
        """Raise IndexMismatchError when the configured model or chunking differ."""
        if self.embed_model != embed_model:
            raise IndexMismatchError(str(path), "embedding model", self.embed_model, embed_model)
        if chunking is not None and self.chunking != chunking:
            raise IndexMismatchError(str(path), "chunking", self.chunking, chunking)


def _read_meta(generation: Path) -> IndexMeta:
    path = generation / META
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        meta = IndexMeta(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise IndexCorruptError(str(path), str(exc)) from exc
    if meta.format_version != FORMAT_VERSION:
        raise IndexCorruptError(str(path), f"format version {meta.format_version} is not supported")
    return meta


@dataclass(frozen=True)
class StoredArticle:
    """An article row as kept in the index."""

    article: Article
    content_hash: str
    chunk_count: int


@dataclass(frozen=True)
class CatalogRow:
    """The part of an article row that sync compares."""

    id: str
    content_hash: str
    metadata: tuple[str | None, ...]


class IndexStore:
    """Read-only view of the live generation; cheap to reopen after a sync."""

    def __init__(self, index_dir: Path) -> None:
        generation = generations.current_generation(index_dir)
        if generation is None:
            raise IndexNotFoundError(str(index_dir))
        self.index_dir = index_dir
        self.generation = generation
        self.meta = _read_meta(generation)
        self._db = _connect_readonly(generation / DB)
        self._vectors = vectors.load(generation / VECTORS)

    def close(self) -> None:
        """Release the database connection."""
        self._db.close()

    def is_stale(self) -> bool:
        """True when a newer generation has been published since this one was opened."""
        return generations.current_generation(self.index_dir) != self.generation

    def dense_search(self, query: Vectors, k: int) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the k nearest chunks."""
        return vectors.search(self._vectors, query, k)

    def bm25_search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score, higher is better) of the k best keyword matches."""
        match = fts_query(query)
        if not match:
            return []
        rows = self._db.execute(
            "SELECT rowid, bm25(chunks_fts, 0.5, 1.0) AS s FROM chunks_fts "
            "WHERE chunks_fts MATCH ? ORDER BY s LIMIT ?",
            (match, k),
        ).fetchall()
        return [(int(r[0]), -float(r[1])) for r in rows]

    def chunk_rows(self, ids: Sequence[int]) -> dict[int, Hit]:
        """Hits (score 0, no ranks) for the given chunk ids, keyed by id."""
        out: dict[int, Hit] = {}
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            sql = _HIT_SQL.format(",".join("?" * len(part)))
            for r in self._db.execute(sql, part):
                out[int(r[0])] = Hit(r[0], r[1], r[2], r[3], r[4], r[5], 0.0, r[6], r[7], r[8],
                                     None, None)
        return out

    def articles(self) -> Iterator[StoredArticle]:
        """Every stored article with its hash and chunk count."""
        yield from _iter_articles(self._db)

    def article(self, article_id: str) -> StoredArticle:
        """One stored article by id."""
        for stored in _iter_articles(self._db, article_id):
            return stored
        raise ArticleNotFoundError(article_id)

    def vector_index(self) -> str:
        """The FAISS index type in use ('flat' or 'ivf<lists>')."""
        return vectors.kind(self._vectors)

    def size_bytes(self) -> int:
        """Bytes on disk of the live generation."""
        return sum(p.stat().st_size for p in self.generation.iterdir() if p.is_file())


def _iter_articles(db: sqlite3.Connection,
                   article_id: str | None = None) -> Iterator[StoredArticle]:
    where = "WHERE a.id = ?" if article_id is not None else ""
    sql = (
        f"SELECT {', '.join('a.' + c for c in _ARTICLE_COLS.split(', '))}, a.content_hash, "
        f"(SELECT count(*) FROM chunks c WHERE c.article_id = a.id) FROM articles a {where} "
        "ORDER BY a.id"
    )
    for r in db.execute(sql, () if article_id is None else (article_id,)):
        yield StoredArticle(Article(*r[:8]), r[8], int(r[9]))


def fts_query(text: str) -> str:
    """An FTS5 MATCH expression that ORs the query's words (quoted, so no syntax leaks in)."""
    words = dict.fromkeys(w.lower() for w in re.findall(r"\w+", text))
    return " OR ".join(f'"{w}"' for w in words)


def _connect_readonly(path: Path) -> sqlite3.Connection:
    # A published generation never changes, so SQLite may skip locking entirely.
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        db.execute("SELECT count(*) FROM articles").fetchone()
    except sqlite3.Error as exc:
        raise IndexCorruptError(str(path), str(exc)) from exc
    return db


class IndexWriter:
    """Exclusive writer: changes go to a fresh generation that is published on commit.

    Use as a context manager; leaving the block without `commit()` discards the changes.
    """

    def __init__(self, index_dir: Path, embed_model: str, dim: int, chunking: str,
                 *, fresh: bool = False) -> None:
        self.index_dir = index_dir
        index_dir.mkdir(parents=True, exist_ok=True)
        self._lock = filelock.FileLock(str(index_dir / LOCK))
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout as exc:
            raise IndexBusyError(str(index_dir / LOCK)) from exc
        try:
            self._open(embed_model, dim, chunking, fresh)
        except BaseException:
            self._lock.release()
            raise

    def _open(self, embed_model: str, dim: int, chunking: str, fresh: bool) -> None:
        self._previous = generations.current_generation(self.index_dir)
        generations.collect_garbage(self.index_dir, None)
        base = None if fresh else self._previous
        if base is not None:
            old = _read_meta(base)
            old.check(self.index_dir, embed_model, chunking)
            self.meta = old
        else:
            self.meta = IndexMeta(FORMAT_VERSION, embed_model, dim, chunking, now_iso())
        self.generation = generations.new_generation(self.index_dir)
        if base is not None:
            shutil.copyfile(base / DB, self.generation / DB)
            self._vectors = vectors.load(base / VECTORS)
        else:
            self._vectors = vectors.empty(dim)
        self._db = sqlite3.connect(self.generation / DB, isolation_level=None)
        # The generation is private until published, so journaling buys nothing.
        self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
        if base is None:
            self._db.executescript(_SCHEMA)
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
        yield from _iter_articles(self._db)

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
            f"INSERT INTO articles({_ARTICLE_COLS}, content_hash, added, updated) "
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
