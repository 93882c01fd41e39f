"""Evidence recall: how often the gold answer is in the text the model is shown.

The model can only write an answer that its prompt holds. For every answerable question of
the chosen groups this retrieves as the pipeline does (hybrid search, then the evidence pick)
and checks whether a gold answer is in (a) the retrieved chunks and (b) the trimmed passages
the prompt quotes, for each passage budget asked for. It also reports the prompt's median
length in words, which prompt time follows. No language model; minutes. Run:

    .venv/bin/python -m benchmarks.evidence --groups news-en news-id en fit-en
        [--words 50 70 100] [--passages 3] [--keep DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.answer import open_index
from benchmarks.questions import GROUPS, questions
from bot.config import Settings
from bot.evaluation.runner import contains_answer
from bot.pipeline.evidence import EvidenceSettings, pick
from bot.pipeline.settings import AnswerSettings
from index.embedding import Embedder, Vectors
from index.embedding.bundled import BundledE5Embedder
from index.search import search
from index.store import IndexStore


class Remembering:
    """An embedder that embeds each text once (the budgets compared share their sentences)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self._seen: dict[tuple[str, str], np.ndarray] = {}

    def _get(self, kind: str, texts: Sequence[str]) -> Vectors:
        missing = list(dict.fromkeys(t for t in texts if (kind, t) not in self._seen))
        if missing:
            new = (self.inner.embed_passages(missing) if kind == "p"
                   else np.vstack([self.inner.embed_query(t) for t in missing]))
            self._seen.update({(kind, t): v for t, v in zip(missing, new, strict=True)})
        return np.vstack([self._seen[(kind, t)] for t in texts]).astype(np.float32)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Passage vectors, each text embedded once."""
        return self._get("p", texts)

    def embed_query(self, text: str) -> Vectors:
        """A query vector, embedded once."""
        return self._get("q", [text])


def measure(group: str, stores: dict[str, IndexStore], folder: Path, emb: Remembering,
            base: AnswerSettings, budgets: list[int], passages: int,
            limit: int | None) -> dict[str, Any]:
    """Shares of the answerable questions whose gold answer was retrieved and was shown."""
    asked = [a for a in questions(group, limit) if a.item.answerable]
    retrieved = 0
    shown = dict.fromkeys(budgets, 0)
    words: dict[int, list[int]] = {b: [] for b in budgets}
    for a in asked:
        if a.corpus not in stores:
            stores[a.corpus] = open_index(a.corpus, asked, folder, emb.inner)
        hits = search(stores[a.corpus], emb, a.item.question, base.retrieve_k, base.search)
        retrieved += contains_answer(" ".join(h.text for h in hits), a.item.answers)
        for b in budgets:
            ev = pick(a.item.question, hits, emb,
                      replace(base.evidence, words_per_passage=b, passages=passages))
            text = " ".join(e.text for e in ev)
            shown[b] += contains_answer(text, a.item.answers)
            words[b].append(len(text.split()))
    n = max(1, len(asked))
    return {"questions": len(asked), "retrieved": round(retrieved / n, 3),
            "shown": {b: round(shown[b] / n, 3) for b in budgets},
            "median_words": {b: statistics.median(words[b] or [0]) for b in budgets}}


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", nargs="+", choices=GROUPS, default=["news-en"])
    ap.add_argument("--words", type=int, nargs="+",
                    default=[EvidenceSettings.words_per_passage])
    ap.add_argument("--passages", type=int, default=EvidenceSettings().passages)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--keep", type=Path, help="reuse the indexes kept here by benchmarks.answer")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    emb = Remembering(BundledE5Embedder())
    base = Settings().answering()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        stores: dict[str, IndexStore] = {}
        for g in args.groups:
            results[g] = measure(g, stores, args.keep or Path(tmp), emb, base, args.words,
                                 args.passages, args.limit)
        for s in stores.values():
            s.close()
    if args.json:
        print(json.dumps(results))
        return
    print("| group | questions | retrieved | " + " | ".join(
        f"shown @{b} words (median prompt words)" for b in args.words) + " |")
    print("|---|---|---|" + "---|" * len(args.words))
    for g, r in results.items():
        cells = " | ".join(f"{r['shown'][b]:.2f} ({r['median_words'][b]:.0f})" for b in args.words)
        print(f"| {g} | {r['questions']} | {r['retrieved']:.2f} | {cells} |")


if __name__ == "__main__":
    main()
