"""Hybrid fusion rules and the search function on a real (small) index."""

from __future__ import annotations

from pathlib import Path

from index.search import SearchSettings, fuse, search
from index.store import IndexStore, fts_query
from tests.conftest import run_sync
from tests.fakes import HashingEmbedder

S = SearchSettings()


def test_no_keyword_match_means_dense_alone() -> None:
    fused = fuse([(1, 0.9), (2, 0.5)], [], 2, S)
    assert [f.chunk_id for f in fused] == [1, 2]


def test_dense_leads_and_bm25_breaks_near_ties() -> None:
    # Dense prefers 2 clearly: BM25's preference for 1 cannot overturn it at weight 0.7.
    fused = fuse([(2, 0.9), (1, 0.6), (3, 0.5)], [(1, 10.0), (2, 5.0), (3, 1.0)], 3, S)
    assert [f.chunk_id for f in fused][:2] == [2, 1]
    assert fused[1].bm25_rank == 1 and fused[1].dense_rank == 2
    # Dense nearly ties 1 and 2: BM25 decides.
    fused = fuse([(2, 0.90), (1, 0.89), (3, 0.5)], [(1, 10.0), (3, 2.0), (2, 1.0)], 2, S)
    assert fused[0].chunk_id == 1


def test_a_bm25_only_candidate_can_enter_the_top_k() -> None:
    fused = fuse([(1, 0.9), (2, 0.8), (3, 0.1)], [(4, 10.0), (1, 9.0)], 3, S)
    assert 4 in [f.chunk_id for f in fused] and fused[0].chunk_id == 1


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
