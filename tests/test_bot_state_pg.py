"""The bot's state in PostgreSQL (TANYA_DATABASE_URL) against the real test server: two bot
processes on one database share conversations, buttons and each user's question order, and a
database that is down stops the start with one line.

The two "processes" are two TanyaBot applications with their own TANYA_HOME, model,
fake Telegram server (the load balancer's two halves) and database connection, run on one
event loop; they share nothing but the database.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from bot import runtime
from bot.cli.app import app as cli
from bot.config import Settings
from bot.pipeline.llm import Generator
from bot.telegram.main import prepare
from bot.telegram.pgstate import PgState
from index.errors import DatabaseError
from tests.bot_harness import serve
from tests.conftest import run_sync
from tests.fake_telegram import FakeTelegram
from tests.fakes import HashingEmbedder
from tests.pg import TestServer
from tests.test_telegram import (
    MUSK_A,
    MUSK_Q,
    TOKEN,
    USER,
    FakeModel,
    Harness,
    finals,
    make_settings,
    problems,
    write_corpus,
)

DOWN = "postgresql://tanya:s3cret@127.0.0.1:1/news"
DOWN_MASKED = "postgresql://tanya:***@127.0.0.1:1/news"
REFUSED = "Altman and the other founders refused [1]."


@pytest.fixture
def pair(tmp_path: Path, pg_url: str, caplog: pytest.LogCaptureFixture
         ) -> Iterator[tuple[Harness, Harness]]:
    """Two bots, each with its own TANYA_HOME, model and Telegram, on one database (the index
    and the bot's state)."""
    folder = tmp_path / "articles"
    write_corpus(folder)
    with FakeTelegram(token=TOKEN) as tg_a, FakeTelegram(token=TOKEN) as tg_b:
        both: list[Harness] = []
        for name, tg in (("a", tg_a), ("b", tg_b)):
            settings = make_settings(tmp_path / name, tg, database_url=pg_url)
            if not both:  # one archive in the database, synced once, read by both
                run_sync(settings.index_location, [str(folder)], HashingEmbedder())
            both.append(Harness(tg, FakeModel(), settings, folder, caplog))
        yield both[0], both[1]
        for h in both:
            if h.tanya is not None:
                h.tanya.engine.close()


def run_both(a: Harness, b: Harness, scenario: Callable[[], Awaitable[None]]) -> None:
    """Both bots polling their own fake Telegram at once while the scenario plays."""
    asyncio.run(serve(a.bot(), TOKEN, lambda: serve(b.bot(), TOKEN, scenario)))
    assert problems(a.caplog) == []


@pytest.mark.slow
def test_a_conversation_begun_on_one_process_goes_on_on_the_other(
        pair: tuple[Harness, Harness]) -> None:
    a, b = pair
    assert a.settings.home != b.settings.home

    async def scenario() -> None:
        _, first = await a.ask(USER, MUSK_Q)
        assert MUSK_A in first["plain"]
        _, second = await b.ask(USER, "Who refused him?")
        assert REFUSED in second["plain"]
        sources = await b.reply_to(USER, "/sources", contains="Musk and OpenAI")
        assert "(cited)" in sources["plain"], "the other process's answer behind /sources"

    run_both(a, b, scenario)
    [rewrite] = b.model.rewrites()
    assert f"User: {MUSK_Q}" in rewrite, "the rewrite read the turn the first process stored"
    assert "Last question: Who refused him?" in rewrite
    assert b.model.questions() == ["Who refused Musk?"] and a.model.rewrites() == []
    assert not a.settings.conversations_db.exists() and not b.settings.conversations_db.exists()


@pytest.mark.slow
def test_one_users_two_questions_on_two_processes_are_answered_in_order(
        pair: tuple[Harness, Harness]) -> None:
    a, b = pair
    a.model.delay_s = 0.3  # the first answer takes seconds: the second must wait for it

    async def scenario() -> None:
        a.tg.user_message(USER, MUSK_Q)
        await a.wait(lambda tg: "typing" in tg.actions(USER))  # accepted (numbered) by a
        b.tg.user_message(USER, "Who refused him?")
        await b.wait(lambda tg: "typing" in tg.actions(USER))
        await b.wait(lambda tg: len(finals(tg, USER)) == 1, timeout=20)
        assert len(finals(a.tg, USER)) == 1, "the first question was answered first"

    run_both(a, b, scenario)
    assert MUSK_A in finals(a.tg, USER)[0]["plain"]
    assert REFUSED in finals(b.tg, USER)[0]["plain"]
    [rewrite] = b.model.rewrites()
    assert f"User: {MUSK_Q}" in rewrite, "the second was answered with the first's turn"


def test_question_numbers_are_per_user_and_wait_only_for_live_earlier_ones(
        pg_url: str) -> None:
    one, two = PgState(pg_url, 3, 1.0), PgState(pg_url, 3, 1.0)
    try:
        assert [one.take(7, 7), two.take(7, 7), one.take(8, 8)] == [1, 2, 1]
        assert one.ready(7, 1) and not two.ready(7, 2) and one.ready(8, 1)
        one.done(7, 1)
        assert two.ready(7, 2)
        two.done(7, 2)
        assert one.take(7, 7) == 3 and two.take(7, 7) == 4
        assert not two.ready(7, 4)
        one.close()  # the process holding question 3 has gone: 4 no longer waits for it
        deadline = time.monotonic() + 10
        while not two.ready(7, 4) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert two.ready(7, 4)
    finally:
        one.close()
        two.close()


def test_processes_numbering_one_users_questions_at_once_never_share_a_number(
        pg_url: str) -> None:
    states = [PgState(pg_url, 3, 1.0) for _ in range(4)]
    taken: list[int | None] = []
    lock = threading.Lock()

    def accept(state: PgState) -> None:
        for _ in range(25):
            seq = state.take(5, 5)
            with lock:
                taken.append(seq)

    threads = [threading.Thread(target=accept, args=(s,)) for s in states]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in states:
        s.close()
    assert sorted(n for n in taken if n is not None) == list(range(1, 101))


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record any attempt to load the embedder or the model (none must be made)."""
    loads: list[str] = []

    def generator(settings: Settings, name: str | None = None) -> Generator:
        loads.append("model")
        return FakeModel()

    def embedder(settings: Settings) -> HashingEmbedder:
        loads.append("embedder")
        return HashingEmbedder()

    monkeypatch.setattr(runtime, "generator", generator)
    monkeypatch.setattr(runtime, "embedder", embedder)
    return loads


def test_a_database_down_at_start_is_one_line_naming_the_masked_url(
        tmp_path: Path, no_model: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    write_corpus(tmp_path / "articles")
    with FakeTelegram(token=TOKEN) as tg:
        settings = make_settings(tmp_path, tg, database_url=DOWN, telegram_token=SecretStr(TOKEN))
        run_sync(settings.index_dir, [str(tmp_path / "articles")], HashingEmbedder())
        with pytest.raises(DatabaseError) as caught:
            prepare(settings)
        message = str(caught.value)
        assert message.startswith(f"cannot connect to PostgreSQL at {DOWN_MASKED}")
        assert "\n" not in message and "s3cret" not in message
        assert no_model == [], "nothing is loaded before the database answers"

        for key, value in {"TANYA_HOME": str(settings.home), "TANYA_DATABASE_URL": DOWN,
                           "TANYA_TELEGRAM_TOKEN": TOKEN, "TANYA_EMBED_MODEL": "fake-hashing",
                           "TANYA_TELEGRAM_API_URL": f"{tg.url}/bot"}.items():
            monkeypatch.setenv(key, value)
        result = CliRunner().invoke(cli, ["telegram"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot connect to PostgreSQL at "
                                                   f"{DOWN_MASKED}"), result.output
    assert "s3cret" not in result.output and no_model == []


def test_a_held_question_goes_back_to_its_askers_head_and_others_go_first() -> None:
    from bot.telegram.jobs import FairQueue, Job

    async def play() -> list[str]:
        queue = FairQueue(maxsize=10)
        for user, question in ((1, "u1 first"), (1, "u1 second"), (2, "u2 first")):
            queue.put_nowait(Job(user, user, question, True, None))
        taken = await queue.get()
        queue.hold(taken)  # u1's earlier question is still being answered elsewhere
        queue.release(2)  # not held: nothing changes
        order = [(await queue.get()).question]
        queue.release(1)
        queue.release(1)  # twice: still one turn
        order.append((await queue.get()).question)
        assert queue.qsize() == 1
        return order

    assert asyncio.run(play()) == ["u2 first", "u1 first"]


def test_a_dropped_connection_is_one_error_line_then_replaced(pg_url: str,
                                                               pg_server: TestServer) -> None:
    state = PgState(pg_url, 3, 1.0)
    try:
        assert state.take(3, 3) == 1  # question 1, held by this connection
        with pg_server.admin() as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = 'tanya' AND datname = %s",
                          (urlsplit(pg_url).path.lstrip("/"),))
        with pytest.raises(DatabaseError) as caught:
            state.history(3)
        assert str(caught.value).startswith("PostgreSQL at ") and "\n" not in str(caught.value)
        assert state.history(3) == [] and state.ready(3, 2), "a new connection; 1's is gone"
    finally:
        state.close()
