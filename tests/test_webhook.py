"""Webhook mode: `tanya telegram` registers a secret, and a POST without it is refused.

The bot runs through bot.telegram.main.run, as `tanya telegram` does (Application.run_webhook,
its tornado server on a free loopback port), against FakeTelegram; the test plays Telegram's
part by POSTing updates to the webhook, with and without the secret header.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import stat
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from bot import runtime
from bot.cli.app import app
from bot.cli.common import EXIT_ERROR
from bot.config import Settings
from bot.errors import ConfigError
from bot.pipeline.llm import Generator
from bot.telegram import main, webhook
from tests.conftest import flat_settings, run_sync
from tests.fake_telegram import FakeTelegram
from tests.fakes import HashingEmbedder
from tests.test_telegram import (
    MUSK_A,
    MUSK_Q,
    TOKEN,
    USER,
    FakeModel,
    finals,
    make_settings,
    write_corpus,
)

HEADER = "X-Telegram-Bot-Api-Secret-Token"


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(url: str, update: dict[str, Any], secret: str | None) -> int:
    """POST one update the way Telegram does; the HTTP status."""
    headers = {"Content-Type": "application/json", **({HEADER: secret} if secret else {})}
    request = urllib.request.Request(url, json.dumps(update).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def fake_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    """Engine.open gets the hashing embedder and the scripted model."""
    def generator(settings: Settings, name: str | None = None) -> Generator:
        return FakeModel()

    monkeypatch.setattr(runtime, "embedder", lambda settings: HashingEmbedder())
    monkeypatch.setattr(runtime, "generator", generator)


def test_a_webhook_update_without_the_secret_is_refused_and_never_answered(
        tmp_path: Path, fake_runtime: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    write_corpus(tmp_path / "articles")
    port = free_port()
    seen: dict[str, Any] = {}
    failed: list[BaseException] = []
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # run_webhook takes it; the player stops it from its thread

    def play(tg: FakeTelegram) -> None:
        try:
            tg.wait_for(lambda t: bool(t.webhook), timeout=30)
            hook = f"http://127.0.0.1:{port}/telegram"
            registered = str(tg.webhook.get("secret_token") or "")
            seen["webhook"] = tg.webhook
            tg.user_message(USER, MUSK_Q)
            [forged] = tg.take_updates()
            for attempt in range(100):  # the server may come up just after setWebhook
                try:
                    seen["no header"] = post(hook, forged, None)
                    break
                except OSError:
                    time.sleep(0.1 * (attempt < 99))
            seen["wrong"] = post(hook, {**forged, "update_id": forged["update_id"] + 1},
                                 "wrong-secret")
            time.sleep(1.0)
            seen["sent after forged"] = tg.sent(USER) + [{"draft": d} for d in tg.drafts(USER)]
            tg.user_message(USER, MUSK_Q)
            [real] = tg.take_updates()
            seen["right"] = post(hook, real, registered)
            tg.wait_for(lambda t: len(finals(t, USER)) == 1, timeout=20)
            seen["answer"] = finals(tg, USER)[0]["plain"]
        except BaseException as exc:
            failed.append(exc)
        finally:
            # RuntimeError: the bot already ended (a failed start), nothing to stop
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)

    with FakeTelegram(token=TOKEN) as tg:
        settings = make_settings(
            tmp_path, tg, telegram_token=SecretStr(TOKEN), telegram_webhook_listen="127.0.0.1",
            telegram_webhook_port=port, telegram_webhook_url="https://bot.example.org/hook/")
        run_sync(settings.index_dir, [str(tmp_path / "articles")], HashingEmbedder())
        player = threading.Thread(target=play, args=(tg,), daemon=True)
        player.start()
        try:
            main.run(settings)
        finally:
            asyncio.set_event_loop(None)
            player.join(60)
    if failed:
        raise failed[0]
    secret_file = settings.home / webhook.SECRET_FILE
    registered = seen["webhook"]["secret_token"]
    assert seen["webhook"]["url"] == "https://bot.example.org/hook/telegram"
    assert registered == secret_file.read_text(encoding="ascii").strip()
    assert len(registered) >= 32, "generated with the secrets module"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert (seen["no header"], seen["wrong"]) == (403, 403)
    assert seen["sent after forged"] == [], "a forged update reached the bot"
    assert seen["right"] == 200 and MUSK_A in seen["answer"]
    assert registered not in caplog.text and TOKEN not in caplog.text


def test_the_generated_secret_is_made_once_and_shared(tmp_path: Path) -> None:
    settings = flat_settings(home=tmp_path / "home")
    with ThreadPoolExecutor(8) as pool:  # processes starting together race for the file
        found = set(pool.map(lambda _: webhook.secret(settings), range(16)))
    assert len(found) == 1
    assert [p.name for p in (tmp_path / "home").iterdir()] == [webhook.SECRET_FILE]
    path = tmp_path / "home" / webhook.SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert webhook.secret(settings) == found.pop()
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match=r"telegram-webhook-secret may be read by others "
                                          r"\(mode 0644\); run `chmod 600"):
        webhook.secret(settings)
    path.write_text("not a valid secret!\n")
    os.chmod(path, 0o600)
    with pytest.raises(ConfigError, match="holds no valid webhook secret"):
        webhook.secret(settings)


def test_a_given_secret_is_used_and_checked_without_being_echoed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given = flat_settings(home=tmp_path / "home", telegram_webhook_secret=SecretStr("Abc_09-" * 30))
    assert webhook.secret(given) == "Abc_09-" * 30
    assert not (tmp_path / "home").exists(), "nothing written when the secret is given"
    monkeypatch.setenv("TANYA_TELEGRAM_WEBHOOK_SECRET", "")
    assert Settings().telegram.webhook_secret is None, "empty means unset"
    for bad in ("has spaces in it", "x" * 257, "ünïcode"):
        monkeypatch.setenv("TANYA_TELEGRAM_WEBHOOK_SECRET", bad)
        result = CliRunner().invoke(app, ["telegram"])
        assert result.exit_code == EXIT_ERROR
        assert result.stderr == ("error: TANYA_TELEGRAM_WEBHOOK_SECRET: must be 1-256 characters "
                                 "of A-Z, a-z, 0-9, _ and - (Telegram's rule for a webhook "
                                 "secret)\n")
        assert bad not in result.output
