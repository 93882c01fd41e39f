"""`tanya eval`: retrieval and answer quality of the whole pipeline on a QA set.

Each passage is indexed as one article. Retrieval: recall@1/5/10 and MRR of the gold passage.
Answers: accuracy (a gold answer string is in the answer), citation precision (the cited
passage contains a gold answer), refusal rate on unanswerable questions, latency medians.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.evaluation.sets import QASet
from bot.pipeline.answer import Answer, answer
from bot.pipeline.llm import Generator
from bot.pipeline.prompts import Prompts
from bot.pipeline.settings import AnswerSettings
from index.chunking import ChunkSettings
from index.embedding import Embedder
from index.search import search
from index.sources import SourceLimits
from index.store import IndexStore
from index.sync import sync

Progress = Callable[[str, int, int], None]


@dataclass
class EvalReport:
    """Everything `tanya eval` prints."""

    dataset: str
    model: str | None
    answerable: int = 0
    unanswerable: int = 0
    retrieval: dict[str, float] = field(default_factory=dict)
    accuracy: float | None = None
    citation_precision: float | None = None
    citations: int = 0
    refusal_rate: float | None = None
    false_refusal_rate: float | None = None
    latency_s: dict[str, float] = field(default_factory=dict)


def ranks_to_metrics(ranks: list[int | None]) -> dict[str, float]:
    """recall@1/5/10 and MRR@10 from the 1-based rank of the gold item (None = not in top 10)."""
    n = max(1, len(ranks))
    return {"recall@1": sum(r is not None and r <= 1 for r in ranks) / n,
            "recall@5": sum(r is not None and r <= 5 for r in ranks) / n,
            "recall@10": sum(r is not None and r <= 10 for r in ranks) / n,
            "mrr": sum(1 / r for r in ranks if r is not None and r <= 10) / n}


def contains_answer(text: str, golds: tuple[str, ...]) -> bool:
    """Case-insensitive containment of any gold answer, its numbers written either way
    ("Rp 1,1 triliun" is "1.1 trillion": an English answer may keep the decimal comma)."""
    low = text.lower()
    return any(v in low for g in golds if g.strip() for v in _forms(g.lower()))


_DECIMAL = re.compile(r"(?<=\d)[.,](?=\d)")


def _forms(gold: str) -> set[str]:
    """The gold as written and with each number's "." and "," swapped."""
    return {gold, _DECIMAL.sub(lambda m: "," if m.group() == "." else ".", gold)}


def build_index(qa: QASet, index_dir: Path, embedder: Embedder,
                progress: Progress | None = None) -> IndexStore:
    """Index every passage as one article (ids kept) and open it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    source = index_dir.parent / f"{qa.name}-passages.jsonl"
    source.write_text("".join(json.dumps({"id": pid, "text": text}, ensure_ascii=False) + "\n"
                              for pid, text in qa.passages.items()), encoding="utf-8")
    sync(index_dir, [str(source)], embedder, ChunkSettings(), SourceLimits(), progress=progress)
    return IndexStore(index_dir)


def evaluate(qa: QASet, store: IndexStore, embedder: Embedder, generator: Generator | None,
             prompts: Prompts | None, settings: AnswerSettings,
             progress: Progress | None = None) -> EvalReport:
    """Run every question through retrieval and (with a generator) the answer pipeline."""
    report = EvalReport(qa.name, generator.name if generator else None)
    ranks: list[int | None] = []
    answers: list[tuple[bool, Answer]] = []
    for done, item in enumerate(qa.items, start=1):
        if item.answerable:
            hits = search(store, embedder, item.question, 10, settings.search)
            articles = list(dict.fromkeys(h.article_id for h in hits))
            ranks.append(articles.index(item.passage_id) + 1
                         if item.passage_id in articles else None)
        if generator is not None and prompts is not None:
            answers.append((item.answerable, answer(
                item.question, store=store, embedder=embedder, generator=generator,
                prompts=prompts, settings=settings)))
        if progress:
            progress("questions", done, len(qa.items))
    report.answerable = sum(i.answerable for i in qa.items)
    report.unanswerable = len(qa.items) - report.answerable
    report.retrieval = ranks_to_metrics(ranks)
    if answers:
        _score_answers(report, qa, answers)
    return report


def _score_answers(report: EvalReport, qa: QASet, answers: list[tuple[bool, Answer]]) -> None:
    golds = [i.answers for i in qa.items]
    refused = [a.certainty in ("unsure", "not_found") for _, a in answers]
    good = cited = cited_ok = 0
    for (answerable, a), gold in zip(answers, golds, strict=True):
        if not answerable:
            continue
        good += contains_answer(a.stated, gold)
        passages = {e.n: e.hit.text for e in a.evidence}
        for c in a.citations:
            cited += 1
            cited_ok += contains_answer(passages.get(c.n, ""), gold)
    n_ans = max(1, report.answerable)
    report.accuracy = good / n_ans
    report.citations = cited
    report.citation_precision = cited_ok / cited if cited else None
    un = [r for (answerable, _), r in zip(answers, refused, strict=True) if not answerable]
    ok = [r for (answerable, _), r in zip(answers, refused, strict=True) if answerable]
    report.refusal_rate = sum(un) / len(un) if un else None
    report.false_refusal_rate = sum(ok) / len(ok) if ok else None
    for key in ("retrieval_s", "first_token_s", "total_s"):
        values = [a.timings[key] for _, a in answers if key in a.timings]
        if values:
            report.latency_s[key] = statistics.median(values)
