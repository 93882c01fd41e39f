"""Run the real bot Application against FakeTelegram, the way run_polling would."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.telegram.app import TanyaBot


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
