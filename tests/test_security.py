"""What README's Security section promises and no other test holds: markup in articles stays
text, one user's flood cannot make another wait, secrets stay out of output, and uploads that
are too big or of an unknown type are refused before anything is written."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from bot import runtime
from bot.cli.app import app
from bot.config import Settings
from bot.engine import Engine
from bot.pipeline.llm import Messages
from bot.telegram.app import MODEL_FAILED, TanyaBot
from bot.telegram.main import configure_logging
from tests.conftest import run_sync, write_md
from tests.fake_telegram import FakeTelegram
from tests.fakes import HashingEmbedder
from tests.test_telegram import (
    ADMIN,
    MUSK_A,
    MUSK_Q,
    OTHER,
    TOKEN,
    USER,
    FakeModel,
    Harness,
    assert_valid_html,
    buttons,
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


# ---- article markup reaches the chat as text -------------------------------------------------

MARKUP = ('The quokka council wrote <a href="https://evil.test/login">click here</a> and '
          "<b>urgent</b> &amp; <tg-spoiler>hidden</tg-spoiler> in its memo. "
          "The quokka council meets every Tuesday near the old harbour.")


def test_article_markup_and_entities_reach_the_chat_as_text(h: Harness) -> None:
    tg = h.tg
    write_md(h.articles, "quokka.md", 'Quokka <i>council</i> &lt;memo&gt;', MARKUP,
             url="https://quokka.test/memo", outlet="<b>Quokka</b> Times")
    run_sync(h.settings.index_dir, [str(h.articles)], HashingEmbedder())

    async def scenario() -> None:
        _, final = await h.ask(USER, "What did the quokka council write in its memo?")
        before = len(tg.sent(USER))
        tg.callback(USER, final["message_id"], buttons(final)["Sources"])
        await h.wait(lambda t: len(t.sent(USER)) > before)
        await h.settle(0.1)

    h.run(scenario)
    shown = [m for m in tg.sent(USER)]
    plain = "\n".join(m["plain"] for m in shown)
    assert '<a href="https://evil.test/login">click here</a>' in plain
    assert "<b>urgent</b> &amp; <tg-spoiler>hidden</tg-spoiler>" in plain
    assert "Quokka <i>council</i> &lt;memo&gt; — <b>Quokka</b> Times" in plain
    for m in shown:  # what the bot formats is its own, never a span the article marked up
        assert not [e for e in m["entities"] if "evil.test" in str(e.get("url", ""))]
        spans = {m["plain"][e["offset"]:e["offset"] + e["length"]] for e in m["entities"]}
        assert not spans & {"urgent", "Quokka", "council", "hidden", "click here"}, spans
    drafts = "\n".join(tg.drafts(USER, plain=True))
    assert '<a href="https://evil.test/login">' in drafts
    assert_valid_html(tg)


# ---- one user's flood ------------------------------------------------------------------------

class GatedModel(FakeModel):
    """FakeModel whose first answer waits until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__(delay_s=0.001)
        self.started, self.gate = threading.Event(), threading.Event()

    def stream(self, messages: Messages, max_tokens: int, **_: object) -> Iterator[str]:
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


# ---- secrets stay out of logs, errors and --json --------------------------------------------

class LlmServer(ThreadingHTTPServer):
    """An OpenAI-style server that records the Authorization header and, when told to, fails
    with an error page that echoes it (as a misconfigured proxy might)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _LlmHandler)
        self.auth: list[str] = []
        self.fail = False

    @property
    def url(self) -> str:
        """Base URL for TANYA_LLM_URL."""
        return f"http://127.0.0.1:{self.server_address[1]}"


class _LlmHandler(BaseHTTPRequestHandler):
    server: LlmServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        auth = self.headers.get("Authorization", "")
        self.server.auth.append(auth)
        if self.server.fail:
            body = f"denied: {auth} is not a key of this server".encode()
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        events = [{"choices": [{"delta": {"content": MUSK_A}}]},
                  {"choices": [{"delta": {}, "finish_reason": "stop"}]}]
        body = b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events) + \
            b"data: [DONE]\n\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def llm() -> Iterator[LlmServer]:
    """A model server on loopback."""
    server = LlmServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_api_key_and_secrets_never_reach_output_or_errors(
        tmp_path: Path, llm: LlmServer, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name, value in (("LLM_URL", llm.url), ("LLM_API_KEY", API_KEY), ("EMBED_MODEL",
                        "fake-hashing"), ("TELEGRAM_TOKEN", TOKEN),
                        ("TELEGRAM_WEBHOOK_SECRET", HOOK_SECRET)):
        monkeypatch.setenv(f"TANYA_{name}", value)
    monkeypatch.setattr(runtime, "embedder", lambda settings: HashingEmbedder())
    write_corpus(tmp_path / "articles")
    run_sync(Settings().index_dir, [str(tmp_path / "articles")], HashingEmbedder())
    runner = CliRunner()
    answered = runner.invoke(app, ["ask", MUSK_Q, "--json"])
    assert answered.exit_code == 0, answered.output
    assert MUSK_A in json.loads(answered.stdout.splitlines()[-1])["answer"]
    llm.fail = True
    failed = runner.invoke(app, ["ask", MUSK_Q, "--json"])
    assert failed.exit_code == 1 and "answered HTTP 500: denied: Bearer <api key> is not" \
        in failed.stderr, failed.output
    config = runner.invoke(app, ["config", "--json"])
    assert config.exit_code == 0
    assert llm.auth and all(a == f"Bearer {API_KEY}" for a in llm.auth), "the key was used"
    captured = "\n".join([answered.output, failed.output, config.output, caplog.text])
    for secret in (API_KEY, TOKEN, TOKEN.split(":")[1], HOOK_SECRET):
        assert secret not in captured, secret


def test_a_failing_model_server_leaks_no_key_into_the_chat_or_the_logs(
        tmp_path: Path, llm: LlmServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    write_corpus(tmp_path / "articles")
    llm.fail = True
    with FakeTelegram(token=TOKEN) as tg:
        settings = make_settings(tmp_path, tg, llm_url=llm.url, llm_api_key=SecretStr(API_KEY))
        run_sync(settings.index_dir, [str(tmp_path / "articles")], HashingEmbedder())
        engine = Engine(settings, HashingEmbedder(), runtime.generator(settings),
                        settings.answering())
        h = Harness(tg, FakeModel(), settings, tmp_path / "articles", caplog,
                    TanyaBot(engine, settings))

        async def scenario() -> None:
            tg.user_message(USER, MUSK_Q)
            await h.wait(lambda t: any(MODEL_FAILED in m["plain"] for m in t.sent(USER)))

        try:
            h.run(scenario, quiet=False)
        finally:
            engine.close()
    assert llm.auth == [f"Bearer {API_KEY}"], "the key was sent"
    chat = "\n".join(m["text"] for m in tg.sent(USER))
    assert API_KEY not in chat and API_KEY not in caplog.text
    assert "Bearer <api key> is not a key" in caplog.text, "the failure itself was logged"


def test_the_log_filter_masks_every_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    root = logging.getLogger()
    before = {id(f) for handler in root.handlers for f in handler.filters}
    configure_logging(TOKEN, HOOK_SECRET, API_KEY, "")
    try:
        logging.getLogger("tests.security").warning("POST /bot%s/getMe %s %s", TOKEN,
                                                    HOOK_SECRET, API_KEY)
        try:
            raise RuntimeError(f"failed with {API_KEY}")
        except RuntimeError:
            logging.getLogger("tests.security").exception("boom")
    finally:
        for handler in root.handlers:
            for f in list(handler.filters):
                if id(f) not in before:
                    handler.removeFilter(f)
    assert "POST /bot<token>/getMe <secret> <secret>" in caplog.text
    assert API_KEY not in caplog.text and HOOK_SECRET not in caplog.text


# ---- uploads ---------------------------------------------------------------------------------

def test_uploads_too_big_or_of_unknown_type_are_refused_before_anything_is_written(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_corpus(tmp_path / "articles")
    refused_type = "I can add .txt, .md, .html and .pdf files."
    too_big = "That file is over the 0.001 MB limit."
    with FakeTelegram(token=TOKEN) as tg:
        settings = make_settings(tmp_path, tg, max_source_mb=0.001)  # 1,048 bytes
        run_sync(settings.index_dir, [str(tmp_path / "articles")], HashingEmbedder())
        h = Harness(tg, FakeModel(), settings, tmp_path / "articles", caplog)

        async def scenario() -> None:
            for name, content, sized, answer in (
                    ("big.txt", b"kata " * 300, True, too_big),
                    ("unsized.txt", b"kata " * 300, False, too_big),
                    ("tool.exe", b"MZ\x90\x00", True, refused_type),
                    ("page.svg", b"<svg/>", True, refused_type),
                    ("noname", b"plain words", True, refused_type)):
                before = len(tg.sent(ADMIN))
                tg.user_document(ADMIN, name, content, sized=sized)
                await h.wait(lambda t, n=before: len(t.sent(ADMIN)) > n)  # type: ignore[misc]
                assert tg.sent(ADMIN)[before]["plain"] == answer, name

        try:
            h.run(scenario)
        finally:
            h.bot().engine.close()
    assert not (settings.home / "uploads").exists(), "nothing was written"
    assert tg.downloads == [], "nothing was even downloaded"
    assert len(tg.calls("getFile")) == 1, "only the file of unknown size was looked up"


# ---- /add and the fetch guard ----------------------------------------------------------------

def test_add_of_an_internal_url_is_refused_with_the_setting_named(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_corpus(tmp_path / "articles")
    with FakeTelegram(token=TOKEN) as tg:
        settings = make_settings(tmp_path, tg, fetch_allow=[])
        run_sync(settings.index_dir, [str(tmp_path / "articles")], HashingEmbedder())
        h = Harness(tg, FakeModel(), settings, tmp_path / "articles", caplog)

        async def scenario() -> None:
            for url, address in (("http://127.0.0.1:9/admin", "127.0.0.1 is a loopback"),
                                 ("http://169.254.169.254/latest/meta-data/",
                                  "169.254.169.254 is a link-local")):
                reply = await h.reply_to(ADMIN, f"/add {url}", contains="Could not add")
                assert reply["plain"] == (f"Could not add it: refused {url}: {address} address "
                                          "(set TANYA_FETCH_ALLOW to allow it)")

        try:
            h.run(scenario)
        finally:
            h.bot().engine.close()
