"""The answerability signal: the exported layers give sklearn's probabilities with numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks import answerability as fitting
from bot.pipeline import answerability


@pytest.mark.parametrize("kind", ["logistic", "mlp"])
def test_the_exported_layers_give_the_fitted_probabilities(kind: str) -> None:
    rng = np.random.default_rng(0)
    dim = 8
    q = rng.normal(size=(300, dim))
    s = q + rng.normal(scale=np.where(np.arange(300) % 2, 0.3, 3.0)[:, None], size=(300, dim))
    y = (np.arange(300) % 2).astype(int)  # near the question: answers
    x = np.vstack([answerability.features(a, b[None, :]) for a, b in zip(q, s, strict=True)])
    model = fitting.make(kind).fit(x, y)
    layers = tuple((np.array(w), np.array(b)) for w, b in fitting.layers(model))
    mine = answerability.Model(layers, "e5")
    for a, b, row in zip(q[:20], s[:20], x[:20], strict=True):
        expected = model.predict_proba(row[None, :])[0, 1]
        assert mine.probability(a, b[None, :])[0] == pytest.approx(expected, abs=1e-4)


def test_another_embedders_vectors_are_not_read() -> None:
    mine = answerability.Model(((np.zeros((3, 1)), np.zeros(1)),), "e5")
    got = answerability.signals(np.ones(1), np.ones(1), np.ones((2, 1)), "minilm", mine)
    assert math.isnan(got["ans_best"]) and math.isnan(got["ans_max"])
    same = answerability.signals(np.ones(1), np.ones(1), np.ones((2, 1)), "e5", mine)
    assert same == {"ans_best": 0.5, "ans_max": 0.5}
