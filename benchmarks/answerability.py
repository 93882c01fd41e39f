"""A learned answerability signal from e5 vectors, measured on the training splits (#32).

Whether an evidence sentence answers the question, from the question's query vector q and the
sentence's passage vector s: their element-wise product, absolute difference and cosine, by a
logistic regression or a small MLP. Measured, not shipped: it adds nothing to the cosine held
out, nor to the certainty fit (benchmarks/README.md, 2026-12-07).

Pairs from ../shared/datasets/train, passages taken by a fixed stride: for an answerable
question, the sentence holding its gold answer (positive) and the two sentences of its
passage closest to it that do not (negatives); for a near-miss unanswerable question
(IDK-MRC), the two sentences closest to it (negatives); the English fit questions
(benchmarks/fit_en) add the same pairs in English. Each model is cross-validated with whole
passages held out, then measured on the test side (the English dev set's questions over
../shared/datasets, and FacQA's own, never fitted on), against the plain cosine. The vectors
are embedded once and kept in --cache. Run:

    .venv/bin/python -m benchmarks.answerability [--passages N] [--cache FILE.npz]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.datasets import DATASETS, english
from benchmarks.questions import TRAIN
from bot.evaluation.sets import QAItem, QASet, load
from bot.pipeline import lexical
from index.embedding import Embedder
from index.embedding.bundled import BundledE5Embedder

HARD = 2  # negatives per question: its closest sentences that do not hold the answer
HERE = Path(__file__).resolve().parent


def features(q: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The pair features of one query vector against sentence vectors (rows)."""
    s = np.atleast_2d(s)
    return np.hstack([s * q, np.abs(s - q), (s @ q)[:, None]])


def pairs(qa: QASet, items: Sequence[QAItem], emb: Embedder
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Query vectors, sentence vectors, labels and passage ids of each question's pairs."""
    qs: list[np.ndarray] = []
    ss: list[np.ndarray] = []
    y: list[int] = []
    groups: list[str] = []
    by_passage: dict[str, tuple[list[str], np.ndarray]] = {}
    for item in items:
        if item.passage_id not in by_passage:
            text = qa.passages[item.passage_id]
            sents = [text[a:b] for a, b in lexical.sentences(text, "id")]
            by_passage[item.passage_id] = (sents, emb.embed_passages(sents))
        sents, vecs = by_passage[item.passage_id]
        q = emb.embed_query(item.question)[0]
        golds = [g.lower() for g in item.answers if g.strip()]
        holds = np.array([item.answerable and any(g in s.lower() for g in golds)
                          for s in sents])
        if item.answerable and not holds.any():
            continue  # the answer spans two sentences: no clean positive
        order = np.argsort(-(vecs @ q))
        chosen = [i for i in order if holds[i]][:1] + [i for i in order if not holds[i]][:HARD]
        qs += [q] * len(chosen)
        ss.append(vecs[chosen])
        y += [int(holds[i]) for i in chosen]
        groups += [f"{qa.name}:{item.passage_id}"] * len(chosen)
    return np.vstack(qs), np.vstack(ss), np.array(y), np.array(groups)


def strided(qa: QASet, passages: int) -> list[QAItem]:
    """The questions of every k-th passage, up to `passages` passages."""
    ids = sorted({i.passage_id for i in qa.items})
    keep = set(ids[:: max(1, len(ids) // passages)][:passages])
    return [i for i in qa.items if i.passage_id in keep]


def collect(passages: int, emb: Embedder) -> dict[str, np.ndarray]:
    """Every pair, training and test, with the part it belongs to."""
    parts: list[tuple[str, tuple[np.ndarray, ...]]] = []
    for name in ("idk-mrc", "tydiqa-id", "facqa"):
        qa = load(TRAIN / name)
        parts.append(("train", pairs(qa, strided(qa, passages), emb)))
    rows = [json.loads(line) for line in
            (HERE / "fit_en" / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    for name in ("facqa", "idk-mrc"):
        qa = load(TRAIN / name)
        items = [QAItem(r["id"], r["question"], (*r["answers"], *r["answers_en"]),
                        r["passage_id"], r["answerable"]) for r in rows
                 if r["set"] == name and r["passage_id"] in qa.passages]
        parts.append(("train", pairs(qa, items, emb)))
    for name in ("facqa", "idk-mrc", "tydiqa-id"):  # the English dev set's questions
        qa = english(name)
        parts.append((f"test {name}-en", pairs(qa, qa.items, emb)))
    qa = load(DATASETS / "facqa")
    parts.append(("test facqa", pairs(qa, qa.items, emb)))
    return {"q": np.vstack([p[0] for _, p in parts]), "s": np.vstack([p[1] for _, p in parts]),
            "y": np.concatenate([p[2] for _, p in parts]),
            "group": np.concatenate([p[3] for _, p in parts]),
            "part": np.concatenate([[label] * len(p[2]) for label, p in parts])}


def make(kind: str) -> Any:
    """An unfitted model of one kind."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    if kind == "logistic":
        return LogisticRegression(C=0.05, max_iter=4000)
    return MLPClassifier((32,), alpha=1e-2, max_iter=300, early_stopping=True, random_state=0)


def auc(p: np.ndarray, y: np.ndarray) -> float:
    """Area under the ROC curve (the chance a positive outranks a negative)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passages", type=int, default=300, help="per training set")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/answerability-pairs.npz"))
    args = ap.parse_args()
    from sklearn.model_selection import GroupKFold

    emb = BundledE5Embedder()
    if args.cache.is_file():
        data = dict(np.load(args.cache))
    else:
        data = collect(args.passages, emb)
        np.savez_compressed(args.cache, q=data["q"], s=data["s"], y=data["y"],
                            group=data["group"], part=data["part"])
    x = np.vstack([features(q, s[None, :]) for q, s in
                   zip(data["q"].astype(np.float64), data["s"].astype(np.float64), strict=True)])
    y, part = data["y"], data["part"]
    train = part == "train"
    print(f"train: {int(train.sum())} pairs ({int(y[train].sum())} positive)")
    for kind in ("logistic", "mlp"):
        held = np.zeros(int(train.sum()))
        for tr, te in GroupKFold(5).split(x[train], y[train], data["group"][train]):
            held[te] = make(kind).fit(x[train][tr], y[train][tr]).predict_proba(
                x[train][te])[:, 1]
        fitted = make(kind).fit(x[train], y[train])
        line = [f"{kind}: held-out passages AUC {auc(held, y[train]):.3f} "
                f"(cosine {auc(x[train][:, -1], y[train]):.3f})"]
        for label in sorted(set(part) - {"train"}):
            inside = part == label
            p = fitted.predict_proba(x[inside])[:, 1]
            line.append(f"{label} {auc(p, y[inside]):.3f} (cosine "
                        f"{auc(x[inside][:, -1], y[inside]):.3f}, {int(inside.sum())} pairs)")
        print("\n  ".join(line))


if __name__ == "__main__":
    main()
