"""Where the shared QA sets live, and the English dev set over their passages.

Loading the shared folders is bot.evaluation.sets (the format `tanya eval` reads). The English
dev set (benchmarks/dev_en/questions.jsonl, see its README) holds our own English translations of
questions from those sets; each question is asked over the passages of the set it came from.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot.evaluation.sets import QAItem, QASet, load

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"
NAMES = ("facqa", "tydiqa-id", "idk-mrc")
DEV_EN = Path(__file__).resolve().parent / "dev_en" / "questions.jsonl"
DEV_WHY = Path(__file__).resolve().parent / "dev_why" / "questions.jsonl"


def english(name: str, datasets: Path = DATASETS, questions: Path = DEV_EN) -> QASet:
    """The English dev questions of one shared set, over that set's passages.

    A question's gold answers are the set's own (Indonesian) spans plus our English renderings
    of them ("84 penumpang" -> "84 passengers"), so an answer in English can be scored.
    """
    base = load(datasets / name)
    items = []
    for line in questions.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["set"] != name:
            continue
        source = next(i for i in base.items if i.id == row["source_id"])
        answers = tuple(dict.fromkeys([*row["answers"], *row["answers_en"]]))
        items.append(QAItem(row["id"], row["question"], answers, source.passage_id,
                            bool(row["answerable"])))
    return QASet(f"{name}-en", base.passages, items)


def why(name: str, language: str = "en", datasets: Path = DATASETS,
        questions: Path = DEV_WHY) -> QASet:
    """The why/how dev questions of one shared set (benchmarks/dev_why), in English or in
    their Indonesian versions; a right answer holds one of the key phrases of either language.
    """
    base = load(datasets / name)
    items = []
    for line in questions.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        asked = row["question"] if language == "en" else row["question_id"]
        if row["set"] != name or not asked:
            continue
        answers = tuple(dict.fromkeys([*row["key_phrases"], *row["key_phrases_id"]]))
        items.append(QAItem(row["id"], asked, answers, row["passage_id"],
                            bool(row["answerable"])))
    return QASet(f"{name}-why-{language}", base.passages, items)
