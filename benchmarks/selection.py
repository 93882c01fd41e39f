"""The model as the quote's picker (bot.pipeline.picker): does the probability of its pick
tell a right quote from a wrong one, and which threshold shows how many?

Each question with evidence is put to the picker exactly as the pipeline does (the best
sentences of each passage with letters, one more letter for none of them, the first reply
token's log-probability), and the pick is labelled right when it holds a gold answer
(unanswerable questions: never right). Records:

    .venv/bin/python -m benchmarks.selection --groups en why why-id id --limit 40 \
        --keep /tmp/idx --records picks.pkl [--per-passage 2]

Then (no model needed) the report and the export of the quote model:

    .venv/bin/python -m benchmarks.selection --from picks.pkl \
        [--export bot/pipeline/calibration_pick.json]

Prints per kind of question (calibrator.kind): how often the pick holds a gold answer (and
the evidence's own best sentence, for comparison), the AUC of its probability, the median
seconds, and at each wanted accuracy the shares of answerable questions that get a right
quote or a wrong one and of unanswerable ones shown anything, with thresholds read off the
other folds (whole passages held out) and, for comparison, off the same records.
`--export FILE` fits P(right quote) on the pick's probability (logistic regression, all
records) and writes the shipped calibration with it, and the quote thresholds of each kind,
as FILE (bot/pipeline/calibration_pick.json is this, for TANYA_ANSWER_CALIBRATION). Refit
with the answer model (a new model, prompt or embedder); the picker run takes about an hour
on 2 shared cores, the export seconds.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.answer import GROUPS, _index, question_sets
from benchmarks.calibrate import auc, threshold
from benchmarks.datasets import DATASETS, NAMES
from bot.config import Settings
from bot.evaluation.runner import contains_answer
from bot.evaluation.sets import load
from bot.pipeline import calibrator, models, picker, prompts, signals
from bot.pipeline.answer import messages_for, retrieve
from bot.pipeline.llm import LlamaCppGenerator
from index.embedding import Embedder
from index.embedding.bundled import BundledE5Embedder
from index.store import IndexStore

LEVELS = (0.7, 0.8, 0.85, 0.9, 0.95)
FOLDS = 5
FEATURE = f"{picker.Pick.PREFIX}p"


@dataclass(frozen=True)
class Picked:
    """One question: the listed sentences, which hold a gold answer, the model's pick."""

    group: str
    kind: str  # calibrator.kind of the question
    passage: str  # set/passage id: folds hold whole passages out
    answerable: bool
    right: tuple[bool, ...]  # per listed sentence
    best: int  # the index of the first passage's best sentence among the listed
    pick: int | None  # the index picked (None: none of them, or no letter)
    p: float  # the pick's signal (Pick.signals)
    seconds: float

    @property
    def pick_right(self) -> bool:
        """The picked sentence holds a gold answer."""
        return self.pick is not None and self.right[self.pick]


def ask(gen: LlamaCppGenerator, group: str, limit: int | None, stores: dict[str, IndexStore],
        emb: Embedder, per_passage: int) -> list[Picked]:
    """Every question of a group that finds evidence, put to the picker."""
    settings, loaded = Settings().answering(), prompts.load()
    out = []
    for name, qa in question_sets(group, DATASETS, limit).items():
        for item in qa.items:
            _, evidence = retrieve(stores[name], emb, item.question, settings)
            if not evidence:
                continue
            listed = picker.candidates(evidence, per_passage)
            system = messages_for(item.question, evidence, loaded)[0]["content"]
            started = time.perf_counter()
            chosen = picker.ask(item.question, evidence, system, gen, loaded, per_passage)
            seconds = time.perf_counter() - started
            out.append(Picked(
                group, calibrator.kind(signals.question_signals(item.question, evidence)),
                f"{name}/{item.passage_id}", item.answerable,
                tuple(item.answerable and contains_answer(s.text, item.answers)
                      for _, s in listed),
                listed.index((evidence[0], evidence[0].best)),
                listed.index(chosen.choice) if chosen.choice else None,
                chosen.signals()[FEATURE], seconds))
    return out


def folds(picked: Sequence[Picked]) -> np.ndarray:
    """Each record's fold, whole passages together."""
    passages = sorted({p.passage for p in picked})
    order = {name: i % FOLDS for i, name in enumerate(
        np.random.default_rng(0).permutation(passages))}
    return np.array([order[p.passage] for p in picked])


def arrays(picked: Sequence[Picked]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The signal (no letter read: 0), the label, and whether each question is answerable."""
    conf = np.nan_to_num(np.array([p.p for p in picked]), nan=0.0)
    return (conf, np.array([p.pick_right for p in picked], dtype=int),
            np.array([p.answerable for p in picked]))


def report(picked: Sequence[Picked]) -> dict[str, float]:
    """The numbers the module docstring names, for one kind of question."""
    conf, y, ans = arrays(picked)
    fold = folds(picked)
    n_ans = max(1, int(ans.sum()))
    out = {"n": float(len(picked)), "answerable": float(ans.sum()),
           "pick right": float(y[ans].mean()) if ans.any() else float("nan"),
           "best right": float(np.mean([p.right[p.best] for p in picked if p.answerable])),
           "listed right": float(np.mean([any(p.right) for p in picked if p.answerable])),
           "AUC": auc(conf, y), "median s": statistics.median(p.seconds for p in picked)}
    for level in LEVELS:
        held = np.zeros(len(y), dtype=bool)
        for f in range(FOLDS):
            test = fold == f
            held[test] = conf[test] >= threshold(conf[~test], y[~test], level)
        for label, shown in (("cv", held), ("same", conf >= threshold(conf, y, level))):
            out[f"{level} {label} right"] = float((shown & (y == 1) & ans).sum() / n_ans)
            out[f"{level} {label} wrong"] = float((shown & (y == 0) & ans).sum() / n_ans)
            out[f"{level} {label} unans"] = (float(shown[~ans].mean()) if (~ans).any()
                                             else float("nan"))
    return out


def export(picked: Sequence[Picked], path: Path, base: Path = calibrator.DEFAULT) -> None:
    """The quote model (P(right) from the pick's signal) and each kind's quote thresholds,
    written to `path` beside the answer model of `base` (the shipped calibration)."""
    from sklearn.linear_model import LogisticRegression

    conf, y, _ = arrays(picked)
    lr = LogisticRegression().fit(conf[:, None], y)
    prob = lr.predict_proba(conf[:, None])[:, 1]
    kinds = np.array([p.kind for p in picked])
    data = json.loads(base.read_text(encoding="utf-8"))
    data["quote"] = {"features": [FEATURE], "mean": [0.0], "scale": [1.0],
                     "coef": [float(lr.coef_[0][0])], "intercept": float(lr.intercept_[0])}
    for level, by_kind in data["thresholds"].items():
        mine = {k: threshold(prob[kinds == k], y[kinds == k], float(level))
                for k in sorted(set(kinds))}
        mine[calibrator.ANY] = max(mine.values())
        for k, pair in by_kind.items():
            pair[1] = mine.get(k, mine[calibrator.ANY])
    data["fitted_for"]["quote_records"] = str(len(picked))
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default=Settings.model_fields["model"].default)
    ap.add_argument("--groups", nargs="+", choices=GROUPS, default=["en"])
    ap.add_argument("--limit", type=int, default=None, help="questions per set and group")
    ap.add_argument("--keep", type=Path, help="keep the indexes here and reuse them next time")
    ap.add_argument("--per-passage", type=int, default=picker.PER_PASSAGE)
    ap.add_argument("--records", type=Path, help="pickle every question's pick here")
    ap.add_argument("--from", dest="source", type=Path, help="report on these records instead")
    ap.add_argument("--export", type=Path, metavar="FILE", help="write the shipped "
                    "calibration with this quote model to FILE (for TANYA_ANSWER_CALIBRATION)")
    args = ap.parse_args()
    if args.source:
        picked = pickle.loads(args.source.read_bytes())
    else:
        gen = LlamaCppGenerator(models.resolve(args.preset, Settings().models_dir), args.preset)
        emb = BundledE5Embedder()
        with tempfile.TemporaryDirectory() as tmp:
            keep = args.keep or Path(tmp)
            stores = {n: _index(load(DATASETS / n), keep / n / "index", emb) for n in NAMES}
            picked = [p for g in args.groups
                      for p in ask(gen, g, args.limit, stores, emb, args.per_passage)]
            for store in stores.values():
                store.close()
    if args.records:
        args.records.write_bytes(pickle.dumps(picked))
    for kind in sorted({p.kind for p in picked}):
        row = report([p for p in picked if p.kind == kind])
        print(kind, " ".join(f"{k}={v:.2f}" for k, v in row.items()))
    if args.export:
        export(picked, args.export)


if __name__ == "__main__":
    main()
