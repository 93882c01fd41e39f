"""Fit the answerability signal (bot/pipeline/answerability.py) on the training splits.

Pairs from ../shared/datasets/train, passages sampled by a fixed stride: for an answerable
question, the sentence holding its gold answer (positive) and the two sentences of its
passage closest to it that do not (negatives); for a near-miss unanswerable question
(IDK-MRC), the two sentences closest to it (negatives); the English fit questions
(benchmarks/fit_en) add the same pairs in English. A logistic regression on the pair
features is cross-validated with whole passages held out, then measured on the test-side
sets (every pair of ../shared/datasets, never fitted on) alone and against the plain cosine,
and exported. Run:

    .venv/bin/python -m benchmarks.answerability [--passages N] [--export]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.datasets import DATASETS, english
from benchmarks.questions import TRAIN
from bot.evaluation.sets import QAItem, QASet, load
from bot.pipeline import answerability, lexical
from index.embedding import Embedder
from index.embedding.bundled import BundledE5Embedder

HARD = 2  # negatives per question: its closest sentences that do not hold the answer


def pairs(qa: QASet, items: Sequence[QAItem], emb: Embedder
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and passage ids of each question's pairs."""
    x: list[np.ndarray] = []
    y: list[int] = []
    groups: list[str] = []
    by_passage: dict[str, tuple[list[str], np.ndarray]] = {}
    for item in items:
        if item.passage_id not in by_passage:
            text = qa.passages[item.passage_id]
            sents = [text[a:b] for a, b in lexical.sentences(text, "id")]
            by_passage[item.passage_id] = (sents, emb.embed_passages(sents).astype(np.float64))
        sents, vecs = by_passage[item.passage_id]
        q = emb.embed_query(item.question)[0].astype(np.float64)
        golds = [g.lower() for g in item.answers if g.strip()]
        holds = np.array([item.answerable and any(g in s.lower() for g in golds)
                          for s in sents])
        if item.answerable and not holds.any():
            continue  # the answer spans two sentences: no clean positive
        order = np.argsort(-(vecs @ q))
        chosen = [i for i in order if holds[i]][:1] + [i for i in order if not holds[i]][:HARD]
        x.append(answerability.features(q, vecs[chosen]))
        y += [int(holds[i]) for i in chosen]
        groups += [item.passage_id] * len(chosen)
    return np.vstack(x), np.array(y), np.array(groups)


def strided(qa: QASet, passages: int) -> list[QAItem]:
    """The questions of every k-th passage, up to `passages` passages."""
    ids = sorted({i.passage_id for i in qa.items})
    keep = set(ids[:: max(1, len(ids) // passages)][:passages])
    return [i for i in qa.items if i.passage_id in keep]


def auc(p: np.ndarray, y: np.ndarray) -> float:
    """Area under the ROC curve (the chance a positive outranks a negative)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passages", type=int, default=500, help="per training set")
    ap.add_argument("--export", action="store_true")
    args = ap.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    emb = BundledE5Embedder()
    parts = []
    for name in ("idk-mrc", "tydiqa-id", "facqa"):
        qa = load(TRAIN / name)
        parts.append(pairs(qa, strided(qa, args.passages), emb))
    fit_en = [json.loads(line) for line in
              (Path(__file__).parent / "fit_en" / "questions.jsonl").read_text().splitlines()]
    for name in ("facqa", "idk-mrc"):
        qa = load(TRAIN / name)
        items = [QAItem(r["id"], r["question"], tuple(r["answers"]) + tuple(r["answers_en"]),
                        r["passage_id"], r["answerable"]) for r in fit_en if r["set"] == name
                 and r["passage_id"] in qa.passages]
        parts.append(pairs(qa, items, emb))
    x = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    g = np.concatenate([p[2] for p in parts])
    held = np.zeros(len(y))
    for tr, te in GroupKFold(5).split(x, y, g):
        held[te] = LogisticRegression(C=0.05, max_iter=4000).fit(x[tr], y[tr]) \
            .predict_proba(x[te])[:, 1]
    model = LogisticRegression(C=0.05, max_iter=4000).fit(x, y)
    print(f"train: {len(y)} pairs ({int(y.sum())} positive); held-out passages: AUC "
          f"{auc(held, y):.3f} (cosine alone {auc(x[:, -1], y):.3f})")
    for name in ("facqa", "idk-mrc", "tydiqa-id"):
        for label, qa in ((name, load(DATASETS / name)), (f"{name}-en", english(name))):
            xt, yt, _ = pairs(qa, qa.items, emb)
            print(f"test {label}: {len(yt)} pairs, AUC {auc(model.predict_proba(xt)[:, 1], yt):.3f}"
                  f" (cosine alone {auc(xt[:, -1], yt):.3f})")
    if args.export:
        answerability.DEFAULT.write_text(json.dumps(
            {"embedder": emb.name, "weights": model.coef_[0].round(6).tolist(),
             "bias": round(float(model.intercept_[0]), 6),
             "fitted_on": f"{len(y)} pairs of the training splits (benchmarks.answerability)"})
            + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
