"""Whether an evidence sentence answers the question, learned from e5 vectors alone.

A logistic regression over the question's query vector q and a sentence's passage vector s:
their element-wise product, their absolute difference and their cosine (the interactions a
cross-encoder would see, at the cost of a dot product). Fitted by benchmarks/answerability.py
on the training splits (the sentence holding the answer against its passage's other
sentences, and the closest sentences of near-miss unanswerable questions), exported to
answerability.json beside this module, applied here with numpy. Its probabilities are
signals of the certainty fit (`ans_best`: the first passage's best sentence; `ans_max`: the
highest over the evidence), fitted for multilingual-e5-small (NaN for another embedder).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from bot.pipeline.evidence import Evidence
from index.embedding import Embedder

DEFAULT = Path(__file__).with_name("answerability.json")


def features(q: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The pair features of one query vector against sentence vectors (rows)."""
    s = np.atleast_2d(s)
    return np.hstack([s * q, np.abs(s - q), (s @ q)[:, None]])


@dataclass(frozen=True)
class Model:
    """The exported regression and the embedder whose vectors it reads."""

    weights: np.ndarray
    bias: float
    embedder: str

    def probability(self, q: np.ndarray, s: np.ndarray) -> np.ndarray:
        """P(the sentence answers the question) for each row of s."""
        z = features(q, s) @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-z)))


@cache
def load(path: Path = DEFAULT) -> Model | None:
    """The shipped model, or None when there is none."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return Model(np.array(data["weights"], dtype=np.float64), float(data["bias"]),
                 str(data["embedder"]))


def signals(question: str, evidence: Sequence[Evidence], embedder: Embedder,
            model: Model | None = None) -> dict[str, float]:
    """`ans_best` and `ans_max` for a question's evidence (NaN: no model for this embedder)."""
    model = model or load()
    if model is None or model.embedder != embedder.name or not evidence:
        return {"ans_best": math.nan, "ans_max": math.nan}
    q = embedder.embed_query(question)[0].astype(np.float64)
    texts = [evidence[0].best.text, *(s.text for e in evidence for s in e.sentences)]
    p = model.probability(q, embedder.embed_passages(texts).astype(np.float64))
    return {"ans_best": float(p[0]), "ans_max": float(p.max())}
