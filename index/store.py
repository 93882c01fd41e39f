"""The self-describing index directory: meta.json, vectors.faiss and tanya.db per generation.

Readers (this module) open the live generation read-only; the writer (writer.py) copies it
into a new generation, changes that copy and publishes it atomically (see generations.py).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from index import generations, vectors
from index.embedding import Embedder, Vectors
from index.embedding.fingerprint import MIN_COSINE, VectorSpace
from index.errors import (
    ArticleNotFoundError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    VectorsMismatchError,
)
from index.filters import Filters
from index.records import Article, Hit

FORMAT_VERSION = 1
META, VECTORS, DB, LOCK = "meta.json", "vectors.faiss", "tanya.db", "lock"

SCHEMA = """
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
ARTICLE_COLS = "id, title, text, source, url, published, outlet, language"
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
    # What produced the vectors beyond the name (index.embedding.fingerprint); an index
    # written before they were recorded gets them at its next sync.
    probes: list[list[float]] | None = None
    served_model: str | None = None

    def check(self, path: Path | str, embed_model: str, chunking: str | None) -> None:
        """Raise IndexMismatchError when the configured model or chunking differ."""
        if self.embed_model != embed_model:
            raise IndexMismatchError(str(path), "embedding model", self.embed_model, embed_model)
        if chunking is not None and self.chunking != chunking:
            raise IndexMismatchError(str(path), "chunking", self.chunking, chunking)

    def check_space(self, path: Path | str, space: VectorSpace,
                    chunking: str | None) -> None:
        """Also refuse an embedder of another dimension, or whose probe vectors differ."""
        self.check(path, space.name, chunking)
        if self.dim != space.dim:
            raise IndexMismatchError(str(path), "embedding dimension", str(self.dim),
                                     str(space.dim))
        agreement = self.space().agreement(space)
        if agreement is not None and agreement < MIN_COSINE:
            raise VectorsMismatchError(str(path), self.space().origin(), space.origin(),
                                       agreement, MIN_COSINE)

    def space(self) -> VectorSpace:
        """What produced the stored vectors."""
        probes = None if self.probes is None else tuple(tuple(r) for r in self.probes)
        return VectorSpace(self.embed_model, self.dim, probes, self.served_model)


def read_meta(generation: Path) -> IndexMeta:
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


class IndexStore:
    """Read-only view of the live generation; cheap to reopen after a sync."""

    def __init__(self, index_dir: Path) -> None:
        generation = generations.current_generation(index_dir)
        if generation is None:
            raise IndexNotFoundError(str(index_dir))
        self.index_dir = index_dir
        self.generation = generation
        self.meta = read_meta(generation)
        self._db = _connect_readonly(generation / DB)
        self._vectors = vectors.load(generation / VECTORS)

    def close(self) -> None:
        """Release the database connection."""
        self._db.close()

    @property
    def location(self) -> str:
        """The index folder, for messages."""
        return str(self.index_dir)

    def is_stale(self) -> bool:
        """True when a newer generation has been published since this one was opened."""
        return generations.current_generation(self.index_dir) != self.generation

    def allowed_chunks(self, filters: Filters) -> list[int]:
        """Ids of the chunks whose article passes the filters."""
        where, params = filters.where()
        sql = f"SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id WHERE {where}"
        return [int(r[0]) for r in self._db.execute(sql, params)]

    def dense_search(self, query: Vectors, k: int,
                     allowed: Sequence[int] | None = None) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the k nearest chunks (among the allowed ones, if given)."""
        return vectors.search(self._vectors, query, k, allowed)

    def bm25_search(self, query: str, k: int,
                    filters: Filters | None = None) -> list[tuple[int, float]]:
        """(chunk id, BM25 score, higher is better) of the k best keyword matches."""
        match = fts_query(query)
        if not match:
            return []
        where, params = filters.where() if filters else ("1", [])
        restrict = "" if where == "1" else (
            " AND rowid IN (SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id "
            f"WHERE {where})")
        rows = self._db.execute(
            "SELECT rowid, bm25(chunks_fts, 0.5, 1.0) AS s FROM chunks_fts "
            f"WHERE chunks_fts MATCH ?{restrict} ORDER BY s LIMIT ?",
            (match, *params, k),
        ).fetchall()
        return [(int(r[0]), -float(r[1])) for r in rows]

    def candidates(self, embedder: Embedder, query: str, n: int,
                   filters: Filters | None) -> tuple[list[tuple[int, float]],
                                                     list[tuple[int, float]]]:
        """The n best by FAISS and by FTS5 BM25, both restricted to the chunks that pass."""
        allowed = self.allowed_chunks(filters) if filters else None
        if allowed is not None and not allowed:
            return [], []
        dense = self.dense_search(embedder.embed_query(query), n, allowed)
        return dense, self.bm25_search(query, n, filters)

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
        yield from iter_articles(self._db)

    def article(self, article_id: str) -> StoredArticle:
        """One stored article by id."""
        for stored in iter_articles(self._db, article_id):
            return stored
        raise ArticleNotFoundError(article_id)

    def vector_index(self) -> str:
        """The FAISS index type in use ('flat' or 'ivf<lists>')."""
        return vectors.kind(self._vectors)

    def size_bytes(self) -> int:
        """Bytes on disk of the live generation."""
        return sum(p.stat().st_size for p in self.generation.iterdir() if p.is_file())


def iter_articles(db: sqlite3.Connection,
                   article_id: str | None = None) -> Iterator[StoredArticle]:
    where = "WHERE a.id = ?" if article_id is not None else ""
    sql = (
        f"SELECT {', '.join('a.' + c for c in ARTICLE_COLS.split(', '))}, a.content_hash, "
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
