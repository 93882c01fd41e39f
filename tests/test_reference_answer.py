"""The reference question with the real default model and embedder, in the terminal and in
Telegram: "Why did Musk leave OpenAI?" over the sample articles is cited in both; that it is
answered (sure or likely) with what the article says is the acceptance of issue #32, still
open: marked xfail, strict, so the suite fails once it passes and the mark must go."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bot import runtime
from bot.engine import Engine
from bot.telegram.app import TanyaBot
from index.sync import sync
from tests.bot_harness import serve
from tests.conftest import REPO, flat_settings
from tests.fake_telegram import FakeTelegram
from tests.test_telegram import TOKEN, USER, finals

pytestmark = pytest.mark.slow
QUESTION = "Why did Musk leave OpenAI?"
# What the sample article says: he proposed to lead OpenAI himself and the others refused;
# the struggle for control ended with his exit.
SAYS = ("lead openai", "run openai", "lead the company", "run the company", "rejected",
        "refused", "turned down", "power struggle", "struggle for control", "control")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The default model and embedder over the sample articles, loaded once."""
    settings = flat_settings(home=tmp_path_factory.mktemp("home"), telegram_allowed=[USER],
                        telegram_stream_interval_s=0.2, _env_file=None)
    sync(settings.index_dir, [str(REPO / "articles")], runtime.embedder(settings),
         settings.chunking(), settings.source_limits())
    engine = Engine.open(settings)
    yield engine
    engine.close()


@pytest.mark.xfail(strict=True, reason="#32, blocked on the model: the 1.5B model's draft is "
                   "not right enough to be shown (unsure); see benchmarks/README.md")
def test_the_reference_question_is_answered_with_what_the_article_says(engine: Engine) -> None:
    a = engine.ask(QUESTION, [])
    assert a.certainty in ("sure", "likely"), (a.certainty, a.draft, a.confidence)
    assert any(p in a.stated.lower() for p in SAYS), a.stated
    assert a.citations and a.citations[0].article_id == "musk-openai-gpu-id"


def test_the_telegram_answer_carries_its_citation(engine: Engine) -> None:
    with FakeTelegram(token=TOKEN) as tg:
        telegram = engine.settings.telegram.model_copy(update={"api_url": f"{tg.url}/bot"})
        settings = engine.settings.model_copy(update={"telegram": telegram})
        bot = TanyaBot(engine, settings)

        async def scenario() -> None:
            tg.user_message(USER, QUESTION, chat_type="private")
            await asyncio.to_thread(tg.wait_for, lambda t: bool(finals(t, USER)), 300)

        asyncio.run(serve(bot, tg.token, scenario))
        final = finals(tg, USER)[0]["plain"]
    assert "[1]" in final and "Sources\n[1] " in final, final
    assert "Musk" in final and "OpenAI" in final, final
