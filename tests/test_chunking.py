"""Chunking: whole sentences, offsets that quote the article exactly, sizes and overlap."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.chunking import ChunkSettings, chunk_article, embedding_text
from index.records import Article
from tests.conftest import SHARED

MUSK = SHARED / "articles" / "wargasipil-musk-openai-id.txt"
needs_shared = pytest.mark.skipif(not MUSK.is_file(), reason="../shared is not beside the checkout")


def _article(text: str, language: str | None = "id") -> Article:
    return Article("a", "Title", text, "src", language=language)


@needs_shared
def test_offsets_quote_the_article_exactly() -> None:
    article = _article(MUSK.read_text(encoding="utf-8"))
    chunks = chunk_article(article, ChunkSettings())
    assert len(chunks) >= 2
    for c in chunks:
        assert article.text[c.start : c.end] == c.text
        assert c.text == c.text.strip()
    assert chunks[0].start == 0
    assert chunks[-1].end == len(article.text.rstrip())


@needs_shared
def test_chunks_hold_whole_sentences_and_respect_the_cap() -> None:
    article = _article(MUSK.read_text(encoding="utf-8"))
    s = ChunkSettings(words=40, max_words=60, overlap_sentences=1)
    chunks = chunk_article(article, s)
    for c in chunks:
        assert len(c.text.split()) <= s.max_words
        assert c.text[-1] in ".?!”\"", c.text[-30:]
        assert c.start == 0 or c.text[0].isupper() or c.text[0] in "“\"", c.text[:30]


def test_overlap_repeats_one_sentence() -> None:
    text = " ".join(f"Sentence number {i} has exactly seven words." for i in range(30))
    chunks = chunk_article(_article(text, "en"), ChunkSettings(words=20, max_words=30))
    for a, b in pairwise(chunks):
        assert b.start < a.end, "consecutive chunks share a sentence"
    no_overlap = chunk_article(_article(text, "en"),
                               ChunkSettings(words=20, max_words=30, overlap_sentences=0))
    for a, b in pairwise(no_overlap):
        assert b.start >= a.end


def test_run_on_text_without_stops_is_cut_by_words() -> None:
    text = " ".join(f"kata{i}" for i in range(1000))
    chunks = chunk_article(_article(text), ChunkSettings(words=100, max_words=120))
    assert all(len(c.text.split()) <= 120 for c in chunks)
    assert sum(len(c.text.split()) for c in chunks) >= 1000


def test_tiny_tail_is_merged() -> None:
    text = ("This is a long sentence with quite a few words in it to fill space. " * 5
            + "Short end.")
    chunks = chunk_article(_article(text, "en"), ChunkSettings(words=60, max_words=80))
    assert chunks[-1].text.endswith("Short end.")
    assert len(chunks) == 1


def test_embedding_text_carries_the_title() -> None:
    assert embedding_text("Musk and OpenAI", "He left.") == "Musk and OpenAI\nHe left."
    assert embedding_text("", "He left.") == "He left."


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=3000),
       st.sampled_from(["id", "en", None, "zz"]))
def test_fuzz_offsets_always_inside_the_article(text: str, language: str | None) -> None:
    article = _article(text, language)
    for c in chunk_article(article, ChunkSettings(words=20, max_words=40)):
        assert 0 <= c.start < c.end <= len(text)
        assert text[c.start : c.end] == c.text
