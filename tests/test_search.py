"""Hybrid fusion rules and the search function on a real (small) index."""

from __future__ import annotations

from pathlib import Path

from index.search import SearchSettings, dense_weight, fuse, search
from index.store import IndexStore, fts_query
from tests.conftest import run_sync
from tests.fakes import HashingEmbedder

S = SearchSettings()


def test_no_keyword_match_means_dense_alone() -> None:
    fused = fuse([(1, 0.9), (2, 0.5)], [], 2, S)
    assert [f.chunk_id for f in fused] == [1, 2]
    assert dense_weight([], S) == 1.0


def test_clear_bm25_winner_shrinks_the_dense_weight() -> None:
    clear = dense_weight([(1, 10.0), (2, 1.0)], S)
    unsure = dense_weight([(1, 10.0), (2, 9.5)], S)
    assert clear < unsure <= S.dense_weight
    fused = fuse([(2, 0.9), (1, 0.8)], [(1, 10.0), (2, 1.0)], 2, S)
    assert [f.chunk_id for f in fused] == [1, 2]
    assert fused[0].bm25_rank == 1 and fused[0].dense_rank == 2


def test_close_bm25_scores_let_dense_decide() -> None:
    bm25 = [(1, 10.0), (2, 9.9), (3, 2.0), (4, 1.0)]
    fused = fuse([(2, 0.9), (1, 0.1), (3, 0.0)], bm25, 2, S)
    assert fused[0].chunk_id == 2


def test_fts_query_quotes_words_so_syntax_cannot_leak() -> None:
    assert fts_query('Musk AND "OpenAI" NEAR(x) -y*') == \
        '"musk" OR "and" OR "openai" OR "near" OR "x" OR "y"'
    assert fts_query("?!") == ""


def test_search_returns_hits_with_metadata(index_dir: Path, corpus: Path,
                                           embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    store = IndexStore(index_dir)
    hits = search(store, embedder, "Why did Musk leave OpenAI?", k=2)
    assert hits[0].article_id == "musk" and hits[0].outlet == "Kabar"
    assert hits[0].published == "2023-04-12" and "power struggle" in hits[0].text
    assert hits[0].score >= hits[1].score
    assert search(store, embedder, "   ", k=3) == []
    assert len(search(store, embedder, "frog", k=50)) == 3
