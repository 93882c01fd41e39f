"""The read view of the index in PostgreSQL: the same answers as index.store.IndexStore.

Dense candidates come from the HNSW index of pgvector (cosine), keyword candidates from
the tsvector of each chunk ranked by ts_rank_cd; the filters are conditions of both queries,
and `hnsw.iterative_scan` lets the vector index go on scanning until n chunks that pass are
found (pgvector 0.8), so a filtered search still returns k hits when k exist.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from index.embedding import Embedder, Vectors
from index.errors import ArticleNotFoundError, IndexNotFoundError
from index.filters import Filters
from index.postgres import textsearch
from index.postgres.connect import open_database, translated
from index.postgres.filtering import chunk_restriction
from index.postgres.urls import Database
from index.records import Article, Hit
from index.store import FORMAT_VERSION, IndexMeta, StoredArticle, fts_query

if TYPE_CHECKING:
    import psycopg

# ts_rank_cd's weights for {D, C, B, A}: the title is B, the text A (FTS5's bm25 weights
# 0.5 and 1.0). Normalization 2 divides by the chunk's length. ts_rank_cd knows no inverse
# document frequency, so alone it ranks below FTS5's BM25 (FacQA recall@5 0.82 against 0.93);
# fused with the dense side it is level (0.956 against 0.957, tests/test_pg_recall.py), where
# normalization 0, 1, 4, 8, 16 and 32 gave 0.941 to 0.954.
RANK_WEIGHTS = "{0.1,0.2,0.5,1.0}"
RANK_NORMALIZATION = 2
EF_SEARCH = 200  # HNSW candidate list; at least n, at most 1000 (pgvector's limit)
META_COLS = "format_version, embed_model, dim, chunking, created, last_sync, probes, served_model"
_ARTICLE = ("a.id, a.title, a.text, a.source, a.url, a.published, a.outlet, a.language, "
            "a.content_hash, (SELECT count(*) FROM chunks c WHERE c.article_id = a.id)")
_HITS = """
SELECT c.id, c.article_id, a.title, substr(a.text, c.start + 1, c."end" - c.start), c.start,
       c."end", a.url, a.published, a.outlet
FROM chunks c JOIN articles a ON a.id = c.article_id WHERE c.id = ANY(%s)
"""
Scored = list[tuple[int, float]]


def read_meta(conn: psycopg.Connection[Any]) -> IndexMeta | None:
    """The index's meta row with live counts, None before the first sync."""
    row = conn.execute(f"SELECT {META_COLS}, (SELECT count(*) FROM articles), "
                       "(SELECT count(*) FROM chunks) FROM index_meta").fetchone()
    if row is None:
        return None
    return IndexMeta(int(row[0]), row[1], int(row[2]), row[3], row[4], row[5], int(row[8]),
                     int(row[9]), row[6], row[7])


def iter_articles(conn: psycopg.Connection[Any],
                  article_id: str | None = None) -> Iterator[StoredArticle]:
    """Stored articles in id order (one, with article_id)."""
    where = "WHERE a.id = %s" if article_id is not None else ""
    rows = conn.execute(f"SELECT {_ARTICLE} FROM articles a {where} ORDER BY a.id",
                        () if article_id is None else (article_id,)).fetchall()
    for r in rows:
        yield StoredArticle(Article(*r[:8]), r[8], int(r[9]))


def dense_sql(restrict: str) -> str:
    """The nearest-chunks query (parameters: the vector, the restriction's, the limit).

    Relaxed order is pgvector's faster iterative scan; the outer query sorts again."""
    where = f" WHERE {restrict}" if restrict else ""
    return ("WITH nearest AS MATERIALIZED (SELECT c.id, c.embedding <=> %s AS d FROM chunks c"
            f"{where} ORDER BY d LIMIT %s) SELECT id, 1 - d FROM nearest ORDER BY d, id")


class PgStore:
    """The index in PostgreSQL, read live: a sync's articles show as each one commits."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._conn = open_database(database.url)
        self._lock = threading.Lock()  # one connection, shared by the bot's threads
        meta = read_meta(self._conn)
        if meta is None or meta.format_version != FORMAT_VERSION:
            self._conn.close()
            raise IndexNotFoundError(database.masked)
        self.meta = meta
        self._version = self._meta_version()
        self._configs = textsearch.available(self._conn)

    def _meta_version(self) -> str | None:
        # every writer commit updates the meta row, so its row version (xmin) changes
        row = self._conn.execute("SELECT xmin::text FROM index_meta").fetchone()
        return None if row is None else str(row[0])

    @property
    def location(self) -> str:
        """The masked URL, for messages."""
        return self.database.masked

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def is_stale(self) -> bool:
        """True when the connection was lost, or a writer has committed since the open."""
        if self._conn.closed or self._conn.broken:
            return True
        try:
            with self._lock:
                version = self._meta_version()
        except Exception:  # a lost connection: reopening says what is wrong
            return True
        return version is None or version != self._version

    def candidates(self, embedder: Embedder, query: str, n: int,
                   filters: Filters | None) -> tuple[Scored, Scored]:
        """The n best by pgvector and by ts_rank_cd, both among the chunks that pass."""
        return self.dense_search(embedder.embed_query(query), n, filters), self.bm25_search(
            query, n, filters)

    def dense_search(self, query: Vectors, k: int,
                     filters: Filters | None = None) -> Scored:
        """(chunk id, cosine) of the k nearest chunks among those that pass the filters."""
        restrict, params = chunk_restriction(filters)
        sql = dense_sql(restrict)
        vector = query.reshape(-1).astype("float32")
        with translated(self.database.url), self._lock, self._conn.transaction():
            self._conn.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),"
                               " set_config('hnsw.ef_search', %s, true)",
                               (str(min(1000, max(EF_SEARCH, k))),))
            rows = self._conn.execute(sql, (vector, *params, k)).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def bm25_search(self, query: str, k: int, filters: Filters | None = None) -> Scored:
        """(chunk id, ts_rank_cd score) of the k best keyword matches (any word of the query),
        each chunk matched in its own language's configuration."""
        if not fts_query(query):
            return []
        restrict, params = chunk_restriction(filters)
        sql = (
            "WITH q AS (SELECT cfg, replace(plainto_tsquery(cfg::regconfig, %s)::text, "
            "' & ', ' | ')::tsquery AS query FROM unnest(%s::text[]) AS cfg) "
            f"SELECT c.id, ts_rank_cd('{RANK_WEIGHTS}', c.tsv, q.query, {RANK_NORMALIZATION}) "
            "AS s FROM chunks c JOIN q ON c.tsconfig = q.cfg WHERE c.tsv @@ q.query"
            f"{' AND ' + restrict if restrict else ''} ORDER BY s DESC, c.id LIMIT %s")
        with translated(self.database.url), self._lock:
            rows = self._conn.execute(sql, (query, list(self._configs), *params, k)).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def chunk_rows(self, ids: Sequence[int]) -> dict[int, Hit]:
        """Hits (score 0, no ranks) for the given chunk ids, keyed by id."""
        if not ids:
            return {}
        with translated(self.database.url), self._lock:
            rows = self._conn.execute(_HITS, (list(ids),)).fetchall()
        return {int(r[0]): Hit(int(r[0]), r[1], r[2], r[3], r[4], r[5], 0.0, r[6], r[7], r[8],
                               None, None) for r in rows}

    def articles(self) -> Iterator[StoredArticle]:
        """Every stored article with its hash and chunk count."""
        with translated(self.database.url), self._lock:
            found = list(iter_articles(self._conn))
        yield from found

    def article(self, article_id: str) -> StoredArticle:
        """One stored article by id."""
        with translated(self.database.url), self._lock:
            found = list(iter_articles(self._conn, article_id))
        if not found:
            raise ArticleNotFoundError(article_id)
        return found[0]

    def vector_index(self) -> str:
        """pgvector's HNSW index (cosine)."""
        return "hnsw (pgvector, cosine)"

    def size_bytes(self) -> int:
        """Bytes of the index's tables with their indexes and TOAST data."""
        with translated(self.database.url), self._lock:
            row = self._conn.execute(
                "SELECT sum(pg_total_relation_size(t::regclass)) FROM "
                "unnest(ARRAY['articles', 'chunks', 'index_meta']) AS t").fetchone()
        return int(row[0] or 0) if row else 0
