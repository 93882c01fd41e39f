"""Answer quality and speed of the whole pipeline, in English and in Indonesian.

Groups of questions, each asked over the passages of the set it comes from:
- `en`: the English dev set (benchmarks/dev_en: 160 answerable, 70 unanswerable);
- `id`: the same questions in their original Indonesian;
- `why`: the why/how dev set (benchmarks/dev_why), in English; `why-id`: its Indonesian versions.

Per group: answer accuracy (a gold answer is in the answer), answered-but-wrong (an answer
or quoted fallback without a gold answer, as a share of the answerable questions), citation
precision (the cited passage holds a gold answer), refusals on unanswerable and on answerable
questions, and the citation checks as a classifier on the model's drafts: of the wrong drafts
(no gold answer, or any answer to an unanswerable question) how many the checks keep, and of
the right drafts how many they drop. Medians of retrieval, first-token and total time, and the
model's own prompt time for the same prompt (pipeline overhead shows as a ratio). Run:

    .venv/bin/python -m benchmarks.answer [--preset NAME] [--groups en id] [--limit N]
        [--records FILE.pkl] [--json]

`--rejudge FILE.pkl` scores the drafts of an earlier run's records again with the current
checks, without the model (minutes instead of an hour): the way to measure a change to the
checks on real drafts. Times are those of the recorded run.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.datasets import DATASETS, NAMES, english, why
from bot.config import Settings
from bot.evaluation.runner import build_index, contains_answer
from bot.evaluation.sets import QAItem, QASet, load
from bot.pipeline import models, prompts, when
from bot.pipeline.answer import Answer, AnswerSettings, answer, messages_for
from bot.pipeline.decision import is_refusal, judge
from bot.pipeline.llm import LlamaCppGenerator
from index.embedding import Embedder
from index.embedding.bundled import BundledE5Embedder
from index.store import IndexStore

GROUPS = ("en", "id", "why", "why-id")


@dataclass(frozen=True)
class Record:
    """One question and everything the pipeline did with it (kept for offline analysis)."""

    group: str
    set: str
    item: QAItem
    answer: Answer

    @property
    def right(self) -> bool:
        """The final answer holds a gold answer."""
        return self.item.answerable and contains_answer(self.answer.text, self.item.answers)

    @property
    def refused(self) -> bool:
        """The user got the refusal."""
        return self.answer.status in ("refused", "not_found")

    @property
    def drafted(self) -> bool:
        """The model wrote an answer (not a refusal) that the checks had to judge."""
        return bool(self.answer.draft.strip()) and not is_refusal(self.answer.draft)

    @property
    def right_draft(self) -> bool:
        """The draft itself holds a gold answer of an answerable question."""
        return self.item.answerable and contains_answer(self.answer.draft, self.item.answers)


def question_sets(group: str, datasets: Path, limit: int | None) -> dict[str, QASet]:
    """The questions of one group, per shared set (English dev set or its Indonesian source)."""
    out = {}
    for name in NAMES:
        if group.startswith("why"):
            out[name] = why(name, "id" if group == "why-id" else "en", datasets).sample(limit)
            continue
        en = english(name, datasets)
        if group == "en":
            out[name] = en.sample(limit)
            continue
        base = load(datasets / name)
        by_id = {i.id: i for i in base.items}
        items = [by_id[i.id.removeprefix("en-")] for i in en.items]
        out[name] = QASet(name, base.passages, items).sample(limit)
    return {k: v for k, v in out.items() if v.items}


def run(group: str, sets: dict[str, QASet], stores: dict[str, IndexStore], emb: Embedder,
        gen: LlamaCppGenerator, settings: AnswerSettings) -> tuple[list[Record], list[float]]:
    """Ask every question of a group; also time the model's own prompt processing."""
    tmpl = prompts.load()
    records: list[Record] = []
    prompt_s: list[float] = []
    for name, qa in sets.items():
        for item in qa.items:
            a = answer(item.question, store=stores[name], embedder=emb, generator=gen,
                       prompts=tmpl, settings=settings)
            records.append(Record(group, name, item, a))
            if "first_token_s" in a.timings and len(prompt_s) < 30:
                prompt_s.append(gen.prompt_seconds(messages_for(item.question, a.evidence, tmpl)))
    return records, prompt_s


def score(records: list[Record], prompt_s: list[float]) -> dict[str, Any]:
    """The group's numbers."""
    ans = [r for r in records if r.item.answerable]
    un = [r for r in records if not r.item.answerable]
    cited = cited_ok = 0
    for r in ans:
        shown = {e.n: e.hit.text for e in r.answer.evidence}
        for c in r.answer.citations:
            cited += 1
            cited_ok += contains_answer(shown.get(c.n, ""), r.item.answers)
    wrong_drafts = [r for r in records if r.drafted and not r.right_draft]
    right_drafts = [r for r in ans if r.drafted and r.right_draft]
    med = statistics.median

    def times(key: str) -> float | None:
        values = [r.answer.timings[key] for r in records if key in r.answer.timings]
        return med(values) if values else None

    first = times("first_token_s")
    return {
        "answerable": len(ans), "unanswerable": len(un),
        "accuracy": sum(r.right for r in ans) / max(1, len(ans)),
        "answered_wrong": sum(not r.refused and not r.right for r in ans) / max(1, len(ans)),
        "citation_precision": cited_ok / cited if cited else None, "citations": cited,
        "refused_unanswerable": sum(r.refused for r in un) / len(un) if un else None,
        "refused_answerable": sum(r.refused for r in ans) / max(1, len(ans)),
        "wrong_drafts": len(wrong_drafts),
        "wrong_kept": sum(r.answer.status == "answered" for r in wrong_drafts)
        / max(1, len(wrong_drafts)),
        "right_drafts": len(right_drafts),
        "right_dropped": sum(r.answer.status != "answered" for r in right_drafts)
        / max(1, len(right_drafts)),
        "retrieval_s": times("retrieval_s"), "first_token_s": first, "total_s": times("total_s"),
        "prompt_s": med(prompt_s) if prompt_s else None,
        "first_token_vs_prompt": first / med(prompt_s) if first and prompt_s else None,
    }


def _f(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def table(preset: str, results: dict[str, dict[str, Any]]) -> str:
    """Two markdown tables: quality, and the checks and speed."""
    out = [f"Preset {preset}.", "",
           "| questions | accuracy | answered but wrong | citation precision | "
           "refused (unanswerable) | refused (answerable) |", "|---|---|---|---|---|---|"]
    for g, r in results.items():
        out.append(f"| {g} ({r['answerable']} + {r['unanswerable']} unanswerable) | "
                   f"{r['accuracy']:.2f} | {r['answered_wrong']:.2f} | "
                   f"{_f(r['citation_precision'])} ({r['citations']}) | "
                   f"{_f(r['refused_unanswerable'])} | {r['refused_answerable']:.2f} |")
    out += ["", "| questions | wrong drafts kept | right drafts dropped | retrieval | "
            "first token | model prompt time | first token / prompt | total |",
            "|---|---|---|---|---|---|---|---|"]
    for g, r in results.items():
        out.append(f"| {g} | {r['wrong_kept']:.2f} (of {r['wrong_drafts']}) | "
                   f"{r['right_dropped']:.2f} (of {r['right_drafts']}) | "
                   f"{_f(r['retrieval_s'], '{:.2f} s')} | {_f(r['first_token_s'], '{:.2f} s')} | "
                   f"{_f(r['prompt_s'], '{:.2f} s')} | {_f(r['first_token_vs_prompt'])} | "
                   f"{_f(r['total_s'], '{:.2f} s')} |")
    return "\n".join(out)


class _Records(pickle.Unpickler):
    """Records pickled by `python -m benchmarks.answer` name this module __main__."""

    def find_class(self, module: str, name: str) -> Any:
        return super().find_class("benchmarks.answer" if module == "__main__" else module, name)


def rejudge(path: Path, emb: Embedder, settings: AnswerSettings) -> list[Record]:
    """An earlier run's records, each draft judged again by the current checks."""
    with path.open("rb") as f:
        records: list[Record] = _Records(f).load()
    out = []
    for r in records:
        a = r.answer
        if a.evidence:
            asked = a.standalone_question
            j = judge(asked, when.read(asked, date.today()), a.evidence, a.draft, emb, settings,
                      cut="cut_after_s" in a.timings, found=a.found, scores=a.token_scores,
                      second=a.second_draft if a.second_question else None,
                      self_yes=a.signals.get("self_yes", math.nan))
            a = replace(a, text=j.text, status=j.status, citations=j.citations,
                        verdicts=j.verdicts, signals=j.signals, confidence=j.confidence)
        out.append(replace(r, answer=a))
    return out


def _index(qa: QASet, folder: Path, emb: Embedder) -> IndexStore:
    """A kept index of the set's passages, or a new one."""
    return IndexStore(folder) if (folder / "CURRENT").is_file() else build_index(qa, folder, emb)


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default=Settings.model_fields["model"].default)
    ap.add_argument("--groups", nargs="+", choices=GROUPS, default=list(GROUPS[:2]))
    ap.add_argument("--datasets-dir", type=Path, default=DATASETS)
    ap.add_argument("--limit", type=int, default=None, help="questions per set and group")
    ap.add_argument("--records", type=Path, help="pickle every question's Answer here")
    ap.add_argument("--keep", type=Path, help="keep the indexes here and reuse them next time")
    ap.add_argument("--rejudge", type=Path, metavar="FILE.pkl",
                    help="judge the drafts of stored records again; no model, no questions")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    started = time.perf_counter()
    emb = BundledE5Embedder()
    if args.rejudge:
        judged = rejudge(args.rejudge, emb, Settings().answering())
        again = {g: score([r for r in judged if r.group == g], [])
                 for g in GROUPS if any(r.group == g for r in judged)}
        print(json.dumps({"rejudged": str(args.rejudge), "results": again}) if args.json
              else table(f"{args.rejudge} (drafts judged again)", again))
        return
    gen = LlamaCppGenerator(models.resolve(args.preset, Settings().models_dir), args.preset)
    settings = Settings().answering()
    results: dict[str, dict[str, Any]] = {}
    records: list[Record] = []
    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        stores = {name: _index(load(args.datasets_dir / name), where / name / "index", emb)
                  for name in NAMES}
        for group in args.groups:
            sets = question_sets(group, args.datasets_dir, args.limit)
            recs, prompt_s = run(group, sets, stores, emb, gen, settings)
            results[group] = score(recs, prompt_s)
            records += recs
            if args.records:  # after every group, so a long run keeps what it measured
                args.records.write_bytes(pickle.dumps(records))
        for store in stores.values():
            store.close()
    if args.json:
        print(json.dumps({"preset": args.preset, "results": results}))
        return
    print(table(args.preset, results))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
