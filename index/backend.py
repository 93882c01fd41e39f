"""Where the index lives, behind one interface: the embedded generation store under a folder
(FAISS + SQLite, index.store and index.writer) or PostgreSQL (a Database, index.postgres).

search, sync, the engine and the command line use `Store` and `Writer` and open them here;
which one a location gets is its type: a Path is the embedded index, a Database the server.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol

from index.embedding import Embedder, Vectors
from index.embedding.fingerprint import VectorSpace
from index.filters import Filters
from index.postgres.urls import Database
from index.records import Article, Chunk, Hit
from index.store import IndexMeta, IndexStore, StoredArticle
from index.writer import CatalogRow, IndexWriter

Location = Path | Database
Scored = list[tuple[int, float]]


class Store(Protocol):
    """A read view of the index: what search, the answer pipeline and `index status` need."""

    meta: IndexMeta

    @property
    def location(self) -> str:
        """Where the index is, as it may be shown (a folder, or the masked URL)."""

    def is_stale(self) -> bool:
        """True when the view should be reopened (a newer generation, a lost connection)."""

    def close(self) -> None:
        """Release files or connections."""

    def candidates(self, embedder: Embedder, query: str, n: int,
                   filters: Filters | None) -> tuple[Scored, Scored]:
        """The n best (chunk id, score) by dense similarity and by keywords, both among the
        chunks that pass the filters."""

    def bm25_search(self, query: str, k: int, filters: Filters | None = None) -> Scored:
        """The keyword candidates alone (chunk id, score, higher is better)."""

    def chunk_rows(self, ids: Sequence[int]) -> dict[int, Hit]:
        """Hits (score 0, no ranks) for the given chunk ids, keyed by id."""

    def articles(self) -> Iterator[StoredArticle]:
        """Every stored article with its hash and chunk count."""

    def article(self, article_id: str) -> StoredArticle:
        """One stored article by id."""

    def vector_index(self) -> str:
        """The kind of vector index in use."""

    def size_bytes(self) -> int:
        """Bytes the index takes."""


class Writer(Protocol):
    """The single writer: what sync, add, remove and rebuild need."""

    meta: IndexMeta

    def __enter__(self) -> Writer: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def catalog(self) -> dict[str, CatalogRow]:
        """source -> id, hash and metadata of every stored article."""

    def articles(self) -> Iterator[StoredArticle]:
        """Every article as the writer sees it."""

    def put(self, article: Article, chunks: Sequence[Chunk], vecs: Vectors) -> None:
        """Insert or replace an article with its chunks and their vectors."""

    def update_metadata(self, article: Article) -> None:
        """Change the metadata of an article whose text is unchanged."""

    def remove(self, article_id: str) -> None:
        """Delete an article with its chunks."""

    def commit(self, *, synced: bool = True) -> IndexMeta:
        """Make the changes final; the index's meta after them."""


def open_store(where: Location) -> Store:
    """A read view of the index at `where`."""
    if isinstance(where, Database):
        from index.postgres.store import PgStore

        return PgStore(where)
    return IndexStore(where)


def open_writer(where: Location, space: VectorSpace, chunking: str, *,
                fresh: bool = False) -> Writer:
    """The exclusive writer of the index at `where` (IndexBusyError while another writes);
    fresh: start from an empty index (a rebuild)."""
    if isinstance(where, Database):
        from index.postgres.writer import PgWriter

        return PgWriter(where, space, chunking, fresh=fresh)
    return IndexWriter(where, space, chunking, fresh=fresh)
