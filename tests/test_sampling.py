"""Drafts sampled on the cached prompt and their agreement with the draft (pipeline.sampling)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.pipeline import prompts, sampling
from bot.pipeline.answer import answer
from index.store import IndexStore
from tests.conftest import run_sync, write_md
from tests.fakes import HashingEmbedder, ScriptedGenerator, fake_answer_settings

DRAFT = "Musk left OpenAI in 2018 after a power struggle [1]. He wanted to run it himself [1]."


@pytest.fixture
def store(tmp_path: Path, index_dir: Path) -> IndexStore:
    write_md(tmp_path / "articles", "musk.md", "Musk and OpenAI",
             "Musk left OpenAI in 2018 after a power struggle. He wanted to run the company "
             "himself. Altman and the other founders refused.")
    run_sync(index_dir, [str(tmp_path / "articles")], HashingEmbedder())
    return IndexStore(index_dir)


@pytest.mark.parametrize(("text", "first"), [
    (DRAFT, "Musk left OpenAI in 2018 after a power struggle [1]."),
    ("It cost 1.5 million dollars. Then more.", "It cost 1.5 million dollars."),
    ("No sentence end here", "No sentence end here"),
])
def test_the_first_sentence_keeps_its_citation(text: str, first: str) -> None:
    assert sampling.first_sentence(text) == first


def test_samples_that_repeat_the_draft_agree_and_others_do_not() -> None:
    emb = HashingEmbedder()
    same = sampling.agreement(DRAFT, ["Musk left OpenAI in 2018 after a power struggle."] * 2,
                              emb, [False, False])
    other = sampling.agreement(DRAFT, ["Altman refused his 2015 plan.",
                                       "I could not find this in the articles."], emb,
                               [False, True])
    assert same["smp_sim"] == pytest.approx(1.0) and same["smp_facts"] == 1.0
    assert other["smp_sim"] < 0.5 and other["smp_facts"] == 0.0
    assert (same["smp_refused"], other["smp_refused"]) == (0.0, 0.5)
    assert all(math.isnan(v) for v in sampling.agreement(DRAFT, [], emb, []).values())


class _Counting(ScriptedGenerator):
    """Counts the pieces a sampled request actually streams."""

    def __init__(self, *replies: str) -> None:
        super().__init__(*replies)
        self.sampled_pieces = 0

    def stream(self, messages: list[dict[str, str]], max_tokens: int, *,
               scores: list[tuple[str, float]] | None = None, temperature: float = 0.0,
               seed: int | None = None) -> Iterator[str]:
        for piece in super().stream(messages, max_tokens, scores=scores,
                                    temperature=temperature, seed=seed):
            self.sampled_pieces += temperature > 0
            yield piece


def test_the_pipeline_samples_first_sentences_with_their_own_seeds(store: IndexStore) -> None:
    gen = _Counting(DRAFT)
    gen.samples = ["Altman refused his plan in 2015. And then a long second sentence follows.",
                   DRAFT]
    a = answer("Why did Musk leave OpenAI?", store=store, embedder=HashingEmbedder(),
               generator=gen, prompts=prompts.load(), settings=fake_answer_settings(samples=2))
    assert gen.sampled == [(sampling.TEMPERATURE, 1), (sampling.TEMPERATURE, 2)]
    assert gen.sampled_pieces == 6 + 10  # the two first sentences' words, nothing after
    assert 0.0 < a.signals["smp_sim"] < 1.0 and a.signals["smp_facts"] == 0.5
    assert "samples_s" in a.timings


def test_no_samples_when_off_or_when_the_draft_refuses(store: IndexStore) -> None:
    for reply, n in ((DRAFT, 0), ("I could not find this in the articles.", 2)):
        gen = ScriptedGenerator(reply)
        a = answer("Why did Musk leave OpenAI?", store=store, embedder=HashingEmbedder(),
                   generator=gen, prompts=prompts.load(),
                   settings=fake_answer_settings(samples=n))
        assert gen.sampled == [] and math.isnan(a.signals["smp_sim"])
