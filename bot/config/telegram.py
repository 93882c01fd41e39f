"""The Telegram bot's group of settings, TANYA_TELEGRAM_* (bot.config.flat: the names)."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, SecretStr, field_validator

from bot.config.flat import CommaIds, CommaList, prefixed

# What Telegram accepts as a webhook secret_token.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class TelegramGroup(BaseModel):
    """The bot's token, who may use it, how it is reached and how much it takes on."""

    model_config = prefixed("telegram_")

    token: SecretStr | None = Field(None, description=(
        "Bot token from @BotFather; needed only by `tanya telegram`."))
    allowed: CommaIds = Field(default_factory=list, description=(
        "User and chat ids allowed to ask, comma-separated; everyone else is refused."))
    admins: CommaIds = Field(default_factory=list, description=(
        "User ids that may also /add, /sync and upload articles, comma-separated."))
    api_url: str | None = Field(None, description=(
        "Bot API base URL the token is appended to, for a self-hosted Bot API server "
        "(e.g. http://localhost:8081/bot)."))
    webhook_url: str | None = Field(None, description=(
        "Public HTTPS URL for webhook mode; unset means long polling."))
    webhook_secret: SecretStr | None = Field(None, description=(
        "Secret Telegram sends with every webhook update (1-256 of A-Z a-z 0-9 _ -); updates "
        "without it are refused. Unset: one is generated once into "
        "TANYA_HOME/telegram-webhook-secret (mode 0600) and shared by the bot processes."))
    webhook_listen: str = Field("0.0.0.0", description="Webhook listen address.")
    webhook_port: int = Field(8443, description="Webhook listen port.")
    queue_size: int = Field(50, ge=1, description="Questions waiting for the model.")
    workers: int | None = Field(None, ge=1, description=(
        "Questions answered at once: by default 1 with the in-process model (it answers one at "
        "a time anyway) and 2 per server in TANYA_LLM_URL. A user's own questions stay in "
        "order."))
    conversation_hours: float = Field(168.0, gt=0, description=(
        "How long a chat's turns and the answers behind its Sources / More buttons are kept "
        "(in conversations.db under TANYA_HOME, or in the database of TANYA_DATABASE_URL; "
        "they survive a restart)."))
    rate_per_minute: int = Field(6, ge=1, description="Questions per user per minute.")
    stream_interval_s: float = Field(1.0, gt=0, description=(
        "Least time between two updates of a streamed answer, seconds."))
    sync_paths: CommaList = Field(default_factory=list, description=(
        "Folders or feeds that an admin's /sync mirrors, comma-separated."))

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None  # an empty line in .env means unset: one is generated
        if not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's "
                             "rule for a webhook secret)")
        return value
