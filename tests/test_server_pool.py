"""The server pool against real llama.cpp servers (`python -m llama_cpp.server`, smollm2-135m).

The fake HTTP server of test_llm_server.py stays for faults a real server cannot be made to
show (malformed events, HTTP 500); here everything is real: processes, sockets, streaming.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot import runtime
from bot.cli.app import app as cli
from bot.config import Settings
from bot.engine import Engine
from bot.errors import GenerationError
from bot.pipeline.answer import Answer
from bot.pipeline.llm import Generator, Messages, OpenAIServerGenerator
from bot.pipeline.pool import ServerPool
from bot.telegram.app import MODEL_FAILED, TanyaBot
from tests.bot_harness import replies, serve
from tests.conftest import flat_settings, run_sync, write_md
from tests.fake_telegram import FakeTelegram
from tests.fakes import HashingEmbedder
from tests.llama_server import PRESET, LlamaServer, free_port, llama_servers

pytestmark = pytest.mark.slow
TOKEN = "424242:AAHsecret-Token_value-for-tests"
USERS = list(range(301, 307))
QUESTIONS = ("Why did Musk leave OpenAI?", "How many GPUs did Twitter buy?",
             "What did farmers in Sukamulya harvest?", "How long is the new frog?",
             "Who refused Musk's plan?", "What price did rice fetch?")


def _corpus(folder: Path) -> None:
    write_md(folder, "musk.md", "Musk and OpenAI",
             "Musk left OpenAI in 2018 after a power struggle. He wanted to run the company "
             "himself. Altman and the other founders refused. Twitter later bought 10,000 GPUs.")
    write_md(folder, "rice.md", "Rice harvest", "Farmers in Sukamulya harvested 6.8 tonnes of "
             "rice per hectare. Prices held at 5,100 rupiah per kilogram.")
    write_md(folder, "frog.md", "A new frog", "Scientists described a tiny frog species from a "
             "cloud forest. It is 12 mm long.")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[LlamaServer]]:
    """Two real servers, shared by the tests of this module (each test may kill one)."""
    with llama_servers(2, tmp_path_factory.mktemp("servers")) as running:
        yield running


def _settings(tmp_path: Path, urls: list[str], **extra: object) -> Settings:
    folder = tmp_path / "articles"
    _corpus(folder)
    settings = flat_settings(home=tmp_path / "home", embed_model="fake-hashing",
                             llm_url=",".join(urls), llm_model=PRESET, **extra)
    run_sync(settings.index_dir, [str(folder)], HashingEmbedder())
    return settings


def test_tanya_ask_goes_past_a_dead_server_to_a_live_one(
        servers: list[LlamaServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "embedder", lambda _settings: HashingEmbedder())
    dead = f"http://127.0.0.1:{free_port()}"
    settings = _settings(tmp_path, [dead, servers[0].url])
    before = servers[0].requests()
    result = CliRunner().invoke(cli, ["ask", "--json", "Why did Musk leave OpenAI?"],
                                env={"TANYA_HOME": str(settings.home),
                                     "TANYA_EMBED_MODEL": "fake-hashing",
                                     "TANYA_LLM_URL": f"{dead},{servers[0].url}",
                                     "TANYA_LLM_MODEL": PRESET})
    assert result.exit_code == 0, result.output
    assert '"answer"' in result.output
    assert servers[0].requests() > before, "the live server answered"


def test_two_real_servers_share_answers_asked_at_once(
        servers: list[LlamaServer], tmp_path: Path) -> None:
    settings = _settings(tmp_path, [s.url for s in servers])
    pool = runtime.generator(settings)
    assert isinstance(pool, ServerPool)
    engine = Engine(settings, HashingEmbedder(), pool, settings.answering())
    before = [s.requests() for s in servers]
    answers: list[Answer] = []

    def ask(question: str) -> None:
        answers.append(engine.ask(question, []))

    threads = [threading.Thread(target=ask, args=(q,)) for q in QUESTIONS[:2]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    engine.close()
    assert len(answers) == 2 and all(a.text for a in answers)
    assert all(s.requests() > b for s, b in zip(servers, before, strict=True)), \
        "each server wrote one of the two answers"


def test_an_answer_interrupted_by_llama_cpp_servers_default_is_an_error(
        tmp_path: Path) -> None:
    """With llama_cpp.server's defaults a second request ends the running stream early,
    with [DONE] and no finish_reason: that must fail, not pass as a short answer."""
    long = [{"role": "user", "content": "Write a long story about a cat and a river."}]
    outcome: list[str] = []
    first_piece = threading.Event()

    def first() -> None:
        try:
            for _ in gen.stream(long, 200):
                first_piece.set()
            outcome.append("finished")
        except GenerationError as exc:
            outcome.append(str(exc))

    with llama_servers(1, tmp_path, interrupt_requests=True) as (server,):
        gen = OpenAIServerGenerator(server.url, PRESET, retries=0)
        thread = threading.Thread(target=first)
        thread.start()
        assert first_piece.wait(60)
        second = "".join(gen.stream(long, 8))
        thread.join(60)
    assert second
    assert len(outcome) == 1 and "before finishing" in outcome[0], outcome


class KillOnFirstToken:
    """A server's client that kills the server process right after its first token."""

    def __init__(self, inner: Generator, server: LlamaServer) -> None:
        self._inner = inner
        self._server = server
        self.killed = threading.Event()

    @property
    def name(self) -> str:
        """The wrapped client's name."""
        return self._inner.name

    def stream(self, messages: Messages, max_tokens: int, **_: object) -> Iterator[str]:
        """Pass the stream through; kill the server once, after the first piece."""
        for piece in self._inner.stream(messages, max_tokens):
            yield piece
            if not self.killed.is_set():
                self._server.kill()
                self.killed.set()


def test_killing_one_of_two_servers_mid_stream_loses_and_repeats_no_question(
        servers: list[LlamaServer], tmp_path: Path) -> None:
    with FakeTelegram(token=TOKEN) as tg:
        settings = _settings(tmp_path, [s.url for s in servers],
                             telegram_api_url=f"{tg.url}/bot", telegram_allowed=USERS,
                             telegram_stream_interval_s=0.1)
        victim = KillOnFirstToken(OpenAIServerGenerator(servers[0].url, PRESET, retries=0),
                                  servers[0])
        pool = ServerPool([victim, OpenAIServerGenerator(servers[1].url, PRESET, retries=0)])
        before = servers[1].requests()
        tanya = TanyaBot(Engine(settings, HashingEmbedder(), pool, settings.answering()),
                         settings)
        assert tanya.workers == 4

        def texts(user: int) -> list[str]:
            return [m["plain"] for m in replies(tg, user)]

        async def scenario() -> None:
            for user, question in zip(USERS, QUESTIONS, strict=True):
                tg.user_message(user, question)
            await asyncio.to_thread(tg.wait_for, lambda _: all(texts(u) for u in USERS),
                                    300)
            await asyncio.sleep(1.0)  # a duplicate answer would arrive now

        asyncio.run(serve(tanya, TOKEN, scenario))
        tanya.engine.close()
    assert victim.killed.is_set()
    got = {u: texts(u) for u in USERS}
    assert all(len(r) == 1 for r in got.values()), got  # none lost, none twice
    failed = [u for u, r in got.items() if r == [MODEL_FAILED]]
    assert len(failed) == 1, got  # only the answer that was streaming from the killed server
    assert all(tg.sent(u)[-1]["reply_markup"] is None for u in failed)  # no Sources: unchecked
    assert servers[1].requests() > before, "the other server took over"
