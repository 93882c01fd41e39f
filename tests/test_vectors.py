"""FAISS index types by size: exact below the limit, IVF above, ids and removals kept."""

from __future__ import annotations

import numpy as np

from index import vectors
from index.embedding import Vectors


def _data(n: int, dim: int = 32, seed: int = 0) -> Vectors:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(20, dim))
    x = centers[rng.integers(0, 20, n)] + 0.3 * rng.normal(size=(n, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def test_small_stays_flat_and_large_becomes_ivf() -> None:
    x = _data(3000)
    ids = np.arange(100, 3100, dtype=np.int64)
    index = vectors.empty(32)
    vectors.add(index, ids, x)
    assert vectors.kind(vectors.fit(index, flat_limit=5000)) == "flat"
    ivf = vectors.fit(index, flat_limit=1000)
    assert vectors.kind(ivf).startswith("ivf") and vectors.count(ivf) == 3000
    exact = {i for i, _ in vectors.search(index, x[5:6], 10)}
    approx = {i for i, _ in vectors.search(ivf, x[5:6], 10)}
    assert 105 in approx and len(exact & approx) >= 8


def test_ivf_keeps_removals_and_additions_and_goes_back_to_flat() -> None:
    x = _data(3000)
    index = vectors.empty(32)
    vectors.add(index, np.arange(3000, dtype=np.int64), x)
    ivf = vectors.fit(index, flat_limit=1000)
    vectors.remove(ivf, np.arange(0, 2500, dtype=np.int64))
    vectors.add(ivf, np.array([9999], dtype=np.int64), x[:1])
    assert vectors.count(ivf) == 501
    assert vectors.search(ivf, x[:1], 1)[0][0] == 9999
    flat = vectors.fit(ivf, flat_limit=1000)
    assert vectors.kind(flat) == "flat" and vectors.count(flat) == 501
    assert vectors.search(flat, x[2999:3000], 1)[0][0] == 2999


def test_retrained_after_fourfold_growth() -> None:
    index = vectors.empty(32)
    vectors.add(index, np.arange(1000, dtype=np.int64), _data(1000))
    small = vectors.fit(index, flat_limit=500)
    vectors.add(small, np.arange(1000, 20000, dtype=np.int64), _data(19000, seed=1))
    grown = vectors.fit(small, flat_limit=500)
    assert vectors.kind(grown) != vectors.kind(small) and vectors.count(grown) == 20000
