"""What README's Security section promises and no other test holds: markup in articles stays
text, one user's flood cannot make another wait, secrets stay out of output, and uploads that
are too big or of an unknown type are refused before anything is written."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.pipeline.llm import Messages
from tests.conftest import run_sync
from tests.fake_telegram import FakeTelegram
from tests.fakes import HashingEmbedder
from tests.test_telegram import (
    MUSK_A,
    MUSK_Q,
    OTHER,
    TOKEN,
    USER,
    FakeModel,
    Harness,
    finals,
    make_settings,
    write_corpus,
)

API_KEY = "sk-tanya-test-0123456789abcdef"
HOOK_SECRET = "hook_secret-0123456789"


@pytest.fixture
def h(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[Harness]:
    """The Telegram harness of test_telegram: fake Bot API, indexed corpus, scripted model."""
    folder = tmp_path / "articles"
    write_corpus(folder)
    with FakeTelegram(token=TOKEN) as tg:
        settings = make_settings(tmp_path, tg)
        run_sync(settings.index_dir, [str(folder)], HashingEmbedder())
        harness = Harness(tg, FakeModel(), settings, folder, caplog)
        yield harness
        if harness.tanya is not None:
            harness.tanya.engine.close()


# ---- one user's flood ------------------------------------------------------------------------

class GatedModel(FakeModel):
    """FakeModel whose first answer waits until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__(delay_s=0.001)
        self.started, self.gate = threading.Event(), threading.Event()

    def stream(self, messages: Messages, max_tokens: int) -> Iterator[str]:
        """Hold the first answer at the gate; the rest run freely."""
        if "Last question:" not in messages[0]["content"] and not self.started.is_set():
            self.started.set()
            assert self.gate.wait(30), "the gate was never opened"
        yield from super().stream(messages, max_tokens)


def test_a_flooding_user_makes_another_wait_for_one_answer_at_most(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_corpus(tmp_path / "articles")
    with FakeTelegram(token=TOKEN) as tg:
        settings = make_settings(tmp_path, tg, telegram_rate_per_minute=1000,
                                 telegram_queue_size=50)
        run_sync(settings.index_dir, [str(tmp_path / "articles")], HashingEmbedder())
        model = GatedModel()
        h = Harness(tg, model, settings, tmp_path / "articles", caplog)
        flood = [f"{MUSK_Q} ({n})" for n in range(200)]

        async def scenario() -> None:
            for question in flood:
                tg.user_message(USER, question)
            await h.wait(lambda t: model.started.is_set() and len(t.sent(USER)) == 199,
                         timeout=60)
            tg.user_message(OTHER, MUSK_Q)
            await h.wait(lambda t: bool(t.sent(OTHER)))
            model.gate.set()
            await h.wait(lambda t: len(finals(t, OTHER)) == 1 and len(finals(t, USER)) == 51,
                         timeout=90)

        try:
            h.run(scenario)
        finally:
            model.gate.set()
            h.bot().engine.close()
    notices = [m["plain"] for m in tg.sent(USER)[:199]]
    assert notices.count("I am busy with many questions; please ask again in a few "
                         "minutes.") == 149, "one running, 50 waiting, the rest refused"
    assert tg.sent(OTHER)[0]["plain"] == ("You are number 2 in the queue; I answer one question "
                                          "at a time."), "a full queue still lets another in"
    asked = model.questions()
    assert asked[:2] == [flood[0], MUSK_Q], "the other user waited for one answer only"
    # (updates are handled concurrently, so which 50 got in is up to the scheduler)
    assert len(set(asked[2:]) & set(flood[1:])) == len(asked[2:]) == 50
    assert MUSK_A in finals(tg, OTHER)[0]["plain"]
