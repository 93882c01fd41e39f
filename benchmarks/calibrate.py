"""Fit the certainty on the training splits' records, check it on sources left out, export it.

Reads `benchmarks.answer --records` runs. Every record is judged again by today's decision
without a calibration, so its signals are today's; its label is whether the draft's own
sentences hold a gold answer (never, for an unanswerable question). A logistic regression is
fitted on the fit groups' records (the training splits: fit-en, fit-id, fit-why). The band
boundaries are read off held-out predictions (each record predicted by a model fitted
without its passage): per kind of question (bot.pipeline.calibrator.kind), the `sure`
boundary for each wanted accuracy is the least probability whose answers above it are that
often right, and the `likely` boundary the least one whose band below `sure` is right at
least LIKELY of the time. The judged groups (dev questions over the test-side sets and real
news) are never fitted on: the report gives, per group, where the questions fall by band and
each band's accuracy and calibration error. Run:

    .venv/bin/python -m benchmarks.calibrate FIT.pkl [...] --judge DEV.pkl [...]
        [--export [FILE]] [--without SIGNAL ...] [--json] [--png FILE]

`--png FILE` draws where the questions fall by band, per source, as a chart
(docs/img/certainty-bands.png in the docs).

Refit whenever the model, a prompt or the embedder changes; fitting takes seconds, the
records' runs take the time.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.answer import Record, bands, load_records, rejudge, table
from benchmarks.questions import FITTED
from bot.config import Settings
from bot.evaluation.runner import contains_answer
from bot.pipeline import calibrator, lexical
from bot.pipeline.calibrator import ANY, Calibration, Logistic
from bot.pipeline.decision import is_refusal
from bot.pipeline.settings import AnswerSettings
from index.embedding.bundled import BundledE5Embedder

# The signals the fit reads: a compact set, as robust across sources as the whole (cross-
# validated AUC 0.757 against 0.753 for all 27 on the training records; benchmarks/README).
FEATURES = ("lp_mean", "lp_facts_mean", "lp_min", "dr_sim", "dr_qsim", "chk_kept",
            "chk_gives", "ev_max_sim", "q_cause", "q_across", "self_yes")
# Measured and left out of the fit (each adds nothing held out): the rest of the evidence's
# fit, the checks' counts, the draft's facts found.
MEASURED = ("lp_facts_min", "ev_sim", "ev_cov", "ev_margin", "ev_count", "ev_dense_top",
            "ev_bm25_top", "ev_kind", "chk_claims", "chk_words", "dr_numbers", "dr_names")
LEVELS = (0.85, 0.9, 0.95, 0.97)
LIKELY = 0.8  # a `likely` band fitted this right keeps its 0.75 promise with a margin
MIN_BAND = 8  # a boundary is read only where at least this many answers lie above it
FOLDS = 5
KINDS = ("across", "same", "cause")


def source(r: Record) -> str:
    """The source a record is reported under (its group and corpus)."""
    return f"{r.asked.group}:{r.asked.corpus}"


def label(r: Record) -> int:
    """1 when the draft's own sentences hold a gold answer."""
    bare = lexical.MARKERS.sub(" ", r.answer.draft)
    return int(r.asked.item.answerable and not is_refusal(r.answer.draft)
               and contains_answer(bare, r.asked.item.answers))


def matrix(records: Sequence[Record], features: Sequence[str]) -> np.ndarray:
    """The signals as a matrix (NaN where unknown)."""
    return np.array([[r.answer.signals.get(f, math.nan) for f in features] for r in records],
                    dtype=np.float64)


def fit(x: np.ndarray, y: np.ndarray, features: Sequence[str]) -> Logistic:
    """A regularised logistic regression, exported as calibrator.Logistic (NaN = the mean)."""
    from sklearn.linear_model import LogisticRegression

    known = np.isfinite(x)
    count = np.maximum(known.sum(axis=0), 1)
    mean = np.where(known, x, 0.0).sum(axis=0) / count
    scale = np.sqrt(np.where(known, (x - mean) ** 2, 0.0).sum(axis=0) / count)
    scale = np.where(np.isfinite(scale) & (scale > 1e-9), scale, 1.0)
    z = np.where(np.isfinite(x), (x - mean) / scale, 0.0)
    model = LogisticRegression(C=0.3, max_iter=4000).fit(z, y)
    return Logistic(tuple(features), mean, scale, model.coef_[0].astype(np.float64),
                    float(model.intercept_[0]))


def probabilities(model: Logistic, records: Sequence[Record]) -> np.ndarray:
    """P(right) of each record's draft."""
    return np.array([model.probability(r.answer.signals) for r in records])


def held_out(records: Sequence[Record], y: np.ndarray, features: Sequence[str]) -> np.ndarray:
    """Each record's probability from a model fitted without its passage (GroupKFold by
    passage, FOLDS folds over every source together)."""
    from sklearn.model_selection import GroupKFold

    x = matrix(records, features)
    passages = np.array([f"{r.asked.corpus}:{r.asked.item.passage_id}" for r in records])
    p = np.zeros(len(records))
    for train, test in GroupKFold(FOLDS).split(x, y, passages):
        model = fit(x[train], y[train], features)
        p[test] = probabilities(model, [records[i] for i in test])
    return p


def boundary(p: np.ndarray, y: np.ndarray, accuracy: float, below: float = 1.01) -> float:
    """The least probability t with answers in [t, below) right at least `accuracy` of the
    time (and at least MIN_BAND of them); 1.01 (never) when there is none."""
    best = 1.01
    for t in sorted(set(p.tolist()), reverse=True):
        inside = (p >= t) & (p < below)
        if inside.sum() >= MIN_BAND and y[inside].mean() >= accuracy:
            best = float(t)
    return best


def boundaries(p: np.ndarray, y: np.ndarray, kinds: np.ndarray
               ) -> tuple[dict[float, dict[str, float]], dict[str, float]]:
    """Per wanted accuracy and kind, the `sure` boundary; per kind, the `likely` one. A kind
    with too few records takes the strictest of the others ("*")."""
    sure: dict[float, dict[str, float]] = {}
    likely: dict[str, float] = {}
    for level in LEVELS:
        sure[level] = {k: boundary(p[kinds == k], y[kinds == k], level)
                       for k in KINDS if (kinds == k).sum() >= 2 * MIN_BAND}
        sure[level][ANY] = max(sure[level].values(), default=1.01)
    top = sure[max(a for a in LEVELS if a <= 0.95)]
    for k in KINDS:
        if (kinds == k).sum() >= 2 * MIN_BAND:
            likely[k] = min(boundary(p[kinds == k], y[kinds == k], LIKELY, top[k]), top[k])
    likely[ANY] = max(likely.values(), default=1.01)
    return sure, likely


def kinds_of(records: Sequence[Record]) -> np.ndarray:
    """Each record's kind of question."""
    return np.array([calibrator.kind(r.answer.signals) for r in records])


def banded(records: Sequence[Record], p: np.ndarray, cal: Calibration,
           accuracy: float) -> list[Record]:
    """The records as shown with probabilities `p` (held out, or from the final model)."""
    out = []
    for r, pi in zip(records, p, strict=True):
        kind = calibrator.kind(r.answer.signals)
        band = cal.band(float(pi), accuracy, kind)
        stated = "" if band == "unsure" else lexical.MARKERS.sub(" ", r.answer.draft)
        out.append(replace(r, answer=replace(r.answer, certainty=band, stated=stated,
                                             confidence=float(pi))))
    return out


def report(records: Sequence[Record]) -> dict[str, Any]:
    """Per source (group and corpus): the bands (benchmarks.answer.bands), each band's
    accuracy among the shown answers (answerable and not), and its calibration error (mean
    probability - accuracy)."""
    out: dict[str, Any] = {}
    for g in sorted({source(r) for r in records}):
        mine = [r for r in records if source(r) == g]
        row = bands(mine)
        for band in ("sure", "likely"):
            inside = [r for r in mine if r.answer.certainty == band]
            right = [r.right for r in inside]
            ps = [r.answer.confidence or 0.0 for r in inside]
            row[f"{band}_n"] = len(inside)
            row[f"{band}_accuracy"] = float(np.mean(right)) if inside else None
            row[f"{band}_error"] = float(np.mean(ps) - np.mean(right)) if inside else None
        out[g] = row
    return out


# Each band's colour in the chart; a near miss (a question the articles do not answer) shown
# as `sure` or `likely` is a wrong answer, so it takes that band's wrong colour.
BAND_COLOURS = {"sure right": "#1a7f37", "likely right": "#7cc98a", "sure wrong": "#b4232c",
                "likely wrong": "#f08c7e", "unsure": "#a8b3bd", "not found": "#e3e7eb"}
ANSWERABLE = {"sure right": "sure_right", "likely right": "likely_right",
              "sure wrong": "sure_wrong", "likely wrong": "likely_wrong", "unsure": "unsure",
              "not found": "not_found"}
NEAR_MISS = {"sure wrong": "un_sure", "likely wrong": "un_likely", "unsure": "un_unsure",
             "not found": "un_not_found"}


def draw(levels: dict[float, dict[str, dict[str, Any]]], path: Path) -> None:
    """A horizontal stacked bar per source and kind of question (answerable, near misses):
    the share of its questions in each band, one panel per level, written to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_bars = max(sum(1 + bool(row["unanswerable"]) for row in rows.values())
                 for rows in levels.values())
    fig, axes = plt.subplots(len(levels), 1, squeeze=False,
                             figsize=(9, 1.2 + 0.42 * n_bars * len(levels)))
    for ax, (level, rows) in zip(axes[:, 0], levels.items(), strict=True):
        bars: list[tuple[str, dict[str, int]]] = []
        for g, row in rows.items():
            bars.append((f"{g}, answerable ({row['answerable']})",
                         {band: row[key] for band, key in ANSWERABLE.items()}))
            if row["unanswerable"]:
                bars.append((f"{g}, near misses ({row['unanswerable']})",
                             {band: row[key] for band, key in NEAR_MISS.items()}))
        bars.reverse()  # the first source on top
        for band, colour in BAND_COLOURS.items():
            left = [sum(c.get(b, 0) for b in list(BAND_COLOURS)[:list(BAND_COLOURS).index(band)])
                    / max(1, sum(c.values())) for _, c in bars]
            width = [c.get(band, 0) / max(1, sum(c.values())) for _, c in bars]
            drawn = ax.barh([name for name, _ in bars], width, left=left, color=colour,
                            edgecolor="white", linewidth=0.5, label=band)
            ax.bar_label(drawn, labels=[str(c.get(band, 0)) if w >= 0.04 else ""
                                        for (_, c), w in zip(bars, width, strict=True)],
                         label_type="center", fontsize=7,
                         color="white" if band in ("sure right", "sure wrong") else "black")
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of the questions (counts in the bars)")
        ax.set_title(f"Where the questions fall by certainty (TANYA_ANSWER_MIN_ACCURACY={level})",
                     fontsize=10)
        ax.tick_params(axis="y", labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, ncols=len(BAND_COLOURS), loc="lower center", fontsize=7,
               frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", type=Path, nargs="+", help="fit groups' records (and more)")
    ap.add_argument("--judge", type=Path, nargs="*", default=[], help="judged groups' records")
    ap.add_argument("--export", type=Path, nargs="?", const=calibrator.DEFAULT)
    ap.add_argument("--without", nargs="*", default=[], help="fit as if never measured")
    ap.add_argument("--with", dest="extra", nargs="*", default=[], choices=MEASURED,
                    help="also read these measured signals")
    ap.add_argument("--levels", type=float, nargs="*", default=[0.95],
                    help="values of TANYA_ANSWER_MIN_ACCURACY to report")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--png", type=Path, help="also draw the bands per source to this file")
    args = ap.parse_args()
    emb = BundledE5Embedder()
    plain = AnswerSettings()
    every = rejudge(load_records([*args.records, *args.judge]), emb, plain)
    # A draft that could be shown: evidence found, the model answered, not cut off. The rest
    # are unsure or not found whatever the fit says, and are not fitted on.
    drafted = [r for r in every if r.answer.evidence and "cut_after_s" not in r.answer.timings
               and not is_refusal(r.answer.draft)]
    kept = {id(r) for r in drafted}
    rest = [r for r in every if id(r) not in kept]
    fitted = [r for r in drafted if r.asked.group in FITTED]
    judged = [r for r in drafted if r.asked.group not in FITTED]
    features = [f for f in (*FEATURES, *args.extra) if f not in args.without]
    y = np.array([label(r) for r in fitted])
    p = held_out(fitted, y, features)
    sure, likely = boundaries(p, y, kinds_of(fitted))
    model = fit(matrix(fitted, features), y, features)
    settings = Settings()
    cal = Calibration(model, sure, likely, {"model": settings.model.name,
                                            "embedder": emb.name})
    result: dict[str, Any] = {"fit_records": len(fitted), "right_drafts": int(y.sum()),
                              "sure": sure, "likely": likely, "levels": {}}
    for level in args.levels:
        shown = [*banded(fitted, p, cal, level), *rest]
        if judged:
            shown += banded(judged, probabilities(model, judged), cal, level)
        result["levels"][level] = report(shown)
    if args.export:
        args.export.write_text(json.dumps(calibrator.to_json(cal), indent=1) + "\n",
                               encoding="utf-8")
    if args.png:
        draw(result["levels"], args.png)
    if args.json:
        print(json.dumps(result, default=str))
        return
    print(f"fitted on {len(fitted)} records ({int(y.sum())} right drafts); "
          f"sure {sure}; likely {likely}")
    for level, rows in result["levels"].items():
        print(f"\nTANYA_ANSWER_MIN_ACCURACY={level} (fit groups: their passages held out):\n"
              + table(rows))
        print("| group | sure: n, accuracy, calibration error | likely: n, accuracy, error |\n"
              "|---|---|---|")
        for g, row in rows.items():
            print(f"| {g} | {row['sure_n']}, {_f(row['sure_accuracy'])}, "
                  f"{_f(row['sure_error'])} | {row['likely_n']}, "
                  f"{_f(row['likely_accuracy'])}, {_f(row['likely_error'])} |")


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
