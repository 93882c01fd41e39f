"""The model as the quote's picker (pipeline.picker): what it is shown, how its reply is read,
and when the answer pipeline asks it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bot.pipeline import calibrator, picker, prompts
from bot.pipeline.answer import answer, retrieve
from bot.pipeline.calibrator import Calibration, Logistic
from bot.pipeline.decision import FALLBACK_LEAD, UNSURE
from bot.pipeline.evidence import Evidence, Sentence
from index.records import Hit
from index.store import IndexStore
from tests.conftest import run_sync, write_md
from tests.fakes import HashingEmbedder, ScriptedGenerator, fake_answer_settings


def _evidence(n: int, scored: list[tuple[str, float]]) -> Evidence:
    sents, at = [], 0
    for text, score in scored:
        sents.append(Sentence(at, at + len(text), text, score))
        at += len(text) + 1
    hit = Hit(n, f"a{n}", f"T{n}", " ".join(t for t, _ in scored), 0, at, 1.0, None, None, None,
              None, None)
    return Evidence(n, hit, tuple(sents), max(sents, key=lambda s: s.score), 0.9, 0.5)


EVIDENCE = [_evidence(1, [("One.", 0.2), ("Two.", 0.9), ("Three.", 0.5)]),
            _evidence(2, [("Four.", 0.7)])]


def test_the_best_two_sentences_of_each_passage_are_listed_in_their_order() -> None:
    listed = picker.candidates(EVIDENCE)
    assert [(e.n, s.text) for e, s in listed] == [(1, "Two."), (1, "Three."), (2, "Four.")]


def test_the_question_letters_the_sentences_and_offers_none_last() -> None:
    msgs = picker.messages("Who won?", picker.candidates(EVIDENCE), "the rules", prompts.load())
    assert msgs[0] == {"role": "system", "content": "the rules"}
    assert "A. [1] Two.\nB. [1] Three.\nC. [2] Four.\nD. None of these" in msgs[1]["content"]
    assert "Question: Who won?" in msgs[1]["content"]


@pytest.mark.parametrize(("reply", "text", "p"), [
    ("B", "Three.", math.exp(-0.3)), ("C.", "Four.", math.exp(-0.3)),
    ("D", None, 0.0),  # none of them: never quoted
    ("Z", None, math.nan), ("", None, math.nan)])  # no letter of the list: unknown
def test_the_reply_is_read_as_a_sentence_and_its_probability(reply: str, text: str | None,
                                                            p: float) -> None:
    gen = ScriptedGenerator(pick=reply, logprob=-0.3)
    chosen = picker.ask("Who won?", EVIDENCE, "the rules", gen, prompts.load())
    assert (chosen.choice[1].text if chosen.choice else None) == text
    got = chosen.signals()["pick_p"]
    assert math.isnan(got) if math.isnan(p) else got == pytest.approx(p)


@pytest.fixture
def store(tmp_path: Path, index_dir: Path) -> IndexStore:
    write_md(tmp_path / "articles", "musk.md", "Musk and OpenAI",
             "Musk left OpenAI in 2018 after a power struggle. He wanted to run the company "
             "himself. Altman and the other founders refused. OpenAI said he would keep "
             "funding it.")
    run_sync(index_dir, [str(tmp_path / "articles")], HashingEmbedder())
    return IndexStore(index_dir)


def _reading_the_pick(answer_bias: float) -> Calibration:
    answer_model = Logistic(("lp_mean",), np.zeros(1), np.ones(1), np.ones(1), answer_bias)
    quote_model = Logistic(("pick_p",), np.zeros(1), np.ones(1), np.array([20.0]), -10.0)
    return Calibration(answer_model, quote_model, {0.9: {"*": (0.8, 0.8)}}, {})


def test_the_picker_is_asked_only_when_the_draft_is_not_shown(store: IndexStore) -> None:
    draft = "Musk left OpenAI after a power struggle [1]."
    sure = ScriptedGenerator(draft, pick="A", logprob=0.0)
    a = answer("Why did Musk leave OpenAI?", store=store, embedder=HashingEmbedder(),
               generator=sure, prompts=prompts.load(),
               settings=fake_answer_settings(calibration=_reading_the_pick(5.0)))
    assert a.status == "answered" and sure.pick_prompts == [] and "pick_p" not in a.signals
    unsure = ScriptedGenerator(draft, pick="B", logprob=-0.05)
    b = answer("Why did Musk leave OpenAI?", store=store, embedder=HashingEmbedder(),
               generator=unsure, prompts=prompts.load(),
               settings=fake_answer_settings(calibration=_reading_the_pick(-5.0)))
    listed = picker.candidates(b.evidence)
    assert len(unsure.pick_prompts) == 1 and "pick_s" in b.timings
    assert b.status == "fallback" and b.text.startswith(FALLBACK_LEAD)
    assert b.citations[0].quote == listed[1][1].text  # the sentence lettered B
    assert b.confidence == pytest.approx(b.signals["p_quote"])


@pytest.mark.parametrize("none", [True, False])  # "none of them", or no letter at all
def test_no_pick_means_the_unsure_refusal(store: IndexStore, none: bool) -> None:
    settings = fake_answer_settings(calibration=_reading_the_pick(-5.0))
    _, evidence = retrieve(store, HashingEmbedder(), "Why did Musk leave OpenAI?", settings)
    reply = picker.LETTERS[len(picker.candidates(evidence))] if none else "?"
    gen = ScriptedGenerator("Musk left OpenAI after a power struggle [1].", pick=reply,
                            logprob=0.0)
    a = answer("Why did Musk leave OpenAI?", store=store, embedder=HashingEmbedder(),
               generator=gen, prompts=prompts.load(), settings=settings)
    assert (a.text, a.status, a.signals["pick_p"] == 0.0) == (UNSURE, "refused", none)


def test_the_optional_calibration_reads_the_pick_beside_the_shipped_answer_model() -> None:
    shipped = calibrator.load()
    with_pick = calibrator.load(calibrator.DEFAULT.with_name("calibration_pick.json"))
    assert shipped is not None and with_pick is not None
    assert with_pick.answer.features == shipped.answer.features
    assert np.array_equal(with_pick.answer.coef, shipped.answer.coef)
    assert with_pick.quote.reads(picker.Pick.PREFIX) and not shipped.quote.reads("pick_")
    assert with_pick.fitted_for["model"] == shipped.fitted_for["model"]
    for level in with_pick.thresholds:  # the answer thresholds are the shipped ones
        for kind, (t_answer, _) in with_pick.thresholds[level].items():
            assert t_answer == shipped.thresholds[level][kind][0]
