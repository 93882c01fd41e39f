"""The sentence-picking benchmark's bookkeeping: reversed asks mapped back, and its report."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import selection
from benchmarks.selection import Picked


def test_a_reversed_ask_is_put_back_in_the_sentences_order() -> None:
    # Asked in reverse, the first letter was the last sentence; "none" stays last.
    back = np.array([0.6, 0.3, 0.05, 0.05])
    assert selection.in_order(back).tolist() == [0.05, 0.3, 0.6, 0.05]


def test_the_lettered_question_offers_none_after_the_sentences() -> None:
    text = selection.lettered("Who won?", [(1, "Ani won."), (2, "Budi lost.")])
    assert "A. [1] Ani won.\nB. [2] Budi lost.\nC. None of these" in text


def _picked(answerable: bool, right: tuple[bool, ...], p: tuple[float, ...]) -> Picked:
    return Picked("en", answerable, ("s",) * len(right), right, 0, p, (p,), 1.0)


def test_the_report_counts_right_wrong_and_unanswerable_shown_at_each_precision() -> None:
    picked = [
        _picked(True, (True, False), (0.9, 0.05, 0.05)),    # right, sure
        _picked(True, (False, True), (0.8, 0.1, 0.1)),      # wrong pick, sure
        _picked(True, (True, False), (0.4, 0.3, 0.3)),      # right, unsure
        _picked(False, (False, False), (0.2, 0.1, 0.7)),    # none picked: never shown
    ]
    out = selection.report(picked)
    assert out["pick right"] == pytest.approx(2 / 3)
    assert out["0.9 right quote"] == pytest.approx(1 / 3)  # only the surest is shown
    assert out["0.9 wrong quote"] == 0.0
    assert out["0.7 wrong quote"] == 0.0  # two of three shown would be 0.67 < 0.7
    assert out["0.9 unanswerable shown"] == 0.0
    assert out["AUC"] == 0.75  # 3 of the 4 right-wrong pairs in order
