"""The calibration script's measures, and its export read back by the run-time calibrator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import calibrate
from bot.pipeline import calibrator


def test_risk_coverage_and_thresholds() -> None:
    p = np.array([0.9, 0.8, 0.7, 0.6])
    y = np.array([1, 1, 0, 1])
    coverage, risk, area = calibrate.risk_coverage(p, y)
    assert coverage.tolist() == [0.25, 0.5, 0.75, 1.0]
    assert risk.tolist() == pytest.approx([0.0, 0.0, 1 / 3, 0.25])
    assert area == pytest.approx((1 / 3 + 0.25) / 4)
    assert calibrate.threshold(p, y, 0.75) == 0.6  # all four: 3 of 4 right
    assert calibrate.threshold(p, y, 0.9) == 0.8
    assert calibrate.threshold(p, np.zeros(4, dtype=int), 0.9) == 1.0  # never shown


def test_each_kind_of_question_gets_its_threshold_and_the_rest_the_strictest() -> None:
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.9, 0.8, 0.7, 0.6])
    y = np.array([1, 1, 1, 1, 1, 0, 1, 1])
    kinds = np.array(["same"] * 4 + ["cause"] * 4)
    assert calibrate.per_kind(p, y, kinds, 0.9) == {"same": 0.6, "cause": 0.9, "*": 0.9}


def test_the_export_gives_the_same_probabilities_at_run_time(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, len(calibrate.FEATURES)))
    x[::7, 3] = np.nan  # an unknown signal
    ya = (x[:, 0] + 0.3 * rng.normal(size=200) > 0).astype(int)
    yq = (x[:, 4] > 0).astype(int)
    path = tmp_path / "calibration.json"
    xq = calibrate.evidence_only(x)
    calibrate.export(x, xq, ya, yq, {0.9: {"*": (0.8, 0.7)}}, {"model": "test"}, path)
    cal = calibrator.load(path)
    assert cal is not None and cal.thresholds == {0.9: {"*": (0.8, 0.7)}}
    fitted = calibrate._logistic().fit(x, ya)
    for row in x[:20]:
        signals = dict(zip(calibrate.FEATURES, row.tolist(), strict=True))
        assert cal.answer.probability(signals) == pytest.approx(
            fitted.predict_proba(row[None, :])[0, 1], abs=1e-9)
    quoting = calibrate._logistic().fit(xq, yq)
    for row in x[:20]:  # the quote model ignores every signal but the evidence's
        signals = dict(zip(calibrate.FEATURES, row.tolist(), strict=True))
        assert cal.quote.probability(signals) == pytest.approx(
            quoting.predict_proba(calibrate.evidence_only(row[None, :]))[0, 1], abs=1e-9)
