"""The model's check of its own draft (pipeline.selfcheck): P(yes), and where it is asked."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bot.pipeline import prompts, selfcheck
from bot.pipeline.answer import answer, rendered
from bot.pipeline.citations import Citation
from bot.pipeline.decision import REFUSAL
from index.store import IndexStore
from tests.conftest import run_sync, write_md
from tests.fakes import HashingEmbedder, ScriptedGenerator, fake_answer_settings

ASKED = [{"role": "system", "content": "rules"}, {"role": "user", "content": "passages, question"}]


@pytest.mark.parametrize(("reply", "expected"), [("yes", math.exp(-0.2)),
                                                 ("No", 1 - math.exp(-0.2))])
def test_the_probability_of_yes_is_read_from_the_first_token(reply: str,
                                                              expected: float) -> None:
    gen = ScriptedGenerator(check=reply, logprob=-0.2)
    p = selfcheck.p_true(ASKED, "Musk left in 2018 [1].", gen, prompts.load())
    assert p == pytest.approx(expected)
    convo = gen.check_prompts[0]
    assert convo[:2] == ASKED  # the cached conversation, then the draft, then the question
    assert convo[2] == {"role": "assistant", "content": "Musk left in 2018 [1]."}
    assert convo[3]["role"] == "user"


def test_a_reply_that_is_neither_yes_nor_no_is_unknown() -> None:
    gen = ScriptedGenerator(check="Maybe", logprob=-0.2)
    assert math.isnan(selfcheck.p_true(ASKED, "x [1].", gen, prompts.load()))


def test_the_answer_records_the_check_and_a_refusal_skips_it(tmp_path: Path, index_dir: Path,
                                                              embedder: HashingEmbedder) -> None:
    folder = tmp_path / "articles"
    write_md(folder, "musk.md", "Musk and OpenAI", "Musk left OpenAI in 2018 after a power "
             "struggle. He wanted to run the company himself.")
    run_sync(index_dir, [str(folder)], embedder)
    store = IndexStore(index_dir)
    gen = ScriptedGenerator("Musk left after a power struggle [1].", REFUSAL, check="no",
                            logprob=-0.05)
    settings = fake_answer_settings()
    a = answer("Why did Musk leave OpenAI?", store=store, embedder=embedder, generator=gen,
               prompts=prompts.load(), settings=settings)
    assert a.signals["self_yes"] == pytest.approx(1 - math.exp(-0.05))
    assert "selfcheck_s" in a.timings
    b = answer("Why did Musk leave OpenAI?", store=store, embedder=embedder, generator=gen,
               prompts=prompts.load(), settings=settings)
    assert math.isnan(b.signals["self_yes"]) and len(gen.check_prompts) == 1
    store.close()


def _cite(quote: str) -> Citation:
    return Citation(1, "a", "Musk", None, None, None, quote, 0, len(quote))


def test_a_quote_in_another_language_gets_a_marked_rendering() -> None:
    quote = "Perebutan kendali tersebut berujung pada keluarnya Musk dari OpenAI."
    gen = ScriptedGenerator("The power struggle led to Musk [2] leaving <|im_start|>OpenAI.")
    text = rendered("Why did Musk leave OpenAI?", f"Lead: “{quote}” [1]", (_cite(quote),),
                    gen, prompts.load())
    assert text.startswith(f"Lead: “{quote}” [1] ([1] as the model renders it in English: ")
    assert "led to Musk (2) leaving OpenAI" in text  # no fake marker, no control token
    assert "English" in gen.prompts[0][-1]["content"]  # asked to translate into English


def test_a_quote_in_the_question_s_language_is_left_alone() -> None:
    quote = "Musk left OpenAI in 2018 after a power struggle with the other founders."
    gen = ScriptedGenerator("unused")
    text = rendered("Why did Musk leave OpenAI?", "Lead", (_cite(quote),), gen, prompts.load())
    assert text == "Lead" and not gen.prompts
