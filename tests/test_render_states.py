"""How the Telegram answer shows a calibrated refusal: the evidence it speaks of stays on top."""

from __future__ import annotations

from bot.pipeline.answer import Answer
from bot.pipeline.decision import REFUSAL, UNSURE
from bot.pipeline.evidence import Evidence, Sentence
from bot.telegram import render as tr
from index.records import Hit

SENTENCE = "Perebutan kendali tersebut berujung pada keluarnya Musk dari OpenAI."


def _evidence() -> Evidence:
    hit = Hit(1, "musk", "Musk dan OpenAI", SENTENCE, 0, len(SENTENCE), 1.0,
              "https://kabar.test/musk", "2023-04-12", "Kabar", 1, 1)
    best = Sentence(0, len(SENTENCE), SENTENCE, 1.0)
    return Evidence(1, hit, (best,), best, 0.9, 0.7)


def test_an_unsure_refusal_keeps_the_evidence_above_it() -> None:
    unsure = Answer("Why did Musk leave OpenAI?", "Why did Musk leave OpenAI?", UNSURE,
                    "refused", (), (_evidence(),), (), "a draft", "m", {})
    blocks = tr.answer_blocks(unsure)
    assert SENTENCE in blocks[0] and "kabar.test/musk" in blocks[0]
    assert blocks[1] == tr.esc(UNSURE)


def test_nothing_found_is_the_plain_refusal() -> None:
    none = Answer("q", "q", REFUSAL, "not_found", (), (), (), "", "m", {})
    assert tr.answer_blocks(none) == [REFUSAL]
