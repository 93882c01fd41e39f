"""The certainty fit's boundaries, and its export read back by the run-time calibrator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import calibrate
from bot.pipeline import calibrator
from bot.pipeline.calibrator import ANY, Calibration


def test_a_boundary_is_the_least_probability_whose_band_keeps_its_accuracy() -> None:
    p = np.linspace(0.99, 0.0, 100)
    y = (p > 0.305).astype(int)  # right above 0.305, wrong below
    assert calibrate.boundary(p, y, 1.0) == pytest.approx(0.31)
    low = calibrate.boundary(p, y, 0.8)  # some wrong ones may come in
    inside = p >= low
    assert low < 0.3 and y[inside].mean() >= 0.8
    assert calibrate.boundary(p, np.zeros(100, dtype=int), 0.5) == 1.01  # never shown
    band = calibrate.boundary(p, y, 0.9, below=0.5)  # a band under a higher boundary
    assert y[(p >= band) & (p < 0.5)].mean() >= 0.9


def test_each_kind_gets_its_boundaries_and_the_rest_the_strictest() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=300)
    kinds = np.array(["same", "across", "cause"] * 100)
    y = (p - np.where(kinds == "cause", 0.2, 0.0) > 0.5).astype(int)  # why: wrong more often
    sure, likely = calibrate.boundaries(p, y, kinds)
    assert set(sure[0.95]) == {"same", "across", "cause", ANY}
    assert sure[0.95]["cause"] > sure[0.95]["same"]
    assert sure[0.95][ANY] == max(sure[0.95][k] for k in ("same", "across", "cause"))
    assert all(likely[k] <= sure[0.95][k] for k in ("same", "across", "cause"))


def test_the_export_gives_the_same_probabilities_at_run_time(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    features = calibrate.FEATURES[:4]
    x = rng.normal(size=(200, len(features)))
    x[::7, 3] = np.nan  # an unknown signal: the mean
    y = (x[:, 0] + 0.3 * rng.normal(size=200) > 0).astype(int)
    model = calibrate.fit(x, y, features)
    cal = Calibration(model, {0.95: {ANY: 0.9}}, {ANY: 0.6}, {"model": "test"})
    path = tmp_path / "calibration.json"
    path.write_text(__import__("json").dumps(calibrator.to_json(cal)))
    back = calibrator.load(path)
    assert back is not None and back.sure == {0.95: {ANY: 0.9}} and back.likely == {ANY: 0.6}
    for row in x[:20]:
        signals = dict(zip(features, row.tolist(), strict=True))
        assert back.answer.probability(signals) == pytest.approx(
            model.probability(signals), abs=1e-12)
    right = [model.probability(dict(zip(features, r.tolist(), strict=True))) for r in x]
    auc = np.mean([a > b for a, yy in zip(right, y, strict=True) if yy
                   for b, zz in zip(right, y, strict=True) if not zz])
    assert auc > 0.9  # the fit learned the signal


def test_the_chart_draws_each_source_and_its_near_misses(tmp_path: Path) -> None:
    row = {"answerable": 70, "unanswerable": 20, "sure_right": 0, "sure_wrong": 0,
           "likely_right": 17, "likely_wrong": 2, "unsure": 49, "not_found": 2, "un_sure": 0,
           "un_likely": 1, "un_unsure": 18, "un_not_found": 1}
    path = tmp_path / "img" / "bands.png"
    calibrate.draw({0.95: {"fit-en:facqa": row, "news-en:news": {**row, "unanswerable": 0}}},
                   path)
    assert path.read_bytes().startswith(b"\x89PNG")
    assert set(calibrate.NEAR_MISS) <= set(calibrate.BAND_COLOURS) == set(calibrate.ANSWERABLE)
