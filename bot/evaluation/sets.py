"""Question-answer sets for `tanya eval`: the passages.jsonl + questions.jsonl folder format
of ../shared/datasets, or a SQuAD-style JSON file."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import TanyaBotError


@dataclass(frozen=True)
class QAItem:
    """One question, its gold answers and the passage that answers it (if any)."""

    id: str
    question: str
    answers: tuple[str, ...]
    passage_id: str
    answerable: bool


@dataclass(frozen=True)
class QASet:
    """Passages (id -> text) and questions; identical passages share the first id."""

    name: str
    passages: dict[str, str]
    items: list[QAItem]

    def sample(self, limit: int | None) -> QASet:
        """Every k-th question, so a limit still spans the whole set."""
        if limit is None or limit >= len(self.items):
            return self
        step = max(1, len(self.items) // limit)
        return QASet(self.name, self.passages, self.items[::step][:limit])


class _Canon:
    """Maps duplicate passages to the first id with the same text (sync skips copies)."""

    def __init__(self) -> None:
        self.first: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.passages: dict[str, str] = {}

    def add(self, pid: str, text: str) -> None:
        h = hashlib.sha256(text.encode()).hexdigest()
        self.ids[pid] = self.first.setdefault(h, pid)
        if self.ids[pid] == pid:
            self.passages[pid] = text


def load(path: Path) -> QASet:
    """Read a dataset folder or a SQuAD JSON file; errors name the file."""
    try:
        if path.is_dir():
            return _load_folder(path)
        return _load_squad(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TanyaBotError(f"cannot read QA set {path}: {type(exc).__name__}: {exc}") from exc


def _load_folder(folder: Path) -> QASet:
    canon = _Canon()
    for line in (folder / "passages.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            p = json.loads(line)
            canon.add(str(p["id"]), str(p["text"]))
    items = []
    for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            q = json.loads(line)
            answers = tuple(q.get("answers") or ([q["answer"]] if q.get("answer") else []))
            items.append(QAItem(str(q["id"]), q["question"], answers,
                                canon.ids[str(q["passage_id"])],
                                bool(q.get("answerable", bool(answers)))))
    return QASet(folder.name, canon.passages, items)


def _load_squad(file: Path) -> QASet:
    data: Any = json.loads(file.read_text(encoding="utf-8"))
    canon = _Canon()
    items: list[QAItem] = []
    n = 0
    for article in data["data"]:
        for para in article["paragraphs"]:
            n += 1
            pid = f"p{n:05d}"
            canon.add(pid, para["context"])
            for qa in para["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
                impossible = bool(qa.get("is_impossible", not answers))
                items.append(QAItem(str(qa.get("id", f"q{len(items) + 1}")), qa["question"],
                                    answers, canon.ids[pid], not impossible))
    return QASet(file.stem, canon.passages, items)
