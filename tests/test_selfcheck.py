"""The model's check of its own draft (pipeline.selfcheck), and the checked renderings of a
quoted sentence (pipeline.rendering)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.pipeline import prompts, rendering, selfcheck
from bot.pipeline.answer import answer
from bot.pipeline.decision import REFUSAL
from index.embedding import Vectors
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


def test_a_quote_in_another_language_gets_a_checked_rendering() -> None:
    quote = "Perebutan kendali tersebut berujung pada keluarnya Musk dari OpenAI pada 2018."
    gen = ScriptedGenerator("The power struggle led to Musk [2] leaving <|im_start|>OpenAI "
                            "in 2018.")
    emb = _Same()
    r = rendering.render("Why did Musk leave OpenAI?", 1, quote, gen, prompts.load(), emb)
    assert r.reason == "checked" and r.text.endswith("leaving OpenAI in 2018.")
    assert "(2)" in r.text and "<|im_start|>" not in r.text  # no fake marker, no control token
    assert "English" in gen.prompts[0][-1]["content"]  # asked to translate into English


@pytest.mark.parametrize(("rendered", "reason"), [
    ("The power struggle led to Musk leaving OpenAI.", "number 2018 missing"),
    ("The power struggle led to his leaving OpenAI in 2018.", "name musk missing"),
])
def test_a_rendering_that_loses_a_number_or_a_name_is_not_shown(rendered: str,
                                                                 reason: str) -> None:
    quote = "Perebutan kendali tersebut berujung pada keluarnya Musk dari OpenAI pada 2018."
    r = rendering.render("Why did Musk leave OpenAI?", 1, quote, ScriptedGenerator(rendered),
                         prompts.load(), _Same())
    assert (r.text, r.reason) == ("", reason)


def test_a_rendering_that_means_something_else_is_not_shown() -> None:
    quote = "Musk keluar dari OpenAI pada 2018."
    why = rendering.lost(quote, "Musk joined OpenAI in 2018.", HashingEmbedder(), floor=0.99)
    assert why is not None and why.startswith("similarity")


def test_a_quote_in_the_question_s_language_needs_no_rendering() -> None:
    assert not rendering.needed("Why did Musk leave OpenAI?", "Musk left OpenAI in 2018 after "
                                "a power struggle with the other founders.")
    assert rendering.needed("Why did Musk leave OpenAI?", "Perebutan kendali tersebut "
                            "berujung pada keluarnya Musk dari OpenAI.")


class _Same(HashingEmbedder):
    """Every text the same vector: only the numbers and names decide."""

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        same: Vectors = np.full((len(texts), self.dim), 1 / np.sqrt(self.dim), dtype=np.float32)
        return same
