"""End to end: the real python-telegram-bot Application and polling loop against FakeTelegram.

Each test builds a small English index with the hashing embedder, an Engine with a scripted,
slightly slow model, and runs `TanyaBot.build(token)` inside `asyncio.run`, the way
`run_polling` would (initialize, post_init, start polling, start ... stop polling, stop,
post_stop, shutdown, post_shutdown). Inspection goes through the fake's record of API calls.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot import runtime
from bot.config import Settings
from bot.engine import Engine
from bot.errors import TanyaBotError
from bot.pipeline.answer import Answer
from bot.pipeline.decision import REFUSAL as NOT_FOUND
from bot.pipeline.llm import Generator, Messages
from bot.telegram.access import REFUSAL
from bot.telegram.app import TanyaBot, file_url
from bot.telegram.main import configure_logging, prepare
from bot.telegram.memory import ConversationStore
from index.errors import TanyaIndexError
from index.sync import remove
from tests.bot_harness import serve
from tests.conftest import flat_settings, run_sync, write_md
from tests.fake_telegram import BOT_USERNAME, NOT_MODIFIED, FakeTelegram, parse_html, utf16_len
from tests.fake_telegram import validate_html as html_error
from tests.fakes import HashingEmbedder

JSON = dict[str, Any]
TOKEN = "424242:AAHsecret-Token_value-for-tests"
USER, OTHER, ADMIN, STRANGER = 101, 102, 900, 666
CROWD = list(range(201, 221))
GROUP = -100123
MUSK_Q = "Why did Musk leave OpenAI?"
MUSK_A = "Musk left OpenAI after a power struggle [1]."
MUSK = ("Musk left OpenAI in 2018 after a power struggle. He wanted to run the company himself. "
        "Altman and the other founders refused. OpenAI said he would keep funding it.")
EXPIRED = "This button has expired; ask again."


# ---- a thread-safe, slightly slow scripted model -------------------------------------------

class FakeModel:
    """Answers from a function of the question, in word pieces with a pause between them.

    Follow-up rewrites replace "him" with "Musk"; answers come from fixed rules, else the first
    sentence of passage [1] is quoted with a citation. Every prompt is recorded (thread-safe).
    """

    RULES = (
        (("musk", "refused"), "Altman and the other founders refused [1]."),
        (("musk",), MUSK_A),
        (("kite",), "The kite festival drew 9,000 visitors [1]."),
        (("lantern",), "The lantern night market reopened with 140 stalls [1]."),
        (("zorblat",), "The Zorblat memo said profits < costs & losses [1]."),
    )

    def __init__(self, delay_s: float = 0.02, name: str = "fake-llm") -> None:
        self.delay_s = delay_s
        self._name = name
        self._lock = threading.Lock()
        self._prompts: list[Messages] = []

    @property
    def name(self) -> str:
        """Model identity."""
        return self._name

    @property
    def prompts(self) -> list[Messages]:
        """Every prompt so far."""
        with self._lock:
            return list(self._prompts)

    def rewrites(self) -> list[str]:
        """Texts of the follow-up rewrite prompts."""
        return [p[0]["content"] for p in self.prompts if _is_rewrite(p)]

    def questions(self) -> list[str]:
        """The questions of the answer prompts, in order."""
        out = []
        for p in self.prompts:
            m = re.search(r"^Question: (.*)$", p[-1]["content"], re.M)
            if not _is_rewrite(p) and m:
                out.append(m.group(1))
        return out

    def reply(self, messages: Messages) -> str:
        """What the model says to these messages."""
        text = messages[-1]["content"]
        if _is_rewrite(messages):
            m = re.search(r"^Last question: (.*)$", text, re.M)
            last = m.group(1) if m else ""
            return re.sub(r"\bhim\b", "Musk", last)
        m = re.search(r"^Question: (.*)$", text, re.M)
        question = (m.group(1) if m else "").lower()
        for words, answer in self.RULES:
            if all(w in question for w in words):
                return answer
        m = re.search(r"^\[1\] (?:[^:\n]*: )?(.*?[.!?])(?:\s|$)", text, re.M)
        return f"{m.group(1)} [1]" if m else NOT_FOUND

    def stream(self, messages: Messages, max_tokens: int, **_: object) -> Iterator[str]:
        """Record the prompt, then yield the reply word by word."""
        with self._lock:
            self._prompts.append([dict(m) for m in messages])
        for piece in re.findall(r"\S+\s*", self.reply(messages)):
            time.sleep(self.delay_s)
            yield piece


def _is_rewrite(messages: Messages) -> bool:
    return len(messages) == 1 and "Last question:" in messages[0]["content"]


# ---- the harness ---------------------------------------------------------------------------

@dataclass
class Harness:
    """One bot over one fake Telegram server."""

    tg: FakeTelegram
    model: FakeModel
    settings: Settings
    articles: Path
    caplog: pytest.LogCaptureFixture
    tanya: TanyaBot | None = None

    def bot(self) -> TanyaBot:
        """The bot under test (built on first use)."""
        if self.tanya is None:
            engine = Engine(self.settings, HashingEmbedder(), self.model,
                            self.settings.answering())
            self.tanya = TanyaBot(engine, self.settings)
        return self.tanya

    def run(self, scenario: Callable[[], Awaitable[None]], *, quiet: bool = True) -> None:
        """Run the real Application with long polling while the scenario plays.

        With quiet, nothing may be logged at ERROR, nor at WARNING by the bot itself: every
        failed Bot API call (a 400 included) would show up there.
        """
        asyncio.run(serve(self.bot(), self.tg.token, scenario))
        if quiet:
            assert problems(self.caplog) == []

    async def wait(self, predicate: Callable[[FakeTelegram], bool], timeout: float = 10) -> None:
        """Wait (off the event loop) until the fake's state satisfies predicate."""
        await asyncio.to_thread(self.tg.wait_for, predicate, timeout)

    async def ask(self, user: int, text: str, *, chat_id: int | None = None,
                  reply_to: int | None = None, timeout: float = 10) -> tuple[int, JSON]:
        """Send a question and wait for one more final answer in that chat."""
        chat = user if chat_id is None else chat_id
        before = len(finals(self.tg, chat))
        mid = self.tg.user_message(user, text, chat_id=chat_id, reply_to_message_id=reply_to,
                                   chat_type="private" if chat_id is None else "supergroup")
        await self.wait(lambda tg: len(finals(tg, chat)) > before, timeout)
        return mid, finals(self.tg, chat)[before]

    async def reply_to(self, user: int, text: str, *, chat_id: int | None = None,
                       contains: str = "") -> JSON:
        """Send a message and wait for the next bot message in that chat (containing text)."""
        chat = user if chat_id is None else chat_id
        before = len(self.tg.sent(chat))
        self.tg.user_message(user, text, chat_id=chat_id,
                             chat_type="private" if chat_id is None else "supergroup")
        await self.wait(lambda tg: any(contains in m["plain"] for m in tg.sent(chat)[before:]))
        return next(m for m in self.tg.sent(chat)[before:] if contains in m["plain"])

    async def settle(self, seconds: float = 0.3) -> None:
        """Let the bot fetch and handle everything injected so far, then a little longer."""
        await self.wait(lambda tg: tg.pending_updates() == 0)
        await asyncio.sleep(seconds)


def finals(tg: FakeTelegram, chat_id: int) -> list[JSON]:
    """Final answers in a chat: the bot's messages carrying the Sources / More keyboard."""
    return [m for m in tg.sent(chat_id) if m["reply_markup"] and not m["deleted"]]


def buttons(message: JSON) -> dict[str, str]:
    """Button text -> callback data of a message's inline keyboard."""
    rows = message["reply_markup"]["inline_keyboard"]
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def assert_valid_html(tg: FakeTelegram) -> None:
    """Every text the bot sent, edited or drafted parses as Telegram HTML and fits 4096."""
    checked = 0
    for method in ("sendMessage", "editMessageText", "sendMessageDraft"):
        for _, params in tg.calls(method):
            text = str(params.get("text") or "")
            if str(params.get("parse_mode") or "").lower() == "html":
                assert html_error(text) is None, (method, text, html_error(text))
                text = parse_html(text)[0]
                checked += 1
            assert utf16_len(text) <= 4096, (method, len(text))
    assert checked, "no HTML was sent at all"


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Errors from anyone, and warnings from the bot's own modules."""
    return [f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records
            if r.levelno >= logging.ERROR
            or (r.levelno >= logging.WARNING and r.name.startswith("bot."))]


def make_settings(tmp_path: Path, tg: FakeTelegram, **extra: Any) -> Settings:
    """Test settings: fake Bot API, short stream interval, allowed users and one admin."""
    values: dict[str, Any] = {
        "home": tmp_path / "home", "embed_model": "fake-hashing",
        "telegram_api_url": f"{tg.url}/bot", "telegram_stream_interval_s": 0.05,
        "telegram_allowed": [USER, OTHER, *CROWD], "telegram_admins": [ADMIN],
        "telegram_rate_per_minute": 30,
        "fetch_allow": ["127.0.0.1"],  # the /add tests serve their pages on loopback
        **extra}
    return flat_settings(**values)


def write_corpus(folder: Path) -> None:
    """The Musk story and two distractors."""
    write_md(folder, "musk.md", "Musk and OpenAI", MUSK, outlet="Kabar", published="2023-04-12",
             url="https://kabar.test/musk")
    write_md(folder, "rice.md", "Rice harvest", "Farmers in Sukamulya harvested 6.8 tonnes of "
             "rice per hectare. Prices held at 5,100 rupiah per kilogram.",
             published="2023-03-01")
    write_md(folder, "frog.md", "A new frog", "Scientists described a tiny frog species from a "
             "cloud forest. It is 12 mm long.", published="2023-02-01")


# The bot's state: SQLite under TANYA_HOME, or the test PostgreSQL (TANYA_DATABASE_URL).
STORES = ["sqlite", "postgres"]


def state_settings(request: pytest.FixtureRequest, store: str) -> dict[str, Any]:
    """The settings that put the bot's state in the named store."""
    return {"database_url": request.getfixturevalue("pg_url")} if store == "postgres" else {}


@pytest.fixture
def h(request: pytest.FixtureRequest, tmp_path: Path,
      caplog: pytest.LogCaptureFixture) -> Iterator[Harness]:
    """A started fake Telegram, an indexed corpus and settings pointing at both; the bot's
    state in SQLite, or in PostgreSQL where a test is parametrized with h="postgres"."""
    folder = tmp_path / "articles"
    write_corpus(folder)
    with FakeTelegram(token=TOKEN) as tg:
        settings = make_settings(tmp_path, tg,
                                 **state_settings(request, getattr(request, "param", "sqlite")))
        run_sync(settings.index_location, [str(folder)], HashingEmbedder())
        harness = Harness(tg, FakeModel(), settings, folder, caplog)
        yield harness
        if harness.tanya is not None:
            harness.tanya.engine.close()


def test_file_url_matches_the_download_route() -> None:
    with FakeTelegram(token=TOKEN) as tg:
        assert file_url(f"{tg.url}/bot") == f"{tg.url}/file/bot"
    assert file_url("http://botapi:8081/bot") == "http://botapi:8081/file/bot"
    assert file_url("https://tg.example/bot/api/bot") == "https://tg.example/bot/api/file/bot"


# ---- 1. a private question, streamed, with buttons -----------------------------------------

@pytest.mark.parametrize("h", STORES, indirect=True)
def test_private_question_streams_evidence_then_a_checked_answer_with_buttons(
        h: Harness) -> None:
    tg = h.tg

    async def scenario() -> None:
        _, final = await h.ask(USER, MUSK_Q)
        drafts = tg.drafts(USER, plain=True)
        assert drafts, "the answer was streamed as drafts"
        assert "Musk left OpenAI in 2018 after a power struggle." in drafts[0]
        assert any("Draft, checking citations" in d for d in drafts)
        assert len(tg.calls("sendMessageDraft")) >= 2
        assert tg.actions(USER)[:1] == ["typing"]
        names = [name for name, _ in tg.calls()]
        assert names.index("sendMessageDraft") < names.index("sendMessage")
        assert MUSK_A in final["plain"] and "[1]" in final["plain"]
        assert "Sources\n[1] Musk and OpenAI — Kabar, 2023-04-12" in final["plain"]
        assert '<a href="https://kabar.test/musk">Musk and OpenAI</a>' in final["text"]
        assert final["parse_mode"] == "HTML" and final["reply_to_message_id"] is None
        assert final["edits"] == 0, "private chats stream drafts, not edits"
        keys = buttons(final)
        assert list(keys) == ["Sources", "More"]
        assert [m["plain"] for m in tg.sent(USER)] == [final["plain"]], "one message, no notices"

        before = len(tg.sent(USER))
        tg.callback(USER, final["message_id"], keys["Sources"])
        await h.wait(lambda t: len(t.sent(USER)) > before and len(t.callback_answers) == 1)
        sources = tg.sent(USER)[before]
        assert "[1] Musk and OpenAI — Kabar, 2023-04-12 (cited)" in sources["plain"]
        assert MUSK in sources["plain"] and "Quoted: “" in sources["plain"]
        assert any(e["type"] == "expandable_blockquote" for e in sources["entities"])

        before = len(tg.sent(USER))
        tg.callback(USER, final["message_id"], keys["More"])
        await h.wait(lambda t: len(t.sent(USER)) > before and len(t.callback_answers) == 2)
        more = tg.sent(USER)[before]["plain"]
        assert "No further passages." in more or "Rice harvest" in more or "A new frog" in more
        assert "text" not in tg.callback_answers[0]

    h.run(scenario)
    assert_valid_html(tg)
    assert h.model.questions() == [MUSK_Q] and h.model.rewrites() == []


# ---- 2. follow-ups and /new ----------------------------------------------------------------

@pytest.mark.parametrize("h", STORES, indirect=True)
def test_follow_up_uses_the_conversation_and_new_forgets_it(h: Harness) -> None:
    async def scenario() -> None:
        await h.ask(USER, MUSK_Q)
        _, second = await h.ask(USER, "Who refused him?")
        [rewrite] = h.model.rewrites()
        assert f"User: {MUSK_Q}" in rewrite and "Last question: Who refused him?" in rewrite
        assert h.model.questions()[-1] == "Who refused Musk?"
        assert "Altman and the other founders refused [1]." in second["plain"]

        notice = await h.reply_to(USER, "/new", contains="new topic")
        assert notice["plain"] == "Starting a new topic."
        await h.ask(USER, "Who refused him?")
        assert len(h.model.rewrites()) == 1, "no rewrite after /new"
        assert h.model.questions()[-1] == "Who refused him?"

    h.run(scenario)
    assert_valid_html(h.tg)


@pytest.mark.parametrize("h", STORES, indirect=True)
def test_a_restarted_bot_keeps_the_conversation_and_the_buttons(h: Harness) -> None:
    first: dict[str, JSON] = {}

    async def before_restart() -> None:
        _, first["final"] = await h.ask(USER, MUSK_Q)

    h.run(before_restart)
    h.tanya = None  # a new process: new bot, new engine, the same TANYA_HOME

    async def after_restart() -> None:
        _, second = await h.ask(USER, "Who refused him?")
        assert h.model.questions()[-1] == "Who refused Musk?"
        assert "Altman and the other founders refused [1]." in second["plain"]
        before = len(h.tg.sent(USER))
        h.tg.callback(USER, first["final"]["message_id"], buttons(first["final"])["Sources"])
        await h.wait(lambda t: len(t.sent(USER)) > before)
        assert "[1] Musk and OpenAI — Kabar, 2023-04-12 (cited)" in h.tg.sent(USER)[before]["plain"]

    h.run(after_restart)
    # the state lives in one place: SQLite under TANYA_HOME, or else the database alone
    assert h.settings.conversations_db.is_file() == (h.settings.database is None)


def open_store(request: pytest.FixtureRequest, store: str, tmp_path: Path,
               keep_hours: float) -> ConversationStore:
    """A conversation store of either kind over the same place for every call in a test."""
    if store == "postgres":
        from bot.telegram.pgstate import PgState

        return PgState(request.getfixturevalue("pg_url"), history_turns=3,
                       keep_hours=keep_hours)
    from bot.telegram.conversations import Conversations

    return Conversations(tmp_path / "c.db", history_turns=3, keep_hours=keep_hours)


@pytest.mark.parametrize("store", STORES)
def test_conversations_expire(store: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    old = open_store(request, store, tmp_path, keep_hours=1e-9)
    answer = Answer("q?", "q?", "a.", "sure", (), (), (), "a.", "m", {})
    key = old.add(7, answer)
    assert old.answer(key) is None and old.history(7) == [] and old.last(7) is None
    kept = open_store(request, store, tmp_path, keep_hours=1.0)
    key = kept.add(7, answer)
    assert kept.answer(key) is not None and [t.question for t in kept.history(7)] == ["q?"] * 2
    kept.forget(7)
    assert kept.history(7) == [] and kept.last(7) is not None
    old.close()
    kept.close()


@pytest.mark.parametrize("store", STORES)
def test_history_keeps_the_newest_turns_of_its_own_chat(
        store: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    kept = open_store(request, store, tmp_path, keep_hours=1.0)
    try:
        keys = [kept.add(7, Answer(f"q{n}?", f"q{n}?", f"a{n}.", "sure", (), (), (), f"a{n}.",
                                   "m", {})) for n in range(5)]
        kept.add(8, Answer("other?", "other?", "x.", "sure", (), (), (), "x.", "m", {}))
        assert [(t.question, t.answer) for t in kept.history(7)] == [
            ("q2?", "a2."), ("q3?", "a3."), ("q4?", "a4.")]
        last = kept.last(7)
        assert last is not None and last.question == "q4?" and last == kept.answer(keys[-1])
        assert kept.answer("no-such-key") is None and kept.last(9) is None
    finally:
        kept.close()


# ---- 3. groups -----------------------------------------------------------------------------

def test_group_answers_mentions_and_replies_only_by_editing_one_message(h: Harness) -> None:
    tg = h.tg

    async def scenario() -> None:
        tg.user_message(USER, "Why did Musk leave OpenAI, does anyone know?", chat_id=GROUP,
                        chat_type="supergroup")
        await h.settle()
        assert tg.sent(GROUP) == [] and h.model.prompts == []

        asked, final = await h.ask(USER, f"@{BOT_USERNAME} {MUSK_Q}", chat_id=GROUP)
        assert h.model.questions() == [MUSK_Q], "the mention is not part of the question"
        assert final["reply_to_message_id"] == asked
        assert MUSK_A in final["plain"] and "Sources" in final["plain"]
        assert final["edits"] >= 1, "streamed by editing the message"
        assert len(tg.sent(GROUP)) == 1
        first = tg.calls("sendMessage")[-1][1]
        assert first["chat_id"] == GROUP and "after a power struggle." in first["text"], \
            "the evidence came first"
        assert tg.drafts(GROUP) == []
        assert not [p for _, p in tg.calls("sendMessageDraft") if p.get("chat_id") == GROUP]

        asked2, second = await h.ask(OTHER, "And who refused him?", chat_id=GROUP,
                                     reply_to=final["message_id"])
        assert second["reply_to_message_id"] == asked2
        assert h.model.questions()[-1] == "And who refused Musk?"
        assert "Altman and the other founders refused [1]." in second["plain"]

    h.run(scenario)
    assert_valid_html(tg)
    assert len(h.model.questions()) == 2


# ---- 4. strangers --------------------------------------------------------------------------

def test_unknown_user_is_refused_once_and_buttons_answer_with_an_alert(h: Harness) -> None:
    tg = h.tg

    async def scenario() -> None:
        refusal = await h.reply_to(STRANGER, MUSK_Q, contains="private bot")
        assert refusal["plain"] == REFUSAL.format(uid=STRANGER)
        assert str(STRANGER) in refusal["plain"]
        tg.user_message(STRANGER, "Hello? Please answer me.")
        await h.settle()
        assert len(tg.sent(STRANGER)) == 1, "one refusal per period"
        tg.callback(STRANGER, refusal["message_id"], "src:1")
        await h.wait(lambda t: len(t.callback_answers) == 1)
        [alert] = tg.callback_answers
        assert alert["text"] == REFUSAL.format(uid=STRANGER) and alert["show_alert"] is True

    h.run(scenario)
    assert h.model.prompts == []
    assert tg.actions(STRANGER) == []


# ---- 5. admins add articles ----------------------------------------------------------------

KITE = """---
title: "Kite festival fills Pangandaran beach"
outlet: "Pesisir"
published: "2024-07-01"
---
A kite festival on Pangandaran beach drew 9,000 visitors on Sunday. The largest kite was a
30 metre dragon flown by a team from Bali. Organisers said the kite festival returns in July.
"""

STORY = b"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Lantern night market returns to Cirebon</title>
<meta property="og:title" content="Lantern night market returns to Cirebon">
<meta property="og:site_name" content="Cirebon Daily"></head>
<body><nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Lantern night market returns to Cirebon</h1>
<p>The lantern night market in Cirebon reopened on Friday with 140 stalls selling batik,
grilled fish and sweet tofu to thousands of visitors from across West Java.</p>
<p>Traders said the lantern night market had been closed for three years while the old
harbour road was rebuilt, and many of them had moved to smaller markets in the meantime.</p>
<p>The mayor opened the lantern night market by lighting a paper lantern shaped like a
boat, and a gamelan group played until midnight near the harbour gate.</p>
<p>Organisers plan to hold the lantern night market every Friday and Saturday evening
until the end of the dry season, weather permitting.</p>
</article><footer><p>Copyright Cirebon Daily.</p></footer></body></html>"""


@pytest.fixture
def story_url() -> Iterator[str]:
    """A local web server with one article page."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/story.html"
            body = STORY if found else b"not found"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8" if found
                             else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/story.html"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_admin_adds_articles_by_file_and_url_and_they_are_answered_at_once(
        h: Harness, story_url: str) -> None:
    tg = h.tg

    async def scenario() -> None:
        denied = await h.reply_to(USER, f"/add {story_url}", contains="Only admins")
        assert denied["plain"] == "Only admins can add or sync articles."

        before = len(tg.sent(ADMIN))
        tg.user_document(ADMIN, "kite-festival.md", KITE.encode())
        await h.wait(lambda t: any("Added" in m["plain"] for m in t.sent(ADMIN)[before:]))
        added = tg.sent(ADMIN)[before]["plain"]
        assert re.fullmatch(r"Added “Kite festival fills Pangandaran beach” \(\d+ passages\)\. "
                            r"You can ask about it now\.", added), added
        uploads = list((h.settings.home / "uploads").iterdir())
        assert [p.read_text(encoding="utf-8") for p in uploads] == [KITE]
        _, kite = await h.ask(ADMIN, "How many visitors came to the kite festival?")
        assert "The kite festival drew 9,000 visitors [1]." in kite["plain"]
        assert "[1] Kite festival fills Pangandaran beach — Pesisir, 2024-07-01" in kite["plain"]

        confirm = await h.reply_to(ADMIN, f"/add {story_url}", contains="Added")
        assert re.fullmatch(r"Added “Lantern night market returns to Cirebon” \(\d+ passages\)\."
                            r" You can ask about it now\.", confirm["plain"]), confirm["plain"]
        _, market = await h.ask(ADMIN, "How many stalls opened at the lantern night market?")
        assert "The lantern night market reopened with 140 stalls [1]." in market["plain"]
        assert "[1] Lantern night market returns to Cirebon" in market["plain"]
        assert f'href="{story_url}"' in market["text"]

        status = await h.reply_to(USER, "/status", contains="Articles")
        assert "Articles: 5" in status["plain"]

    h.run(scenario)
    assert_valid_html(tg)


# ---- 6. a crowd ----------------------------------------------------------------------------

def test_twenty_users_at_once_are_queued_and_all_answered(h: Harness) -> None:
    tg = h.tg
    h.model.delay_s = 0.005

    async def scenario() -> None:
        for user in CROWD:
            tg.user_message(user, MUSK_Q)
        await h.wait(lambda t: all(finals(t, u) for u in CROWD), timeout=40)

    started = time.monotonic()
    h.run(scenario)
    elapsed = time.monotonic() - started
    order = sorted(CROWD, key=lambda u: finals(tg, u)[0]["message_id"])
    queued = {}
    for user in CROWD:
        sent = tg.sent(user)
        assert len(finals(tg, user)) == 1 and MUSK_A in finals(tg, user)[0]["plain"]
        assert not [m for m in sent if "Sorry" in m["plain"] or "busy" in m["plain"]]
        waits = [m["plain"] for m in sent if "in the queue" in m["plain"]]
        if waits:
            [wait] = waits
            m = re.fullmatch(r"You are number (\d+) in the queue; I answer one question at a "
                             r"time\.", wait)
            assert m, wait
            queued[user] = int(m.group(1))
    assert order[0] not in queued, "the first asker did not wait"
    assert set(queued) == set(order[1:]), "everyone else was told their place"
    assert all(2 <= n <= len(CROWD) for n in queued.values())
    assert_valid_html(tg)
    assert elapsed < 40


# ---- 7. flood control while streaming ------------------------------------------------------

def test_a_429_on_a_draft_pauses_streaming_and_the_answer_still_arrives(h: Harness) -> None:
    tg = h.tg
    h.model.delay_s = 0.2  # the answer takes longer than the pause
    tg.fail_next("sendMessageDraft", 429, retry_after=1)

    async def scenario() -> None:
        started = time.monotonic()
        _, final = await h.ask(USER, MUSK_Q)
        assert MUSK_A in final["plain"] and "Sources" in final["plain"]
        assert time.monotonic() - started < 8

    h.run(scenario)
    assert len(tg.calls("sendMessageDraft")) > len(tg.drafts(USER)) >= 1, "one draft refused"
    assert [m["plain"] for m in tg.sent(USER)] == [finals(tg, USER)[0]["plain"]]
    assert_valid_html(tg)


def test_a_429_on_an_edit_in_a_group_and_the_answer_still_arrives(h: Harness) -> None:
    tg = h.tg
    h.model.delay_s = 0.08
    tg.fail_next("editMessageText", 429, retry_after=1)

    async def scenario() -> None:
        _, final = await h.ask(USER, f"@{BOT_USERNAME} {MUSK_Q}", chat_id=GROUP)
        assert MUSK_A in final["plain"] and "Sources" in final["plain"]
        assert "Draft" not in final["plain"]

    h.run(scenario)
    assert len(tg.sent(GROUP)) == 1, "the same message was edited into the answer"
    assert len(tg.calls("editMessageText")) >= 2
    assert_valid_html(tg)


def test_a_server_error_on_a_draft_does_not_lose_the_answer(h: Harness) -> None:
    tg = h.tg
    tg.fail_next("sendMessageDraft", 500)

    async def scenario() -> None:
        _, final = await h.ask(USER, MUSK_Q)
        assert MUSK_A in final["plain"]

    h.run(scenario, quiet=False)
    assert not [m for m in tg.sent(USER) if "Sorry" in m["plain"]]
    assert [p.split(":")[0] for p in problems(h.caplog)] == ["WARNING bot.telegram.stream"]


def test_a_user_who_blocked_the_bot_does_not_stop_the_queue(h: Harness) -> None:
    tg = h.tg
    tg.fail_next("sendMessageDraft", 403, description="Forbidden: bot was blocked by the user")
    tg.fail_next("sendMessage", 403, description="Forbidden: bot was blocked by the user",
                 times=2)

    async def scenario() -> None:
        tg.user_message(USER, MUSK_Q)
        await h.wait(lambda t: len(t.calls("sendMessage")) >= 2)
        _, final = await h.ask(OTHER, MUSK_Q)
        assert MUSK_A in final["plain"]

    h.run(scenario, quiet=False)
    assert tg.sent(USER) == []
    assert [p.split(":")[0] for p in problems(h.caplog)] == [
        "WARNING bot.telegram.stream", "ERROR bot.telegram.app", "WARNING bot.telegram.app"]


# ---- 8. HTML in articles -------------------------------------------------------------------

def test_html_breaking_article_text_is_escaped_everywhere(h: Harness) -> None:
    tg = h.tg
    write_md(h.articles, "memo.md", "Memo <b> & </i> leak at Zorblat",
             "Zorblat engineers wrote that profits < costs & losses. A line of the Zorblat memo "
             "read </b> then <script>alert('x')</script> and <i>unclosed tags & more. "
             "The Zorblat memo was leaked by an intern.",
             url="https://zorblat.test/memo?a=1&b=<2>", outlet="Tags & <Co>")
    run_sync(h.settings.index_location, [str(h.articles)], HashingEmbedder())

    async def scenario() -> None:
        _, final = await h.ask(USER, "What did the Zorblat memo say?")
        assert "The Zorblat memo said profits < costs & losses [1]." in final["plain"]
        assert "profits &lt; costs &amp; losses" in final["text"]
        assert "Memo <b> & </i> leak at Zorblat — Tags & <Co>" in final["plain"]
        assert "Memo &lt;b&gt; &amp; &lt;/i&gt; leak at Zorblat" in final["text"]
        assert 'href="https://zorblat.test/memo?a=1&amp;b=&lt;2&gt;"' in final["text"]
        link = [e for e in final["entities"] if e["type"] == "text_link"]
        assert link and link[0]["url"] == "https://zorblat.test/memo?a=1&b=<2>"
        assert any("&lt;" in d or "&amp;" in d for d in tg.drafts(USER))
        assert any("<" in d for d in tg.drafts(USER, plain=True))

        before = len(tg.sent(USER))
        tg.callback(USER, final["message_id"], buttons(final)["Sources"])
        await h.wait(lambda t: len(t.sent(USER)) > before)
        await h.settle(0.1)
        quoted = "\n".join(m["plain"] for m in tg.sent(USER)[before:])
        raw = "\n".join(m["text"] for m in tg.sent(USER)[before:])
        assert "<script>alert('x')</script>" in quoted and "</b>" in quoted
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in raw
        assert "<script>" not in raw

    h.run(scenario)
    assert_valid_html(tg)


# ---- 9. commands ---------------------------------------------------------------------------

@pytest.mark.parametrize("h", STORES, indirect=True)
def test_start_help_status_and_sources_commands(h: Harness) -> None:
    async def scenario() -> None:
        start = await h.reply_to(USER, "/start", contains="Hi!")
        assert "/help" in start["plain"] and "/new" in start["plain"]

        help_ = await h.reply_to(USER, "/help", contains="Ask a question")
        assert "What does “Musk and OpenAI” report?" in help_["plain"]
        assert "What does “Rice harvest” report?" in help_["plain"]
        assert "/sources" in help_["plain"] and "/add" not in help_["plain"]
        admin_help = await h.reply_to(ADMIN, "/help", contains="Ask a question")
        assert "/add URL" in admin_help["plain"] and "/sync" in admin_help["plain"]

        status = await h.reply_to(USER, "/status", contains="Articles")
        assert "Articles: 3" in status["plain"] and "Model: fake-llm" in status["plain"]
        assert "Embeddings: fake-hashing" in status["plain"]

        none_yet = await h.reply_to(USER, "/sources", contains="No answer")
        assert none_yet["plain"] == "No answer yet in this chat."
        await h.ask(USER, MUSK_Q)
        sources = await h.reply_to(USER, "/sources", contains="Quoted")
        assert "[1] Musk and OpenAI — Kabar, 2023-04-12 (cited)" in sources["plain"]
        assert MUSK in sources["plain"]

    h.run(scenario)
    assert_valid_html(h.tg)


# ---- 10. odd input -------------------------------------------------------------------------

def test_not_modified_on_an_edit_does_not_break_the_answer(h: Harness) -> None:
    tg = h.tg
    h.model.delay_s = 0.06
    tg.fail_next("editMessageText", 400, description=NOT_MODIFIED)

    async def scenario() -> None:
        _, final = await h.ask(USER, f"@{BOT_USERNAME} {MUSK_Q}", chat_id=GROUP)
        assert MUSK_A in final["plain"] and "Sources" in final["plain"]

    h.run(scenario)
    assert not [m for m in tg.sent(GROUP) if "Sorry" in m["plain"]]
    assert len(tg.sent(GROUP)) == 1
    assert len(tg.calls("editMessageText")) >= 2, "the refused edit was followed by others"


def test_edits_stickers_long_messages_and_forged_buttons(h: Harness) -> None:
    tg = h.tg

    async def scenario() -> None:
        asked, final = await h.ask(USER, MUSK_Q)
        sent = len(tg.sent(USER))
        tg.edited_message(USER, asked, "What about the frog?")
        tg.user_sticker(USER)
        await h.settle()
        assert len(tg.sent(USER)) == sent and h.model.questions() == [MUSK_Q]

        unknown = await h.reply_to(USER, "What is the capital of Mongolia?",
                                   contains="could not find")
        assert unknown["plain"] == NOT_FOUND and unknown["reply_markup"] is None
        assert h.model.questions() == [MUSK_Q], "no evidence, no model call"
        sent = len(tg.sent(USER))

        long = await h.reply_to(USER, "Why? " * 1000, contains="long message")
        assert long["plain"].startswith("That is a long message; please ask in under")
        assert h.model.questions() == [MUSK_Q]

        for data in ("src:nope", "xyz", "more:", "src:1:extra"):
            tg.callback(USER, final["message_id"], data)
        await h.wait(lambda t: len(t.callback_answers) == 4)
        assert [a.get("text") for a in tg.callback_answers] == [EXPIRED] * 4
        await h.settle(0.1)
        assert len(tg.sent(USER)) == sent + 1, "only the long-message notice was added"

    h.run(scenario)
    assert_valid_html(tg)


# ---- 11. start-up checks and the token in logs ---------------------------------------------

@pytest.fixture
def fake_runtime(monkeypatch: pytest.MonkeyPatch) -> FakeModel:
    """Engine.open loads the hashing embedder and the fake model instead of real ones."""
    model = FakeModel()

    def generator(settings: Settings, name: str | None = None) -> Generator:
        return model

    monkeypatch.setattr(runtime, "embedder", lambda settings: HashingEmbedder())
    monkeypatch.setattr(runtime, "generator", generator)
    return model


def test_prepare_needs_a_token_and_a_non_empty_index(tmp_path: Path,
                                                     fake_runtime: FakeModel) -> None:
    home = tmp_path / "home"
    for token in (None, SecretStr("")):
        settings = flat_settings(home=home, embed_model="fake-hashing", telegram_token=token)
        with pytest.raises(TanyaBotError, match="TANYA_TELEGRAM_TOKEN"):
            prepare(settings)
    settings = flat_settings(home=home, embed_model="fake-hashing", telegram_token=SecretStr(TOKEN))
    with pytest.raises(TanyaIndexError, match="tanya index sync"):
        prepare(settings)
    write_corpus(tmp_path / "articles")
    run_sync(settings.index_location, [str(tmp_path / "articles")], HashingEmbedder())
    remove(settings.index_location, ["musk", "rice", "frog"])
    with pytest.raises(TanyaBotError, match="tanya index sync"):
        prepare(settings)


@pytest.mark.parametrize("exc", [SystemExit(0), OSError(28, "No space left on device")],
                         ids=["system-exit-0", "disk-full"])
def test_a_failed_model_load_stops_the_start_with_an_error(
        exc: BaseException, tmp_path: Path, fake_runtime: FakeModel,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(settings: Settings, name: str | None = None) -> Generator:
        raise exc

    monkeypatch.setattr(runtime, "generator", broken)
    settings = flat_settings(home=tmp_path / "home", embed_model="fake-hashing",
                        telegram_token=SecretStr(TOKEN))
    write_corpus(tmp_path / "articles")
    run_sync(settings.index_location, [str(tmp_path / "articles")], HashingEmbedder())
    with pytest.raises(TanyaBotError, match=f"cannot load model {settings.model.name}: "
                                            f"{type(exc).__name__}"):
        prepare(settings)


def test_the_token_never_reaches_the_logs(tmp_path: Path, fake_runtime: FakeModel,
                                          caplog: pytest.LogCaptureFixture) -> None:
    write_corpus(tmp_path / "articles")
    httpx_level = logging.getLogger("httpx").level
    caplog.set_level(logging.DEBUG)
    try:
        with FakeTelegram(token=TOKEN) as tg:
            settings = make_settings(tmp_path, tg, telegram_token=SecretStr(TOKEN))
            run_sync(settings.index_location, [str(tmp_path / "articles")], HashingEmbedder())
            token, tanya = prepare(settings)
            assert token == TOKEN
            configure_logging(token)
            h = Harness(tg, fake_runtime, settings, tmp_path / "articles", caplog, tanya)

            async def scenario() -> None:
                await h.ask(USER, MUSK_Q)
                await h.reply_to(STRANGER, "hi", contains="private bot")
                logging.getLogger("tests.telegram").warning("calling %s/bot%s/getMe", tg.url, token)

            h.run(scenario)
    finally:
        logging.getLogger("httpx").setLevel(httpx_level)
    text = caplog.text
    assert "getUpdates" in text or "HTTP Request" in text or "Set Bot API URL" in text, \
        "the exchange was logged at all"
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    assert "<token>" in text


def test_a_stranger_flooding_500_messages_does_not_starve_an_allowed_user(h: Harness) -> None:
    tg = h.tg

    async def scenario() -> None:
        for n in range(500):
            tg.user_message(STRANGER, f"spam {n}")
        _, final = await h.ask(USER, MUSK_Q, timeout=30)
        assert "[1]" in final["plain"]
        await h.settle()

    h.run(scenario)
    assert len(tg.sent(STRANGER)) == 1, "one refusal, then silence"
    assert all(MUSK_Q in m[1]["content"] or "Musk" in m[1]["content"]
               for m in h.model.prompts if len(m) > 1)
    assert not any("spam" in str(m) for m in h.model.prompts), "no model call for the stranger"


def test_filters_typed_before_the_question_narrow_the_articles(h: Harness) -> None:
    async def scenario() -> None:
        bad = await h.reply_to(USER, "since:yesterday What happened?", contains="bad filter")
        assert "since:2023-04" in bad["plain"]
        _, kabar = await h.ask(USER, f'outlet:"kabar" {MUSK_Q}')
        assert MUSK_A in kabar["plain"] and "Searched the articles outlet kabar." in kabar["plain"]
        early = await h.reply_to(USER, f"until:2023-03 {MUSK_Q}", contains="until 2023-03-31")
        assert MUSK_A not in early["plain"]
        both = await h.reply_to(USER, f"since:2023-04 OUTLET:Kabar until:2023-04-30 {MUSK_Q}",
                                contains=MUSK_A)
        assert "since 2023-04-01, until 2023-04-30, outlet Kabar" in both["plain"]

    h.run(scenario)
    # until:2023-03 left no evidence, so only the two other questions reached the model
    assert h.model.questions() == [MUSK_Q, MUSK_Q]


class CountingModel(FakeModel):
    """FakeModel that records how many answers it wrote at the same time."""

    def __init__(self, delay_s: float) -> None:
        super().__init__(delay_s)
        self.active = self.peak = 0
        self._count_lock = threading.Lock()

    def stream(self, messages: Messages, max_tokens: int, **_: object) -> Iterator[str]:
        """Count this answer as active while its pieces are written."""
        with self._count_lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            yield from super().stream(messages, max_tokens)
        finally:
            with self._count_lock:
                self.active -= 1


@pytest.mark.parametrize("store", STORES)
def test_two_workers_answer_two_users_at_once_and_keep_each_users_order(
        store: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        request: pytest.FixtureRequest) -> None:
    folder = tmp_path / "articles"
    write_corpus(folder)
    with FakeTelegram(token=TOKEN) as tg:
        settings = make_settings(tmp_path, tg, telegram_workers=2,
                                 **state_settings(request, store))
        run_sync(settings.index_location, [str(folder)], HashingEmbedder())
        model = CountingModel(delay_s=0.05)
        h = Harness(tg, model, settings, folder, caplog)

        async def scenario() -> None:
            tg.user_message(USER, MUSK_Q)
            tg.user_message(USER, "Who refused him?")  # needs the answer before it
            tg.user_message(OTHER, MUSK_Q)  # taken by the worker the follow-up does not hold
            await h.wait(lambda t: len(finals(t, USER)) == 2 and len(finals(t, OTHER)) == 1)
            first, second = finals(tg, USER)
            assert MUSK_A in first["plain"] and MUSK_A in finals(tg, OTHER)[0]["plain"]
            assert "Altman and the other founders refused [1]." in second["plain"]

        h.run(scenario)
        assert model.peak == 2, "two answers were written at the same time"
        assert h.bot().workers == 2
        h.bot().engine.close()
