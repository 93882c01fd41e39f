"""Sentence-aware chunking with character offsets into the article text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from sentencex import get_sentence_boundaries

from index.records import Article, Chunk

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class ChunkSettings:
    """How articles are cut; stored in the index so a change forces a rebuild."""

    words: int = 120
    max_words: int = 160
    overlap_sentences: int = 1

    def __post_init__(self) -> None:
        if not 10 <= self.words <= self.max_words:
            raise ValueError(
                f"chunk words must be 10..max_words, got {self.words}/{self.max_words}")
        if self.overlap_sentences < 0:
            raise ValueError("chunk overlap must be >= 0 sentences")

    def describe(self) -> str:
        """A stable one-line form, stored in meta.json and compared on open."""
        return f"sentences:{self.words}w/max{self.max_words}w/overlap{self.overlap_sentences}"


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    words: int


def sentence_bounds(text: str, language: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, surrounding whitespace trimmed, empty ones dropped."""
    bounds = []
    for b in get_sentence_boundaries(language, text):
        start, end = int(b["start_index"]), int(b["end_index"])
        piece = text[start:end]
        if piece.strip():
            start += len(piece) - len(piece.lstrip())
            bounds.append((start, start + len(piece.strip())))
    return bounds


def _sentence_spans(text: str, language: str, max_words: int) -> list[_Span]:
    """Sentence spans, run-on ones cut to at most max_words."""
    spans: list[_Span] = []
    for start, end in sentence_bounds(text, language):
        spans.extend(_split_long(text, start, end, max_words))
    return spans


def _split_long(text: str, start: int, end: int, limit: int) -> Iterator[_Span]:
    """Cut a run-on 'sentence' (tables, lists without stops) into word windows."""
    words = list(_WORD.finditer(text, start, end))
    for i in range(0, len(words), limit):
        group = words[i : i + limit]
        yield _Span(group[0].start(), group[-1].end(), len(group))


def chunk_article(article: Article, settings: ChunkSettings) -> list[Chunk]:
    """Pack whole sentences into chunks of about `settings.words` words, with overlap."""
    spans = _sentence_spans(article.text, _language_code(article.language), settings.max_words)
    groups: list[list[_Span]] = []
    i = 0
    while i < len(spans):
        group = [spans[i]]
        count = spans[i].words
        j = i + 1
        while j < len(spans) and count < settings.words:
            if count + spans[j].words > settings.max_words:
                break
            group.append(spans[j])
            count += spans[j].words
            j += 1
        groups.append(group)
        if j >= len(spans):
            break
        i = max(j - settings.overlap_sentences, i + 1)
    groups = _merge_short_tail(groups, settings)
    return [
        Chunk(article.id, n, g[0].start, g[-1].end, article.text[g[0].start : g[-1].end])
        for n, g in enumerate(groups)
    ]


def _merge_short_tail(groups: list[list[_Span]], settings: ChunkSettings) -> list[list[_Span]]:
    """Fold a tiny last chunk into its predecessor when that stays under max_words."""
    if len(groups) < 2:
        return groups
    last, prev = groups[-1], groups[-2]
    new_tail = [s for s in last if s.start >= prev[-1].end]
    tail_words = sum(s.words for s in new_tail)
    prev_words = sum(s.words for s in prev)
    if tail_words < settings.words // 3 and prev_words + tail_words <= settings.max_words:
        return [*groups[:-2], prev + new_tail]
    return groups


def _language_code(language: str | None) -> str:
    """sentencex wants a bare ISO code; unknown or missing falls back to English rules."""
    if not language:
        return "en"
    return language.split("-")[0].split("_")[0].lower() or "en"


def embedding_text(title: str, chunk_text: str) -> str:
    """The text that is embedded for a chunk: the article title carries context."""
    return f"{title}\n{chunk_text}" if title else chunk_text
