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
from tests.fakes import HashingEmbedder


def test_token_signals_read_facts_apart_and_skip_citation_markers() -> None:
    draft = "Musk gave 45 million dollars [1]."
    scores = [("Musk", -0.5), (" gave", -0.1), (" 45", -2.0), (" million", -0.2),
              (" dollars", -0.1), (" [", -9.0), ("1", -9.0), ("].", -9.0)]
    got = signals.token_signals(scores, draft)
    assert got["lp_min"] == -2.0  # the marker's -9 is not part of the answer
    assert got["lp_mean"] == pytest.approx((-0.5 - 0.1 - 2.0 - 0.2 - 0.1) / 5)
    assert got["lp_facts_min"] == -2.0 and got["lp_facts_mean"] == -2.0  # "45" only
    assert all(math.isnan(v) for v in signals.token_signals([], draft).values())


def test_agreement_between_the_two_drafts() -> None:
    emb = HashingEmbedder()
    same = signals.agreement("Paid 45 dollars [1].", "Paid 45 dollars [1].", emb)
    other = signals.agreement("Paid 45 dollars [1].", "Gave 12 houses [2].", emb)
    assert same["xl_sim"] == pytest.approx(1.0) and same["xl_numbers"] == 1.0
    assert other["xl_sim"] < 0.5 and other["xl_numbers"] == 0.0
    assert math.isnan(signals.agreement("Paid 45 [1].", None, emb)["xl_sim"])


def test_a_server_reports_token_log_probabilities() -> None:
    lines = ['data: {"choices": [{"delta": {"content": "Hi"}, "logprobs": {"content": '
             '[{"token": "Hi", "logprob": -0.5}]}}]}',
             'data: {"choices": [{"delta": {}, "finish_reason": "stop"}]}', "data: [DONE]"]
    scores: list[tuple[str, float]] = []
    assert list(_sse_pieces(iter(lines), scores)) == ["Hi"] and scores == [("Hi", -0.5)]


def _write(path: Path, answer_coef: float) -> Path:
    model = {"features": ["lp_mean"], "mean": [-1.0], "scale": [1.0], "intercept": 0.0}
    path.write_text(json.dumps({
        "answer": {**model, "coef": [answer_coef]}, "quote": {**model, "coef": [0.5]},
        "thresholds": {"0.8": [0.7, 0.6], "0.9": [0.8, 0.7]}, "fitted_for": {"model": "x"}}))
    return path


def test_calibration_applies_the_fitted_model_and_thresholds(tmp_path: Path) -> None:
    cal = calibrator.load(_write(tmp_path / "c.json", 2.0))
    assert cal is not None
    sure = cal.answer.probability({"lp_mean": 0.0})
    assert sure == pytest.approx(1 / (1 + math.exp(-2.0)))
    assert cal.answer.probability({}) == 0.5  # an unknown signal counts as average
    assert cal.decide(0.85, 0.0, 0.9, can_answer=True) == "answer"
    assert cal.decide(0.85, 0.0, 0.9, can_answer=False) == "refuse"
    assert cal.decide(0.75, 0.75, 0.9, can_answer=True) == "quote"
    assert cal.decide(0.75, 0.5, 0.8, can_answer=True) == "answer"  # a lower bar shows more
    assert calibrator.load(tmp_path / "missing.json") is None


def test_the_shipped_calibration_is_fitted_for_the_default_model_and_embedder() -> None:
    cal = calibrator.load()
    assert cal is not None
    defaults = Settings(_env_file=None)
    assert cal.fits(defaults.model, f"{E5_MODEL}#{BUNDLED_BACKEND}")
    assert not cal.fits("qwen2.5-coder-0.5b", f"{E5_MODEL}#{BUNDLED_BACKEND}")


def test_the_quoted_sentence_is_measured() -> None:
    text = "Musk left OpenAI in 2018 after a power struggle. Altman refused his plan."
    first = Sentence(0, 48, text[:48], 0.91)
    second = Sentence(49, len(text), text[49:], 0.62)
    hit = Hit(1, "musk", "Musk", text, 0, len(text), 1.0, None, None, None, 1, 1)
    ev = Evidence(1, hit, (first, second), first, 0.91, 0.5)
    best = signals.quote_signals("When did Musk leave OpenAI?", [ev], ev, first)
    assert best == {"qt_sim": 0.91, "qt_cov": pytest.approx(2 / 3), "qt_kind": 1.0,
                    "qt_best": 1.0, "qt_words": 9.0}
    other = signals.quote_signals("Why did Musk leave OpenAI?", [ev], ev, second)
    assert other["qt_best"] == 0.0 and other["qt_cov"] == 0.0 and math.isnan(other["qt_kind"])


def test_each_kind_of_question_has_its_own_thresholds(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    model = {"features": ["lp_mean"], "mean": [0.0], "scale": [1.0], "coef": [1.0],
             "intercept": 0.0}
    path.write_text(json.dumps({"answer": model, "quote": model, "fitted_for": {},
                                "thresholds": {"0.9": {"*": [0.9, 0.9], "cause": [0.6, 0.9]}}}))
    cal = calibrator.load(path)
    assert cal is not None
    why = calibrator.kind({"q_cause": 1.0, "q_across": 1.0})
    assert why == "cause" and calibrator.kind({"q_across": 1.0}) == "across"
    assert calibrator.kind({"q_across": 0.0}) == "same"
    assert cal.decide(0.7, 0.0, 0.9, can_answer=True, kind=why) == "answer"
    assert cal.decide(0.7, 0.0, 0.9, can_answer=True, kind="across") == "refuse"  # strictest


@pytest.mark.parametrize(("question", "cause"), [
    ("Why did Musk leave OpenAI?", 1.0), ("How did the plane land?", 1.0),
    ("How many passengers were on board?", 0.0), ("Mengapa Musk keluar?", 1.0),
    ("Who bought the GPUs?", 0.0)])
def test_a_question_asking_for_a_cause_or_a_way(question: str, cause: float) -> None:
    assert signals.question_signals(question, [])["q_cause"] == cause


def test_a_broken_calibration_file_is_one_error_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"answer": {}}')
    with pytest.raises(TanyaBotError, match=r"bad\.json"):
        calibrator.load(bad)
