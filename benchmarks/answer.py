"""Answer quality and speed of the whole pipeline, per group of questions and certainty band.

Asks every question of the chosen groups (benchmarks/questions.py: the judged dev groups
over the shared test-side sets and real 2025 news, the fit groups over the training splits)
with the real model, and reports per group how the answerable questions fall into
sure-right, sure-wrong, likely-right, likely-wrong, unsure and not found, how the
unanswerable ones fall into sure, likely, unsure and not found, and median times. A shown
answer is right when its own sentences (not the quote under them) hold a gold answer or key
phrase. Run:

    .venv/bin/python -m benchmarks.answer --groups news-en fit-en [--limit N]
        [--records FILE.pkl] [--keep DIR] [--json]

`--resume` keeps the records already in `--records` and asks only the questions not in them, so
a long run that stopped goes on where it was.

`--rejudge FILE.pkl [...]` judges the drafts of earlier runs' records again with the current
decision and calibration (TANYA_ANSWER_CALIBRATION), without the model: minutes, not hours.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import statistics
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.questions import GROUPS, Asked, corpus, questions
from bot.config import Settings
from bot.config.generation import ModelGroup
from bot.evaluation.runner import build_index, contains_answer
from bot.evaluation.sets import QASet
from bot.pipeline import models, prompts, scales, when, wording
from bot.pipeline.answer import Answer, answer
from bot.pipeline.decision import is_refusal, judge
from bot.pipeline.llm import LlamaCppGenerator
from bot.pipeline.settings import AnswerSettings
from index.chunking import ChunkSettings
from index.embedding import Embedder
from index.embedding.bundled import BundledE5Embedder
from index.sources import SourceLimits
from index.store import IndexStore
from index.sync import sync

BANDS = ("sure", "likely", "unsure", "not_found")


@dataclass(frozen=True)
class Record:
    """One question and everything the pipeline did with it (kept for offline analysis)."""

    asked: Asked
    answer: Answer

    @property
    def shown(self) -> bool:
        """An answer was shown (sure or likely)."""
        return self.answer.certainty in ("sure", "likely")

    @property
    def right(self) -> bool:
        """An answer was shown and its own sentences hold a gold answer."""
        return (self.shown and self.asked.item.answerable
                and contains_answer(self.answer.stated, self.asked.item.answers))

    @property
    def right_draft(self) -> bool:
        """The draft itself holds a gold answer of an answerable question."""
        return (self.asked.item.answerable and not is_refusal(self.answer.draft)
                and contains_answer(self.answer.draft, self.asked.item.answers))


def bands(records: Sequence[Record]) -> dict[str, Any]:
    """Where the answerable and the unanswerable questions fall, as shares, and times."""
    ans = [r for r in records if r.asked.item.answerable]
    un = [r for r in records if not r.asked.item.answerable]
    out: dict[str, Any] = {"answerable": len(ans), "unanswerable": len(un)}
    for band in ("sure", "likely"):
        out[f"{band}_right"] = sum(r.answer.certainty == band and r.right for r in ans)
        out[f"{band}_wrong"] = sum(r.answer.certainty == band and not r.right for r in ans)
    for band in ("unsure", "not_found"):
        out[band] = sum(r.answer.certainty == band for r in ans)
    for band in BANDS:
        out[f"un_{band}"] = sum(r.answer.certainty == band for r in un)
    out["right_drafts"] = sum(r.right_draft for r in ans)
    out["right"] = sum(r.right for r in ans)
    totals = [r.answer.timings["total_s"] for r in records if "total_s" in r.answer.timings]
    out["total_s"] = statistics.median(totals) if totals else None
    return out


def table(results: dict[str, dict[str, Any]]) -> str:
    """Markdown: per group, answerable by band (right/wrong), unanswerable by band."""
    out = ["| group | right | sure right / wrong | likely right / wrong | unsure | not found "
           "| drafts right | near misses: sure / likely / unsure / not found | median s |",
           "|---|---|---|---|---|---|---|---|---|"]
    for g, r in results.items():
        n = max(1, r["answerable"])
        un = f"{r['un_sure']} / {r['un_likely']} / {r['un_unsure']} / {r['un_not_found']}"
        out.append(f"| {g} ({r['answerable']} + {r['unanswerable']}) | {r['right'] / n:.2f} "
                   f"| {r['sure_right']} / {r['sure_wrong']} | {r['likely_right']} / "
                   f"{r['likely_wrong']} | {r['unsure']} | {r['not_found']} | "
                   f"{r['right_drafts']} | {un} | "
                   + ("-" if r["total_s"] is None else f"{r['total_s']:.1f}") + " |")
    return "\n".join(out)


class _Records(pickle.Unpickler):
    """Records pickled by `python -m benchmarks.answer` name this module __main__."""

    def find_class(self, module: str, name: str) -> Any:
        return super().find_class("benchmarks.answer" if module == "__main__" else module, name)


def load_records(paths: Iterable[Path]) -> list[Record]:
    """The records of earlier runs."""
    out: list[Record] = []
    for path in paths:
        with path.open("rb") as f:
            out += _Records(f).load()
    return out


def rejudge(records: Sequence[Record], emb: Embedder, settings: AnswerSettings) -> list[Record]:
    """Each recorded draft judged again by the current decision (renderings not redone)."""
    out = []
    for r in records:
        a = r.answer
        if a.evidence:
            asked = a.standalone_question
            a = replace(a, draft=scales.as_passages_say(a.draft, a.evidence, asked))
            j = judge(asked, when.read(asked, date.today()), a.evidence, a.draft, emb, settings,
                      cut="cut_after_s" in a.timings, scores=a.token_scores,
                      self_yes=a.signals.get("self_yes", math.nan))
            a = replace(a, certainty=j.certainty, citations=j.citations, verdicts=j.verdicts,
                        signals=j.signals, confidence=j.confidence, stated=j.answer,
                        text=wording.compose(asked, j.certainty, j.answer, j.citations))
        out.append(replace(r, answer=a))
    return out


def open_index(name: str, asked: list[Asked], folder: Path, emb: Embedder) -> IndexStore:
    """A kept index of one corpus, or a new one."""
    where = folder / name / "index"
    if (where / "CURRENT").is_file():
        return IndexStore(where)
    source = corpus(name, asked)
    if isinstance(source, QASet):
        return build_index(source, where, emb)
    where.mkdir(parents=True, exist_ok=True)
    sync(where, [str(source)], emb, ChunkSettings(), SourceLimits())
    return IndexStore(where)


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default=ModelGroup.model_fields["name"].default)
    ap.add_argument("--groups", nargs="+", choices=GROUPS, default=["news-en"])
    ap.add_argument("--limit", type=int, default=None, help="questions per group")
    ap.add_argument("--records", type=Path, help="pickle every question's Answer here")
    ap.add_argument("--resume", action="store_true",
                    help="keep the records already in --records and ask only the rest")
    ap.add_argument("--keep", type=Path, help="keep the indexes here and reuse them next time")
    ap.add_argument("--rejudge", type=Path, nargs="+", metavar="FILE.pkl",
                    help="judge the drafts of stored records again; no model")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    started = time.perf_counter()
    emb = BundledE5Embedder()
    settings = Settings().answering()
    if args.rejudge:
        recs = rejudge(load_records(args.rejudge), emb, settings)
        again = {g: bands([r for r in recs if r.asked.group == g])
                 for g in GROUPS if any(r.asked.group == g for r in recs)}
        print(json.dumps(again) if args.json else table(again))
        return
    gen = LlamaCppGenerator(models.resolve(args.preset, Settings().models_dir), args.preset)
    tmpl = prompts.load()
    records: list[Record] = []
    if args.resume and args.records and args.records.exists():
        records = load_records([args.records])
    done = {(r.asked.group, r.asked.item.question) for r in records}
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        stores: dict[str, IndexStore] = {}
        for group in args.groups:
            asked = [a for a in questions(group, args.limit)
                     if (group, a.item.question) not in done]
            mine = [r for r in records if r.asked.group == group]
            records = [r for r in records if r.asked.group != group]
            for a in asked:
                if a.corpus not in stores:
                    stores[a.corpus] = open_index(a.corpus, asked, folder, emb)
                got = answer(a.item.question, store=stores[a.corpus], embedder=emb,
                             generator=gen, prompts=tmpl, settings=settings)
                mine.append(Record(a, got))
                if args.records and len(mine) % 10 == 0:  # a long run keeps what it measured
                    args.records.write_bytes(pickle.dumps(records + mine))
            records += mine
            results[group] = bands(mine)
            if args.records:
                args.records.write_bytes(pickle.dumps(records))
        for store in stores.values():
            store.close()
    print(json.dumps(results) if args.json else table(results))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
