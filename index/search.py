"""Hybrid retrieval: dense and keyword candidates fused by a weighted sum (FAISS and FTS5 BM25
in the embedded index, pgvector and ts_rank_cd in PostgreSQL: index.backend.Store).

Each candidate list is min-max normalized and the two are mixed with a fixed dense weight
(0.7 for the default multilingual-e5-small; benchmarks/retrieval.py measures it). The dense
side carries English questions over Indonesian articles, where BM25 matches little more than
names; BM25 adds exact names, numbers and rare words. Reciprocal rank fusion and a weight
that shifts toward BM25 when its top hit stands out both lost recall@1 on the English
questions (a name that BM25 finds is often in the wrong article).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from index.backend import Store
from index.embedding import Embedder
from index.filters import Filters
from index.records import Hit

Scored = Sequence[tuple[int, float]]


@dataclass(frozen=True)
class SearchSettings:
    """Fusion knobs; the defaults are the ones measured in benchmarks/retrieval.py."""

    candidates: int = 100
    dense_weight: float = 0.7


@dataclass(frozen=True)
class Fused:
    """One fused candidate before its text is loaded."""

    chunk_id: int
    score: float
    dense_rank: int | None
    bm25_rank: int | None


def _minmax(scored: Scored) -> dict[int, float]:
    if not scored:
        return {}
    values = [s for _, s in scored]
    hi, lo = max(values), min(values)
    return {i: (s - lo) / (hi - lo) if hi > lo else 1.0 for i, s in scored}


def fuse(dense: Scored, bm25: Scored, k: int, settings: SearchSettings) -> list[Fused]:
    """Mix both candidate lists into the k best chunk ids (ties keep dense order)."""
    w = settings.dense_weight
    d, b = _minmax(dense), _minmax(bm25)
    d_rank = {i: r for r, (i, _) in enumerate(dense, start=1)}
    b_rank = {i: r for r, (i, _) in enumerate(bm25, start=1)}
    ids = list(dict.fromkeys([*(i for i, _ in dense), *(i for i, _ in bm25)]))
    scored = [Fused(i, w * d.get(i, 0.0) + (1 - w) * b.get(i, 0.0), d_rank.get(i), b_rank.get(i))
              for i in ids]
    scored.sort(key=lambda f: -f.score)
    return scored[:k]


def search(store: Store, embedder: Embedder, query: str, k: int = 5,
           settings: SearchSettings | None = None, filters: Filters | None = None) -> list[Hit]:
    """The k best chunks for a query, with their article metadata, among those that pass the
    filters (applied to both candidate lists before ranking)."""
    settings = settings or SearchSettings()
    if not query.strip() or k <= 0:
        return []
    dense, bm25 = store.candidates(embedder, query, max(settings.candidates, k), filters)
    fused = fuse(dense, bm25, k, settings)
    rows = store.chunk_rows([f.chunk_id for f in fused])
    return [replace(rows[f.chunk_id], score=round(f.score, 4), dense_rank=f.dense_rank,
                    bm25_rank=f.bm25_rank) for f in fused if f.chunk_id in rows]
