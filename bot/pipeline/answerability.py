"""Whether an evidence sentence answers the question, learned from e5 vectors alone.

A small network over the question's query vector q and a sentence's passage vector s: their
element-wise product, their absolute difference and their cosine (the interactions a
cross-encoder would see, at the cost of a dot product), through dense layers (ReLU between,
a sigmoid at the end; one layer is a logistic regression). Fitted by benchmarks/answerability.py
on the training splits (the sentence holding the answer against its passage's other
sentences, and the closest sentences of near-miss unanswerable questions), exported to
answerability.json beside this module, applied here with numpy. Its probabilities are
signals of the certainty fit (`ans_best`: the first passage's best sentence; `ans_max`: the
highest over the evidence), fitted for multilingual-e5-small (NaN for another embedder).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

DEFAULT = Path(__file__).with_name("answerability.json")


def features(q: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The pair features of one query vector against sentence vectors (rows)."""
    s = np.atleast_2d(s)
    return np.hstack([s * q, np.abs(s - q), (s @ q)[:, None]])


@dataclass(frozen=True)
class Model:
    """The exported layers (weights, bias) and the embedder whose vectors they read."""

    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    embedder: str

    def probability(self, q: np.ndarray, s: np.ndarray) -> np.ndarray:
        """P(the sentence answers the question) for each row of s."""
        h = features(q, s)
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return np.asarray(1.0 / (1.0 + np.exp(-h[:, 0])))


@cache
def load(path: Path = DEFAULT) -> Model | None:
    """The shipped model, or None when there is none."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    layers = tuple((np.array(w, dtype=np.float64), np.array(b, dtype=np.float64))
                   for w, b in data["layers"])
    return Model(layers, str(data["embedder"]))


def signals(question: np.ndarray, best: np.ndarray, sentences: np.ndarray, embedder: str,
            model: Model | None = None) -> dict[str, float]:
    """`ans_best` (the first passage's best sentence) and `ans_max` (the highest over the
    evidence's sentences), from the question's query vector and the sentences' passage
    vectors (NaN: no model for this embedder)."""
    model = model or load()
    if model is None or model.embedder != embedder:
        return {"ans_best": math.nan, "ans_max": math.nan}
    p = model.probability(question, np.vstack([best, sentences]))
    return {"ans_best": float(p[0]), "ans_max": float(p.max())}
