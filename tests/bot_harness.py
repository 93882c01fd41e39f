"""Run the real bot Application against FakeTelegram, the way run_polling would."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.telegram.app import TanyaBot
from tests.fake_telegram import FakeTelegram


async def serve(tanya: TanyaBot, token: str, scenario: Callable[[], Awaitable[None]]) -> None:
    """The lifecycle of Application.run_polling, around a scenario."""
    app = tanya.build(token)
    async with app:
        await tanya.post_init(app)  # run_polling calls it; starts the question worker
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        await app.start()
        try:
            await scenario()
        finally:
            await app.updater.stop()
            await app.stop()
            await tanya.post_stop(app)
    await tanya.post_shutdown(app)


def replies(tg: FakeTelegram, chat_id: int) -> list[dict[str, Any]]:
    """The bot's messages in a chat that end a question (an answer, a refusal or an error),
    leaving out the notices of a place in the queue."""
    return [m for m in tg.sent(chat_id) if is_reply(m)]


def is_reply(message: dict[str, Any]) -> bool:
    """A sent message that ends a question, not a queue notice."""
    return "in the queue" not in message["plain"]
