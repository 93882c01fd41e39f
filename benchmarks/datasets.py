"""Loading the QA sets in ../shared/datasets (passages.jsonl + questions.jsonl) for benchmarks."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"
NAMES = ("facqa", "tydiqa-id", "idk-mrc")


@dataclass(frozen=True)
class Question:
    """One question with its gold passage (canonical id) and gold answers."""

    id: str
    text: str
    answers: tuple[str, ...]
    passage_id: str
    answerable: bool


@dataclass(frozen=True)
class Dataset:
    """Passages and questions of one QA set."""

    name: str
    passages_file: Path
    passages: dict[str, str]
    questions: list[Question]


def load(folder: Path, limit: int | None = None) -> Dataset:
    """Read a dataset; a passage repeated verbatim maps to its first id (sync skips copies)."""
    passages: dict[str, str] = {}
    canonical: dict[str, str] = {}
    first_by_hash: dict[str, str] = {}
    with open(folder / "passages.jsonl", encoding="utf-8") as fh:
        for line in fh:
            p = json.loads(line)
            h = hashlib.sha256(p["text"].encode()).hexdigest()
            canonical[p["id"]] = first_by_hash.setdefault(h, p["id"])
            passages[p["id"]] = p["text"]
    questions: list[Question] = []
    with open(folder / "questions.jsonl", encoding="utf-8") as fh:
        for line in fh:
            q = json.loads(line)
            questions.append(Question(q["id"], q["question"], tuple(q.get("answers") or ()),
                                      canonical[q["passage_id"]], bool(q.get("answerable", True))))
    if limit is not None:
        step = max(1, len(questions) // limit)
        questions = questions[::step][:limit]
    return Dataset(folder.name, folder / "passages.jsonl", passages, questions)


def rank_of(ranked: list[str], gold: str, cutoff: int = 10) -> int | None:
    """1-based position of gold in the first `cutoff` entries, else None."""
    for n, item in enumerate(ranked[:cutoff], start=1):
        if item == gold:
            return n
    return None


def metrics(ranks: list[int | None]) -> dict[str, float]:
    """recall@1/5/10 and MRR@10 from per-question ranks."""
    n = max(1, len(ranks))
    return {
        "recall@1": sum(1 for r in ranks if r is not None and r <= 1) / n,
        "recall@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "recall@10": sum(1 for r in ranks if r is not None and r <= 10) / n,
        "mrr": sum(1 / r for r in ranks if r is not None) / n,
    }
