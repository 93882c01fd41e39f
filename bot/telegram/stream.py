"""Show one answer in Telegram as it is produced, then the final checked message.

Private chats get a native draft (Bot API sendMessageDraft) that is replaced by the final
message; groups, or chats where drafts fail, get one message that is edited at most once per
interval and only when its text changed. Flood control (RetryAfter) pauses updates; the final
message is always delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.pipeline.answer import Answer
from bot.pipeline.evidence import Evidence
from bot.telegram import render as tr

log = logging.getLogger(__name__)
T = TypeVar("T")
_draft_ids = itertools.count(1)


def retry_seconds(exc: RetryAfter) -> float:
    """Seconds to wait, whether the library gives an int or a timedelta."""
    value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def with_retry(call: Callable[[], Awaitable[T]], attempts: int = 5) -> T:
    """Run a Bot API call, waiting out flood control (429) and brief network failures.

    A network error may hide a message that did arrive, so a retry can rarely duplicate it;
    losing an answer would be worse.
    """
    for attempt in range(attempts):
        try:
            return await call()
        except RetryAfter as exc:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(retry_seconds(exc))
        except BadRequest:
            raise  # a subclass of NetworkError, but retrying cannot fix a rejected request
        except NetworkError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


class AnswerStream:
    """The live view of one answer in one chat."""

    def __init__(self, bot: Bot, chat_id: int, *, private: bool, reply_to: int | None,
                 interval_s: float) -> None:
        self._bot, self._chat, self._reply_to = bot, chat_id, reply_to
        self._use_draft = private
        self._draft_id = next(_draft_ids)
        self._interval = interval_s
        self._evidence: Sequence[Evidence] = ()
        self._draft = ""
        self._shown = ""
        self._message: Message | None = None
        self._paused_until = 0.0
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin pushing updates."""
        self._task = asyncio.create_task(self._pump())

    def evidence(self, evidence: Sequence[Evidence]) -> None:
        """Called (on the loop) when the evidence is known."""
        self._evidence = evidence
        self._changed.set()

    def token(self, piece: str) -> None:
        """Called (on the loop) for every piece of the model's draft."""
        self._draft += piece
        self._changed.set()

    async def _pump(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            wait = max(self._paused_until - time.monotonic(), 0.0)
            await asyncio.sleep(wait)
            await self._push(tr.draft_html(self._evidence, self._draft))
            await asyncio.sleep(self._interval)

    async def _push(self, text: str) -> None:
        if text == self._shown:
            return
        try:
            if self._use_draft:
                await self._bot.send_message_draft(self._chat, self._draft_id, text,
                                                   parse_mode=ParseMode.HTML)
            elif self._message is None:
                self._message = await self._bot.send_message(
                    self._chat, text, parse_mode=ParseMode.HTML,
                    reply_to_message_id=self._reply_to)
            else:
                await self._message.edit_text(text, parse_mode=ParseMode.HTML)
            self._shown = text
        except RetryAfter as exc:
            self._paused_until = time.monotonic() + retry_seconds(exc)
            self._changed.set()
        except BadRequest as exc:
            if self._use_draft:  # drafts unavailable here: fall back to an edited message
                log.info("drafts unavailable in chat %s (%s); editing a message", self._chat, exc)
                self._use_draft = False
                self._changed.set()
            elif "not modified" not in str(exc).lower():
                log.warning("could not update the answer in chat %s: %s", self._chat, exc)
        except TelegramError as exc:  # updates are best effort; the final message is what counts
            log.warning("could not update the answer in chat %s: %s", self._chat, exc)

    async def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def finish(self, answer: Answer, markup: InlineKeyboardMarkup | None) -> Message:
        """Stop streaming and deliver the checked answer (split if long); returns its last part."""
        await self._stop()
        return await self._deliver(tr.pack(tr.answer_blocks(answer)), markup)

    async def finish_text(self, text: str) -> Message:
        """Stop streaming and deliver a plain notice instead of an answer."""
        await self._stop()
        return await self._deliver([tr.esc(text)], None)

    async def _deliver(self, parts: list[str], markup: InlineKeyboardMarkup | None) -> Message:
        last: Message | None = None
        for i, part in enumerate(parts):
            buttons = markup if i == len(parts) - 1 else None
            if i == 0 and self._message is not None:
                last = await self._edit_or_send(self._message, part, buttons)
            else:
                last = await self._send(part, buttons)
        assert last is not None
        return last

    async def _send(self, text: str, markup: InlineKeyboardMarkup | None) -> Message:
        return await with_retry(lambda: self._bot.send_message(
            self._chat, text, parse_mode=ParseMode.HTML, reply_markup=markup,
            reply_to_message_id=self._reply_to))

    async def _edit_or_send(self, message: Message, text: str,
                            markup: InlineKeyboardMarkup | None) -> Message:
        try:
            edited = await with_retry(lambda: message.edit_text(
                text, parse_mode=ParseMode.HTML, reply_markup=markup))
            return edited if isinstance(edited, Message) else message
        except TelegramError as exc:
            log.warning("final edit failed in chat %s (%s); sending a new message", self._chat,
                        exc)
            return await self._send(text, markup)
