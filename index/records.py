"""Plain data records that flow through the index pipeline: Article -> Chunk -> Hit."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


def content_hash(title: str, text: str) -> str:
    """Hash of what gets embedded; metadata-only edits keep the same hash."""
    return hashlib.sha256(f"{title}\n\x00{text}".encode()).hexdigest()


@dataclass(frozen=True)
class Article:
    """One article as read from its source, before chunking."""

    id: str
    title: str
    text: str
    source: str
    url: str | None = None
    published: str | None = None
    outlet: str | None = None
    language: str | None = None

    @property
    def content_hash(self) -> str:
        """Hash of title and text, used by sync to find changed articles."""
        return content_hash(self.title, self.text)


@dataclass(frozen=True)
class SourceFailure:
    """A source that could not be read, with the reason in one line."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of one article; text == article.text[start:end]."""

    article_id: str
    ordinal: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its article's metadata and the fused score."""

    chunk_id: int
    article_id: str
    title: str
    text: str
    start: int
    end: int
    score: float
    url: str | None
    published: str | None
    outlet: str | None
    dense_rank: int | None
    bm25_rank: int | None
