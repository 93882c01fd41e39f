"""Fit the answer decision on the dev sets' records, measure it, and export it.

Reads the records of `benchmarks.answer --records` runs (run them with
TANYA_ANSWER_CROSSLINGUAL=true so the second draft is measured), labels each answer (does
the checked draft hold a gold answer or key phrase; does the quoted evidence sentence), and
fits two classifiers on the signals: logistic regression and gradient-boosted trees, each
cross-validated with whole passages held out (GroupKFold), so no question is scored by a
model that saw its passage. Prints, per group, the AUC and the area under the
risk-coverage curve (AURC: lower is better) of each signal alone, of today's checks and of
both calibrators, and where the answerable questions go under the decision at each wanted
accuracy; draws the risk-coverage curves; and with --export writes the logistic model and
its thresholds, per kind of question (bot.pipeline.calibrator.kind), to
bot/pipeline/calibration.json (or to FILE). Run:

    .venv/bin/python -m benchmarks.calibrate RECORDS.pkl [...] [--png FILE] [--export [FILE]]
        [--without SIGNAL ...]

Refit whenever the model, a prompt or the embedder changes (the records are no longer what
the model does); fitting takes seconds, the records' runs take the time. The file names the
model and embedder it was fitted for, and tanya applies it to those alone: for another model
(a .gguf path, a server's TANYA_LLM_MODEL) the checks decide until its own records are fitted
and TANYA_ANSWER_CALIBRATION names the file.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.answer import Record, _Records
from bot.evaluation.runner import contains_answer
from bot.pipeline import calibrator, signals, verdict
from bot.pipeline.decision import is_refusal
from bot.pipeline.evidence import Evidence, Sentence
from index.embedding import Embedder
from index.embedding.bundled import BundledE5Embedder

FEATURES = ("lp_mean", "lp_min", "lp_facts_mean", "lp_facts_min", "ev_sim", "ev_cov",
            "ev_margin", "ev_max_sim", "ev_count", "ev_dense_top", "ev_bm25_top", "ev_kind",
            "chk_claims", "chk_kept", "chk_gives", "chk_words", "xl_sim", "xl_numbers",
            "xl_refused", "draft_refused", "self_yes", "q_cause", "q_across", "smp_sim",
            "smp_facts", "smp_refused", "qt_sim", "qt_cov", "qt_kind", "qt_best", "qt_words")
LEVELS = (0.6, 0.7, 0.8, 0.85, 0.9, 0.95)
FOLDS = 5
MIN_TRAIN = 40  # fewer training records than this: the fold keeps the base rate


def load(paths: Sequence[Path]) -> list[Record]:
    """Every record of the given runs that reached the model (evidence was found)."""
    out: list[Record] = []
    for path in paths:
        with path.open("rb") as f:
            out += [r for r in _Records(f).load() if r.answer.evidence]
    return out


def quotes(records: Sequence[Record], emb: Embedder) -> list[tuple[Evidence, Sentence]]:
    """Per record, the passage and sentence tanya would quote (verdict.quoted_sentence)."""
    return [verdict.quoted_sentence(r.answer.evidence, r.answer.draft, emb) for r in records]


def labels(records: Sequence[Record],
           quoted: Sequence[tuple[Evidence, Sentence]]) -> tuple[np.ndarray, np.ndarray]:
    """Per record: the checked draft is right; the quote that would stand in for it is."""
    answer, quote = [], []
    for r, (_, sentence) in zip(records, quoted, strict=True):
        a, gold = r.answer, r.item.answers
        shown = " ".join(v.sentence for v in a.verdicts if v.kept)
        answer.append(r.item.answerable and not is_refusal(a.draft)
                      and contains_answer(shown, gold))
        quote.append(r.item.answerable and contains_answer(sentence.text, gold))
    return np.array(answer, dtype=int), np.array(quote, dtype=int)


def quote_choices(records: Sequence[Record], yq: np.ndarray) -> dict[str, float]:
    """Of the answerable questions, how often each candidate quote holds a gold answer: the
    sentence nearest the draft in the passage it cites (what tanya quotes: the quote label
    `yq`), and the sentence nearest the question in the first passage."""
    ans = [r for r in records if r.item.answerable]
    near = int(yq.sum())  # an unanswerable question's quote is never labelled right
    best = sum(contains_answer(r.answer.evidence[0].best.text, r.item.answers) for r in ans)
    return {"nearest the draft": near / max(1, len(ans)),
            "best for the question": best / max(1, len(ans)), "n": float(len(ans))}


def matrix(records: Sequence[Record], quoted: Sequence[tuple[Evidence, Sentence]]) -> np.ndarray:
    """The signals as a matrix (NaN where unknown)."""
    rows = []
    # Records from before a question or quote signal existed get it computed here.
    for r, (passage, sentence) in zip(records, quoted, strict=True):
        a = r.answer
        known = (signals.question_signals(a.standalone_question, a.evidence)
                 | signals.quote_signals(a.standalone_question, a.evidence, passage, sentence))
        known |= a.signals
        rows.append([known.get(f, math.nan) for f in FEATURES])
    return np.array(rows, dtype=np.float64)


def _logistic() -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(SimpleImputer(strategy="mean", keep_empty_features=True),
                         StandardScaler(), LogisticRegression(C=0.5, max_iter=2000))


def _trees() -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    # A signal never measured in these records (no second draft) would break the binning.
    return make_pipeline(SimpleImputer(strategy="mean", keep_empty_features=True),
                         HistGradientBoostingClassifier(max_depth=3, learning_rate=0.05,
                                                        max_iter=150, min_samples_leaf=10))


def cross_validated(make: Any, x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Out-of-fold probabilities, whole passages held out."""
    from sklearn.model_selection import GroupKFold

    p = np.full(len(y), float(y.mean()))
    for train, test in GroupKFold(n_splits=min(FOLDS, len(set(groups)))).split(x, y, groups):
        if len(set(y[train])) < 2 or len(train) < MIN_TRAIN:
            continue
        p[test] = make().fit(x[train], y[train]).predict_proba(x[test])[:, 1]
    return p


def risk_coverage(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Coverage and risk (share wrong) of the k most confident, and the curve's area."""
    order = np.argsort(-p, kind="stable")
    right = np.cumsum(y[order])
    k = np.arange(1, len(y) + 1)
    risk = 1.0 - right / k
    return k / len(y), risk, float(risk.mean())


def auc(p: np.ndarray, y: np.ndarray) -> float:
    """ROC AUC, or NaN with one class only."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else math.nan


def threshold(p: np.ndarray, y: np.ndarray, accuracy: float) -> float:
    """The least probability above which the shown ones are right at least `accuracy` of the
    time (1.0: never show)."""
    order = np.argsort(-p, kind="stable")
    right = np.cumsum(y[order]) / np.arange(1, len(y) + 1)
    ok = np.nonzero(right >= accuracy)[0]
    return float(p[order][ok[-1]]) if len(ok) else 1.0


def kinds_of(x: np.ndarray) -> np.ndarray:
    """Each record's kind of question as the run-time decision reads it (calibrator.kind)."""
    cause, across = x[:, FEATURES.index("q_cause")], x[:, FEATURES.index("q_across")]
    return np.array([calibrator.kind({"q_cause": float(c), "q_across": float(a)})
                     for c, a in zip(cause, across, strict=True)])


def per_kind(p: np.ndarray, y: np.ndarray, kinds: np.ndarray,
             accuracy: float) -> dict[str, float]:
    """The threshold of each kind of question, and the strictest ('*') for any other."""
    out = {k: threshold(p[kinds == k], y[kinds == k], accuracy) for k in sorted(set(kinds))}
    return {**out, calibrator.ANY: max(out.values())}


def outcomes(records: Sequence[Record], pa: np.ndarray, pq: np.ndarray, ya: np.ndarray,
             yq: np.ndarray, t: tuple[float, float]) -> dict[str, float]:
    """Where the questions go under the decision with thresholds t."""
    can = np.array([r.answer.signals.get("chk_gives", 0.0) == 1.0 for r in records])
    answer = can & (pa >= t[0])
    quote = ~answer & (pq >= t[1])
    ans = np.array([r.item.answerable for r in records])
    n_ans = max(1, int(ans.sum()))
    return {
        "answers_right": float((answer & (ya == 1)).sum() / max(1, answer.sum())),
        "right_answer": float((answer & (ya == 1) & ans).sum() / n_ans),
        "right_quote": float((quote & (yq == 1) & ans).sum() / n_ans),
        "wrong": float(((answer & (ya == 0)) | (quote & (yq == 0)))[ans].sum() / n_ans),
        "refused": float((~answer & ~quote)[ans].sum() / n_ans),
        "unanswerable_shown": float((answer | quote)[~ans].mean()) if (~ans).any()
        else math.nan,
    }


def evidence_only(x: np.ndarray, prefixes: tuple[str, ...] = ("ev_", "q_")) -> np.ndarray:
    """The signals with all but the evidence's and the question's (and any other prefixes
    given) blanked, as if never measured."""
    out = np.full_like(x, math.nan)
    keep = [i for i, f in enumerate(FEATURES) if f.startswith(prefixes)]
    out[:, keep] = x[:, keep]
    return out


def export(x: np.ndarray, xq: np.ndarray, ya: np.ndarray, yq: np.ndarray,
           thresholds: dict[float, Any], fitted_for: dict[str, str], path: Path) -> None:
    """Fit both logistic models on all records (the quote's on `xq`) and write them for
    bot.pipeline.calibrator."""
    models = {}
    for name, xx, y in (("answer", x, ya), ("quote", xq, yq)):
        pipe = _logistic().fit(xx, y)
        imputer, scaler, lr = pipe.steps[0][1], pipe.steps[1][1], pipe.steps[2][1]
        scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
        models[name] = {"features": list(FEATURES), "mean": imputer.statistics_.tolist(),
                        "scale": scale.tolist(), "coef": lr.coef_[0].tolist(),
                        "intercept": float(lr.intercept_[0])}
    path.write_text(json.dumps({**models, "thresholds": {str(k): v for k, v in
                                                         thresholds.items()},
                                "fitted_for": fitted_for}, indent=1) + "\n")


SINGLE = ("lp_mean", "lp_facts_min", "ev_sim", "self_yes", "xl_sim", "smp_sim", "smp_facts")


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", nargs="+", type=Path)
    ap.add_argument("--png", type=Path, help="draw the risk-coverage curves here")
    ap.add_argument("--markdown", action="store_true", help="print the tables for the READMEs")
    ap.add_argument("--export", type=Path, nargs="?", const=calibrator.DEFAULT, default=None,
                    metavar="FILE", help="write the calibration (default: the shipped "
                    "bot/pipeline/calibration.json; for another model, a file named by "
                    "TANYA_ANSWER_CALIBRATION)")
    ap.add_argument("--without", nargs="+", default=[], choices=FEATURES, metavar="SIGNAL",
                    help="fit as if these signals were never measured (what each one adds)")
    ap.add_argument("--quote-signals", choices=("all", "evidence", "quoted"), default="all",
                    help="what the quote model reads: every signal, the evidence's and the "
                    "question's alone, or those and the quoted sentence's (qt_*)")
    args = ap.parse_args()
    records = load(args.records)
    emb = BundledE5Embedder()
    quoted = quotes(records, emb)
    ya, yq = labels(records, quoted)
    x = matrix(records, quoted)
    kinds = kinds_of(x)  # read from the question, whatever the fit may see
    for name in args.without:
        x[:, FEATURES.index(name)] = math.nan
    groups = np.array([f"{r.set}/{r.item.passage_id}" for r in records])
    pa = {"logistic": cross_validated(_logistic, x, ya, groups),
          "trees": cross_validated(_trees, x, ya, groups)}
    xq = {"all": x, "evidence": evidence_only(x),
          "quoted": evidence_only(x, ("ev_", "q_", signals.QUOTE_PREFIX))}[args.quote_signals]
    pq = cross_validated(_logistic, xq, yq, groups)
    rows: dict[str, dict[str, Any]] = {}
    curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for k in dict.fromkeys(kinds.tolist()):
        m = kinds == k
        y = ya[m]
        checks = x[m, FEATURES.index("chk_gives")] * x[m, FEATURES.index("chk_kept")]
        scored = {"today's checks": checks, **{f"{n} (cv)": v[m] for n, v in pa.items()}}
        for f in SINGLE:
            col = x[m, FEATURES.index(f)]
            if np.isfinite(col).any():
                scored[f] = np.where(np.isfinite(col), col, np.nanmin(col))
        rows[k] = {name: {"auc": auc(v, y), "aurc": risk_coverage(v, y)[2]}
                   for name, v in scored.items()}
        rows[k]["base rate"] = {"share right": float(y.mean()), "n": int(m.sum())}
        curves[k] = {name: risk_coverage(v, y)[:2] for name, v in scored.items()}
    thresholds = {}
    for a in LEVELS:
        ta, tq = per_kind(pa["logistic"], ya, kinds, a), per_kind(pq, yq, kinds, a)
        thresholds[a] = {k: (ta[k], tq[k]) for k in ta}
    decided = {k: {str(a): outcomes([r for r, keep in zip(records, kinds == k, strict=True)
                                     if keep], pa["logistic"][kinds == k], pq[kinds == k],
                                    ya[kinds == k], yq[kinds == k], thresholds[a][k])
                   for a in LEVELS} for k in rows}
    report = {"signals": rows, "thresholds": {str(a): t for a, t in thresholds.items()},
              "decision": decided, "times": times(records, kinds),
              "quotes": {k: quote_choices([r for r, kk in zip(records, kinds, strict=True)
                                           if kk == k], yq[kinds == k]) for k in rows}}
    print(markdown(report) if args.markdown else json.dumps(report, indent=1))
    if args.png:
        _draw(curves, args.png)
    if args.export:
        first = records[0].answer
        # benchmarks.answer embeds with the same bundled embedder as `emb` here.
        export(x, xq, ya, yq, thresholds, {"model": first.model, "embedder": emb.name,
                                       "records": str(len(records))}, args.export)


def times(records: Sequence[Record], kinds: np.ndarray) -> dict[str, dict[str, float]]:
    """Median time to the final answer, and the same without what this decision adds (the
    self-check and the quote's rendering), measured in the same run."""
    out = {}
    for k in dict.fromkeys(kinds.tolist()):
        mine = [r.answer.timings for r, kk in zip(records, kinds, strict=True) if kk == k]
        total = [t["total_s"] for t in mine]
        before = [t["total_s"] - t.get("selfcheck_s", 0.0) - t.get("rendering_s", 0.0)
                  for t in mine]
        out[k] = {"total_s": float(np.median(total)), "without_s": float(np.median(before)),
                  "ratio": float(np.median(total) / np.median(before))}
    return out


def markdown(report: dict[str, Any]) -> str:
    """The report as the tables the READMEs show."""
    kinds = list(report["signals"])
    out = ["| score | " + " | ".join(f"{k} AUC | {k} AURC" for k in kinds) + " |",
           "|---|" + "---|---|" * len(kinds)]
    names = list(dict.fromkeys(n for k in kinds for n in report["signals"][k]
                               if n != "base rate"))
    for n in names:
        cells = []
        for k in kinds:
            row = report["signals"][k].get(n)
            cells += [f"{row['auc']:.2f}", f"{row['aurc']:.2f}"] if row else ["-", "-"]
        out.append(f"| {n} | " + " | ".join(cells) + " |")
    out.append("| (share right, n) | " + " | ".join(
        f"{report['signals'][k]['base rate']['share right']:.2f} | "
        f"{report['signals'][k]['base rate']['n']}" for k in kinds) + " |")
    out += ["", "| wanted accuracy | kind | answers right | right answer | right quote | wrong "
            "| refused | unanswerable shown |", "|---|---|---|---|---|---|---|---|"]
    for a in report["thresholds"]:
        for k in kinds:
            d = report["decision"][k][a]
            out.append(f"| {a} | {k} | {d['answers_right']:.2f} | {d['right_answer']:.2f} | "
                       f"{d['right_quote']:.2f} | {d['wrong']:.2f} | {d['refused']:.2f} | "
                       f"{d['unanswerable_shown']:.2f} |")
    out += ["", "| kind | median total | without the self-check and rendering | ratio |",
            "|---|---|---|---|"]
    out += [f"| {k} | {t['total_s']:.1f} s | {t['without_s']:.1f} s | {t['ratio']:.2f} |"
            for k, t in report["times"].items()]
    out += ["", "| kind | quote nearest the draft right | best sentence for the question right |",
            "|---|---|---|"]
    out += [f"| {k} | {q['nearest the draft']:.2f} | {q['best for the question']:.2f} |"
            for k, q in report["quotes"].items()]
    return "\n".join(out)


def _draw(curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 4), squeeze=False)
    for ax, (g, named) in zip(axes[0], curves.items(), strict=True):
        for name, (cov, risk) in named.items():
            ax.plot(cov, risk, label=name)
        ax.set(title=g, xlabel="coverage (share shown)", ylabel="risk (share wrong)",
               ylim=(0, 1))
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    main()
