"""Start-up of `tanya telegram`: check settings, load everything once, then poll or serve."""

from __future__ import annotations

import logging
import sys

from telegram import Update

from bot.config import Settings
from bot.engine import Engine, PendingGenerator
from bot.errors import TanyaBotError
from bot.telegram import webhook
from bot.telegram.app import TanyaBot
from bot.telegram.memory import open_state


class RedactSecrets(logging.Filter):
    """Replace the bot token and other secrets wherever a log line would show them."""

    def __init__(self, token: str, *others: str) -> None:
        super().__init__()
        self._masks = {token: "<token>", **{s: "<secret>" for s in others if s}}

    def _mask(self, text: str) -> str:
        for value, mask in self._masks.items():
            text = text.replace(value, mask)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite message and traceback with the secrets masked; never drop a record."""
        message = record.getMessage()
        masked = self._mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info:  # HTTP errors carry the request URL, token included
            record.exc_text = self._mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure_logging(token: str, *others: str) -> None:
    """Plain INFO logging with the secrets redacted; httpx request lines only on warnings."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactSecrets(token, *others))
    logging.getLogger("httpx").setLevel(logging.WARNING)


def prepare(settings: Settings) -> tuple[str, TanyaBot]:
    """Check the token and index, load the models, build the bot (before any polling)."""
    if settings.telegram.token is None or not settings.telegram.token.get_secret_value():
        raise TanyaBotError("TANYA_TELEGRAM_TOKEN is not set; create a bot with @BotFather "
                            "and export its token")
    token = settings.telegram.token.get_secret_value()
    # the conversations' store first: a database that is down is one line, before any model load
    state = open_state(settings, settings.answering().history_turns)
    try:
        engine = Engine.open(settings,
                             notify=lambda line: print(line, file=sys.stderr, flush=True))
    except BaseException:
        state.close()
        raise
    try:
        if engine.store().meta.articles == 0:
            raise TanyaBotError(f"the index at {settings.index_location} is empty; add articles "
                                "with `tanya index sync FOLDER` first")
        if isinstance(engine.generator, PendingGenerator):
            engine.generator.ready()  # load the model now, not on the first question
    except BaseException:
        engine.close()
        state.close()
        raise
    return token, TanyaBot(engine, settings, state)


def run(settings: Settings) -> None:
    """Run the bot until interrupted: long polling, or a webhook when one is configured."""
    token, bot = prepare(settings)
    hook_secret = webhook.secret(settings) if settings.telegram.webhook_url else ""
    api_key = settings.model.api_key.get_secret_value() if settings.model.api_key else ""
    configure_logging(token, hook_secret, api_key)
    app = bot.build(token)
    if not settings.telegram.allowed and not settings.telegram.admins:
        logging.getLogger(__name__).warning(
            "TANYA_TELEGRAM_ALLOWED is empty: everyone is refused (they are told their id)")
    if settings.telegram.webhook_url:
        # python-telegram-bot answers 403 to a POST without this secret in its header
        app.run_webhook(listen=settings.telegram.webhook_listen,
                        port=settings.telegram.webhook_port, url_path="telegram",
                        webhook_url=settings.telegram.webhook_url.rstrip("/") + "/telegram",
                        secret_token=hook_secret, allowed_updates=Update.ALL_TYPES)
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
