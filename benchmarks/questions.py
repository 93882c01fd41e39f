"""The question groups the answer benchmarks ask, each over its own corpus.

Judged on (never fitted on): `en`, `id`, `why`, `why-id` over the shared test-side sets
(benchmarks/dev_en, dev_why); `news-en`, `news-id`, our questions over the 710 real 2025
detik.com articles (benchmarks/dev_news; that corpus has no licence: evaluation only).
Fitted on: `fit-en`, `fit-id` (benchmarks/fit_en: English translations of training-split
questions, and their Indonesian originals) and `fit-why` (benchmarks/fit_why) over the
training splits of ../shared/datasets/train.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from benchmarks.datasets import DATASETS, NAMES, english, why
from bot.evaluation.sets import QAItem, QASet, load

HERE = Path(__file__).resolve().parent
NEWS = DATASETS.parent / "articles" / "news-2025" / "articles.jsonl"
TRAIN = DATASETS / "train"
JUDGED = ("en", "id", "why", "why-id", "news-en", "news-id")
FITTED = ("fit-en", "fit-id", "fit-why")
GROUPS = JUDGED + FITTED
TRAIN_PASSAGES = 1200  # a training index: the questions' passages, then others up to this


@dataclass(frozen=True)
class Asked:
    """One question of a group, the corpus it is asked over, and its style."""

    group: str
    corpus: str  # the index to ask it over
    item: QAItem
    style: str  # factoid, why, how, near-miss


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _style(item: QAItem, style: str = "factoid") -> str:
    return style if item.answerable else "near-miss"


def _news(group: str) -> list[Asked]:
    out = []
    for row in _rows(HERE / "dev_news" / "questions.jsonl"):
        asked = str(row["question" if group == "news-en" else "question_id"])
        item = QAItem(str(row["id"]), asked, tuple(map(str, row["answers"])),  # type: ignore[call-overload]
                      str(row["article_id"]), bool(row["answerable"]))
        out.append(Asked(group, "news", item, str(row["style"])))
    return out


def _fit(group: str) -> list[Asked]:
    out = []
    if group == "fit-why":
        for row in _rows(HERE / "fit_why" / "questions.jsonl"):
            answers = (*row["key_phrases"], *row["key_phrases_id"])  # type: ignore[misc]
            item = QAItem(str(row["id"]), str(row["question"]), tuple(map(str, answers)),
                          str(row["passage_id"]), bool(row["answerable"]))
            out.append(Asked(group, f"train-{row['set']}", item, _style(item, "why")))
        return out
    for row in _rows(HERE / "fit_en" / "questions.jsonl"):
        answers = (*row["answers"], *row["answers_en"])  # type: ignore[misc]
        asked = str(row["question" if group == "fit-en" else "question_id"])
        item = QAItem(str(row["id"]), asked, tuple(dict.fromkeys(map(str, answers))),
                      str(row["passage_id"]), bool(row["answerable"]))
        out.append(Asked(group, f"train-{row['set']}", item, _style(item)))
    return out


def _shared(group: str) -> list[Asked]:
    out = []
    for name in NAMES:
        if group.startswith("why"):
            qa = why(name, "id" if group == "why-id" else "en")
            out += [Asked(group, name, i, _style(i, "why")) for i in qa.items]
            continue
        en = english(name)
        items = en.items
        if group == "id":
            by_id = {i.id: i for i in load(DATASETS / name).items}
            items = [by_id[i.id.removeprefix("en-")] for i in en.items]
        out += [Asked(group, name, i, _style(i)) for i in items]
    return out


def questions(group: str, limit: int | None = None) -> list[Asked]:
    """Every question of a group, or every k-th one up to `limit`."""
    found = (_news(group) if group.startswith("news") else
             _fit(group) if group.startswith("fit") else _shared(group))
    if limit is None or limit >= len(found):
        return found
    return found[:: max(1, len(found) // limit)][:limit]


def corpus(name: str, asked: list[Asked]) -> QASet | Path:
    """What a corpus indexes: the news articles' file, or a set's passages (a training set
    trimmed to the passages asked about and others up to TRAIN_PASSAGES)."""
    if name == "news":
        return NEWS
    if not name.startswith("train-"):
        return load(DATASETS / name)
    base = load(TRAIN / name.removeprefix("train-"))
    wanted = {a.item.passage_id for a in asked if a.corpus == name}
    keep = [p for p in base.passages if p in wanted]
    keep += [p for p in base.passages if p not in wanted][: max(0, TRAIN_PASSAGES - len(keep))]
    return QASet(name, {p: base.passages[p] for p in keep}, [])
