"""The quote picker's benchmark: its report, folds by passage, and the export of the quote
model into a calibration file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import selection
from benchmarks.selection import Picked
from bot.pipeline import calibrator


def _picked(answerable: bool, right: tuple[bool, ...], pick: int | None, p: float,
            passage: str = "s/1", kind: str = "across") -> Picked:
    return Picked("en", kind, passage, answerable, right, 0, pick, p, 1.0)


PICKED = [
    _picked(True, (True, False), 0, 0.9, "s/1"),     # right, sure
    _picked(True, (False, True), 0, 0.8, "s/2"),     # wrong pick, sure
    _picked(True, (True, False), 0, 0.4, "s/3"),     # right, unsure
    _picked(False, (False, False), None, 0.0, "s/4"),  # none picked: never shown
]


def test_the_report_counts_right_wrong_and_unanswerable_shown_at_each_accuracy() -> None:
    out = selection.report(PICKED)
    assert out["pick right"] == pytest.approx(2 / 3)
    assert out["0.9 same right"] == pytest.approx(1 / 3)  # only the surest is shown
    assert out["0.9 same wrong"] == 0.0
    assert out["0.7 same wrong"] == 0.0  # two of three shown would be 0.67 < 0.7
    assert out["0.9 same unans"] == 0.0
    assert out["AUC"] == 0.75  # 3 of the 4 right-wrong pairs in order


def test_folds_keep_each_passage_whole() -> None:
    picked = [_picked(True, (True,), 0, 0.5, f"s/{i % 7}") for i in range(40)]
    fold = selection.folds(picked)
    for name in {p.passage for p in picked}:
        assert len({f for f, p in zip(fold, picked, strict=True) if p.passage == name}) == 1
    assert len(set(fold)) == selection.FOLDS


def test_the_export_replaces_the_quote_model_and_keeps_the_answer_model(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    base, path = tmp_path / "calibration.json", tmp_path / "pick.json"
    answer = {"features": ["lp_mean"], "mean": [0.0], "scale": [1.0], "coef": [1.0],
              "intercept": 0.0}
    base.write_text(json.dumps({"answer": answer, "quote": answer,
                                "thresholds": {"0.9": {"across": [0.5, 0.5], "same": [0.6, 0.6],
                                                       "*": [0.6, 0.6]}},
                                "fitted_for": {"model": "m"}}))
    rng = np.random.default_rng(1)
    picked = [_picked(True, (bool(y),), 0, float(p), f"s/{i}")
              for i, (p, y) in enumerate((p, rng.random() < p) for p in rng.random(200))]
    selection.export(picked, path, base)
    cal = calibrator.load(path)
    assert cal is not None and cal.answer.features == ("lp_mean",)
    assert cal.quote.features == ("pick_p",) and cal.quote.coef[0] > 0
    t_across, t_same = cal.at(0.9, "across"), cal.at(0.9, "same")
    assert t_across[0] == 0.5 and t_same[0] == 0.6  # answer thresholds kept
    assert 0.5 < t_across[1] < 1.0 and t_same[1] == t_across[1]  # "same" unfitted: strictest
    assert cal.quote.probability({"pick_p": 0.95}) > cal.quote.probability({"pick_p": 0.2})
