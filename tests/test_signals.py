"""The signals of the answer decision, and the calibrated decision that reads them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bot.config import Settings
from bot.errors import TanyaBotError
from bot.pipeline import calibrator, signals
from bot.pipeline.evidence import Evidence, Sentence
from bot.pipeline.llm import _sse_pieces
from index.embedding import E5_MODEL
from index.embedding.bundled import BACKEND as BUNDLED_BACKEND
from index.records import Hit


def test_token_signals_read_facts_apart_and_skip_citation_markers() -> None:
    draft = "Musk gave 45 million dollars [1]."
    scores = [("Musk", -0.5), (" gave", -0.1), (" 45", -2.0), (" million", -0.2),
              (" dollars", -0.1), (" [", -9.0), ("1", -9.0), ("].", -9.0)]
    got = signals.token_signals(scores, draft)
    assert got["lp_min"] == -2.0  # the marker's -9 is not part of the answer
    assert got["lp_mean"] == pytest.approx((-0.5 - 0.1 - 2.0 - 0.2 - 0.1) / 5)
    assert got["lp_facts_min"] == -2.0 and got["lp_facts_mean"] == -2.0  # "45" only
    assert all(math.isnan(v) for v in signals.token_signals([], draft).values())


def test_the_drafts_own_facts_found_in_the_passages() -> None:
    ev = _ev("Rusia membeli 45 kapal dari Korea pada 2019.")
    got = signals.draft_signals("What did Russia buy?", "Russia bought 45 ships from Korea "
                                "in 2020 [1].", [ev])
    assert got["dr_numbers"] == 0.5  # 45 is there, 2020 is not
    assert got["dr_names"] == 1.0  # Russia respelled as Rusia, Korea as written
    assert math.isnan(signals.draft_signals("q", "They bought ships [1].", [ev])["dr_numbers"])


def test_the_rank_signals_read_search_ranks_that_start_at_one() -> None:
    got = signals.evidence_signals("What did Russia buy?", [_ev("Rusia membeli kapal.")])
    assert (got["ev_dense_top"], got["ev_bm25_top"]) == (1.0, 1.0)


def _ev(text: str, rank: int = 1) -> Evidence:
    hit = Hit(1, "a", "", text, 0, len(text), 1.0, None, None, None, rank, rank)
    best = Sentence(0, len(text), text, 1.0)
    return Evidence(1, hit, (best,), best, 0.9, 0.5)


def test_a_server_reports_token_log_probabilities() -> None:
    lines = ['data: {"choices": [{"delta": {"content": "Hi"}, "logprobs": {"content": '
             '[{"token": "Hi", "logprob": -0.5}]}}]}',
             'data: {"choices": [{"delta": {}, "finish_reason": "stop"}]}', "data: [DONE]"]
    scores: list[tuple[str, float]] = []
    assert list(_sse_pieces(iter(lines), scores)) == ["Hi"] and scores == [("Hi", -0.5)]


def _write(path: Path, coef: float) -> Path:
    model = {"features": ["lp_mean"], "mean": [-1.0], "scale": [1.0], "intercept": 0.0,
             "coef": [coef]}
    path.write_text(json.dumps({
        "answer": model, "sure": {"0.9": {"*": 0.8, "cause": 0.85}, "0.95": {"*": 0.9}},
        "likely": {"*": 0.5, "cause": 0.6}, "fitted_for": {"model": "x"}}))
    return path


def test_calibration_applies_the_fitted_model_and_bands(tmp_path: Path) -> None:
    cal = calibrator.load(_write(tmp_path / "c.json", 2.0))
    assert cal is not None
    p = cal.answer.probability({"lp_mean": -0.5})
    assert p == pytest.approx(1 / (1 + math.exp(-1.0)))  # (−0.5 − −1) / 1 × 2
    assert cal.answer.probability({}) == 0.5  # unknown signal: the mean
    assert cal.band(0.95, 0.95) == "sure" and cal.band(0.85, 0.95) == "likely"
    assert cal.band(0.85, 0.9) == "sure"  # a lower wanted accuracy, a lower boundary
    assert cal.band(0.85, 0.99) == "likely"  # above every level: the highest fitted
    assert cal.band(0.4, 0.95) == "unsure"


def test_each_kind_of_question_has_its_own_boundaries(tmp_path: Path) -> None:
    cal = calibrator.load(_write(tmp_path / "c.json", 2.0))
    assert cal is not None
    assert cal.band(0.82, 0.9, "cause") == "likely" and cal.band(0.82, 0.9, "same") == "sure"
    assert cal.band(0.55, 0.9, "cause") == "unsure" and cal.band(0.55, 0.9) == "likely"
    assert calibrator.kind({"q_cause": 1.0, "q_across": 1.0}) == "cause"
    assert calibrator.kind({"q_cause": 0.0, "q_across": 1.0}) == "across"
    assert calibrator.kind({"q_cause": 0.0, "q_across": 0.0}) == "same"


def test_the_shipped_calibration_is_fitted_for_the_default_model_and_embedder() -> None:
    cal = calibrator.load()
    assert cal is not None
    s = Settings(_env_file=None)
    assert cal.fits(s.model.name, f"{E5_MODEL}#{BUNDLED_BACKEND}")
    assert not cal.fits("qwen2.5-coder-0.5b", f"{E5_MODEL}#{BUNDLED_BACKEND}")
    assert cal.band(0.99, s.answer.sure_accuracy) in ("sure", "likely")  # some are shown
    assert cal.band(0.0, s.answer.sure_accuracy) == "unsure"


@pytest.mark.parametrize(("question", "cause"), [
    ("Why did Musk leave OpenAI?", 1.0), ("How did the fire start?", 1.0),
    ("Mengapa Musk keluar?", 1.0), ("How many GPUs did Twitter buy?", 0.0),
    ("Who founded OpenAI?", 0.0)])
def test_a_question_asking_for_a_cause_or_a_way(question: str, cause: float) -> None:
    assert signals.question_signals(question, [])["q_cause"] == cause


def test_a_broken_calibration_file_is_one_error_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"answer": {"features": ["x"]}}')
    with pytest.raises(TanyaBotError, match=r"bad\.json"):
        calibrator.load(bad)
    assert calibrator.load(tmp_path / "none.json") is None
