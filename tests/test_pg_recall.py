"""Recall through PostgreSQL against the embedded FAISS + FTS5 index, with the same vectors:
FacQA's Indonesian questions over its passages, with the real bundled e5."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.evaluation.runner import ranks_to_metrics
from bot.evaluation.sets import QASet, load
from index.backend import Location, open_store
from index.chunking import ChunkSettings
from index.embedding import Embedder, Vectors
from index.postgres.urls import Database
from index.search import search
from index.sources import SourceLimits
from index.sync import sync
from tests.conftest import SHARED

FACQA = SHARED / "datasets" / "facqa"
TOLERANCE = 0.01


class Remembering:
    """An embedder that embeds each text once: both indexes get the very same vectors."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self._seen: dict[tuple[str, str], Vectors] = {}

    @property
    def name(self) -> str:
        """The inner embedder's name."""
        return self.inner.name

    @property
    def dim(self) -> int:
        """The inner embedder's dimension."""
        return self.inner.dim

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Passage vectors, each computed once."""
        todo = [t for t in dict.fromkeys(texts) if ("p", t) not in self._seen]
        if todo:
            for text, vec in zip(todo, self.inner.embed_passages(todo), strict=True):
                self._seen["p", text] = vec
        return np.stack([self._seen["p", t] for t in texts]).astype(np.float32)

    def embed_query(self, text: str) -> Vectors:
        """A query vector, computed once."""
        if ("q", text) not in self._seen:
            self._seen["q", text] = self.inner.embed_query(text)
        return self._seen["q", text]


def recall_at_5(where: Location, qa: QASet, emb: Embedder) -> float:
    """recall@5 of the articles hybrid search ranks for the answerable questions."""
    store = open_store(where)
    ranks: list[int | None] = []
    try:
        for item in (i for i in qa.items if i.answerable):
            articles = list(dict.fromkeys(
                h.article_id for h in search(store, emb, item.question, 10)))
            ranks.append(articles.index(item.passage_id) + 1
                         if item.passage_id in articles else None)
    finally:
        store.close()
    return ranks_to_metrics(ranks)["recall@5"]


@pytest.mark.slow
def test_recall_through_postgresql_matches_the_embedded_index(pg_url: str,
                                                              tmp_path: Path) -> None:
    from index.embedding.bundled import BundledE5Embedder

    qa = load(FACQA)
    source = tmp_path / "facqa.jsonl"
    source.write_text("".join(json.dumps({"id": pid, "text": text, "language": "id"},
                                         ensure_ascii=False) + "\n"
                              for pid, text in qa.passages.items()), encoding="utf-8")
    emb = Remembering(BundledE5Embedder())
    for where in (tmp_path / "index", Database(pg_url)):
        sync(where, [str(source)], emb, ChunkSettings(), SourceLimits())
    embedded = recall_at_5(tmp_path / "index", qa, emb)
    postgres = recall_at_5(Database(pg_url), qa, emb)
    print(f"recall@5 FacQA: FAISS + FTS5 {embedded:.3f}, PostgreSQL {postgres:.3f}")
    assert embedded > 0.5, "the embedded index itself works"
    assert abs(postgres - embedded) <= TOLERANCE, (embedded, postgres)
