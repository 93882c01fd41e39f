"""`tanya telegram`: a thin Telegram front end over the answer pipeline.

All retrieval and prompting stays in bot/pipeline/answer.py; this module parses updates, enforces
access and rate limits, queues questions for the single model, and presents answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Sequence
from dataclasses import replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.config import Settings
from bot.engine import Engine
from bot.errors import GenerationError, TanyaBotError
from bot.pipeline.answer import Events
from bot.pipeline.evidence import Evidence
from bot.telegram import prefix
from bot.telegram import render as tr
from bot.telegram.access import REFUSAL, SLOW_DOWN, Access
from bot.telegram.admin import Admin
from bot.telegram.buttons import Buttons
from bot.telegram.commands import Commands
from bot.telegram.jobs import FairQueue, Job
from bot.telegram.memory import BotState, open_state
from bot.telegram.stream import AnswerStream, with_retry
from index.errors import FilterError, TanyaIndexError

log = logging.getLogger(__name__)

_MAX_QUESTION = 1000
MODEL_FAILED = "Sorry, the model server failed while answering. Please ask again."
ORDER_POLL_S = 0.1  # how soon a question held back by the user's earlier one is tried again


def file_url(api_url: str) -> str:
    """The file download base of a Bot API server: .../bot -> .../file/bot (last one only)."""
    head, sep, tail = api_url.rpartition("/bot")
    return f"{head}/file/bot{tail}" if sep else api_url


def answer_buttons(key: str) -> InlineKeyboardMarkup:
    """The buttons under an answer: its quoted passages, and further hits."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton("Sources", callback_data=f"src:{key}"),
        InlineKeyboardButton("More", callback_data=f"more:{key}")]])


class TanyaBot:
    """Handlers and the question queue of one bot process."""

    def __init__(self, engine: Engine, settings: Settings, state: BotState | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.access = Access(settings.telegram.allowed, settings.telegram.admins,
                             settings.telegram.rate_per_minute)
        self.queue = FairQueue(settings.telegram.queue_size)
        self.busy = 0
        self.workers = settings.telegram.workers or 2 * len(settings.llm_urls) or 1
        self.state = state or open_state(settings, engine.answer_settings.history_turns)
        self.conversations, self.order = self.state.conversations, self.state.order
        self._accepting = asyncio.Lock()  # a process numbers a user's questions as it queues them
        self._tasks: list[asyncio.Task[None]] = []

    async def _gate(self, update: Update) -> bool:
        """True when the sender may use the bot; otherwise refuse politely (rate-limited)."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return False
        if self.access.may_ask(user.id, chat.id):
            return True
        if update.callback_query is not None:
            await update.callback_query.answer(REFUSAL.format(uid=user.id), show_alert=True)
        elif update.effective_message is not None and self.access.refuse_aloud(user.id):
            await update.effective_message.reply_text(REFUSAL.format(uid=user.id))
        return False

    # ---- questions -----------------------------------------------------------------------
    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any text in a private chat, or a mention / reply in a group, is a question."""
        msg = update.effective_message
        if msg is None or not msg.text or update.edited_message is not None:
            return
        private = msg.chat.type == ChatType.PRIVATE
        question = msg.text
        if not private:
            me = context.bot.username or ""
            mentioned = f"@{me}".lower() in question.lower()
            replied = (msg.reply_to_message is not None and msg.reply_to_message.from_user
                       is not None and msg.reply_to_message.from_user.id == context.bot.id)
            if not (mentioned or replied):
                return
            question = re.sub(rf"@{re.escape(me)}\b", "", question, flags=re.I).strip()
        if not await self._gate(update):
            return
        try:
            filters, question = prefix.split(" ".join(question.split()))
        except FilterError as exc:
            await msg.reply_text(f"{exc} (filters look like since:2023-04 until:2023-12 "
                                 'outlet:"Tech Review"; /help has more)')
            return
        if not question:
            await msg.reply_text("Ask me a question about the articles.")
            return
        if len(question) > _MAX_QUESTION:
            await msg.reply_text(f"That is a long message; please ask in under {_MAX_QUESTION} "
                                 "characters.")
            return
        assert update.effective_user is not None
        if not self.access.within_rate(update.effective_user.id):
            await msg.reply_text(SLOW_DOWN)
            return
        await self.enqueue(Job(msg.chat_id, update.effective_user.id, question, private,
                               None if private else msg.message_id, filters), msg)

    async def enqueue(self, job: Job, msg: Message) -> None:
        """Queue a question and tell the asker their place when they have to wait."""
        try:
            async with self._accepting:
                job = replace(job, seq=await asyncio.to_thread(self.order.take, job.user_id,
                                                               job.chat_id))
                # counted as it is queued, with no await between: the place it is told is true
                ahead = self.queue.ahead(job.user_id) + (1 if self.busy >= self.workers else 0)
                self.queue.put_nowait(job)
        except asyncio.QueueFull:
            await asyncio.to_thread(self.order.done, job.user_id, job.seq)
            await msg.reply_text("I am busy with many questions; please ask again in a few "
                                 "minutes.")
            return
        await msg.get_bot().send_chat_action(job.chat_id, ChatAction.TYPING)
        if ahead:
            at_once = "one question" if self.workers == 1 else f"{self.workers} questions"
            await msg.reply_text(f"You are number {ahead + 1} in the queue; I answer {at_once} "
                                 "at a time.")

    async def worker(self) -> None:
        """Answer queued questions in the queue's fair order (the model runs off the loop); a
        question whose asker has an earlier one still being answered by another process goes
        back to wait, and this worker takes someone else's."""
        while True:
            job = await self.queue.get()
            try:
                ready = await asyncio.to_thread(self.order.ready, job.user_id, job.seq)
            except TanyaIndexError as exc:  # the database is away: answer rather than stall
                log.warning("cannot check the order of user %s's questions: %s", job.user_id, exc)
                ready = True
            if not ready:
                self.queue.hold(job)
                asyncio.get_running_loop().call_later(ORDER_POLL_S, self.queue.release,
                                                      job.user_id)
                continue
            await self._run(job)

    async def _run(self, job: Job) -> None:
        self.busy += 1
        try:
            await self._answer(job)
        except Exception:
            log.exception("answering a question in chat %s failed", job.chat_id)
            try:  # e.g. the user blocked the bot: the worker must go on for the others
                await self._say(job.chat_id, "Sorry, something went wrong while answering. "
                                "Please try again.", job.reply_to)
            except TelegramError as exc:
                log.warning("could not apologise in chat %s: %s", job.chat_id, exc)
        finally:
            self.busy -= 1
            try:
                await asyncio.to_thread(self.order.done, job.user_id, job.seq)
            except TanyaIndexError as exc:
                log.warning("cannot mark user %s's question done: %s", job.user_id, exc)
            self.queue.done(job)

    async def _answer(self, job: Job) -> None:
        app_bot = self.app.bot
        loop = asyncio.get_running_loop()
        stream = AnswerStream(app_bot, job.chat_id, private=job.private, reply_to=job.reply_to,
                              interval_s=self.settings.telegram.stream_interval_s)
        stream.start()

        def on_evidence(evidence: Sequence[Evidence]) -> None:
            loop.call_soon_threadsafe(stream.evidence, evidence)

        def on_token(piece: str) -> None:
            loop.call_soon_threadsafe(stream.token, piece)

        events = Events(on_evidence=on_evidence, on_token=on_token)
        history = await asyncio.to_thread(self.conversations.history, job.chat_id)
        try:
            answer = await asyncio.to_thread(self.engine.ask, job.question, history, events,
                                             job.filters)
        except GenerationError as exc:  # the partial draft is replaced, never kept as checked
            log.error("the model failed in chat %s: %s", job.chat_id, exc)
            await stream.finish_text(MODEL_FAILED)
            return
        except (TanyaBotError, TanyaIndexError) as exc:
            log.error("cannot answer in chat %s: %s", job.chat_id, exc)
            await stream.finish_text("Sorry, I cannot answer right now: the model or the index "
                                     "is unavailable.")
            return
        key = await asyncio.to_thread(self.conversations.add, job.chat_id, answer)
        await stream.finish(answer, answer_buttons(key) if answer.evidence else None)

    async def _say(self, chat_id: int, text: str, reply_to: int | None = None) -> None:
        await with_retry(lambda: self.app.bot.send_message(chat_id, text,
                                                           reply_to_message_id=reply_to))

    async def send_blocks(self, chat_id: int, blocks: Sequence[str]) -> None:
        """Send formatted blocks, packed into as few messages as Telegram allows."""
        for part in tr.pack(blocks):
            await self._send_html(chat_id, part)

    async def _send_html(self, chat_id: int, text: str) -> None:
        await with_retry(lambda: self.app.bot.send_message(
            chat_id, text, parse_mode=ParseMode.HTML, disable_web_page_preview=True))

    # ---- wiring ------------------------------------------------------------------------------
    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the traceback; tell the user politely."""
        log.error("error while handling an update", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await context.bot.send_message(update.effective_chat.id,
                                               "Sorry, something went wrong. Please try again.")
            except Exception:  # the error may be the network itself
                log.warning("could not send the error notice")

    async def post_init(self, app: Application) -> None:  # type: ignore[type-arg]
        """Start the workers once the application runs."""
        self._tasks = [asyncio.create_task(self.worker()) for _ in range(self.workers)]

    async def post_stop(self, app: Application) -> None:  # type: ignore[type-arg]
        """Stop the workers while the bot can still talk (shutdown closes its HTTP client)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def post_shutdown(self, app: Application) -> None:  # type: ignore[type-arg]
        """Stop the worker if the application was never stopped (e.g. a failed start)."""
        await self.post_stop(app)
        self.state.close()

    def build(self, token: str) -> Application:  # type: ignore[type-arg]
        """The python-telegram-bot Application with every handler registered."""
        builder = ApplicationBuilder().token(token).concurrent_updates(True)
        if self.settings.telegram.api_url:
            builder = builder.base_url(self.settings.telegram.api_url) \
                .base_file_url(file_url(self.settings.telegram.api_url))
        app = builder.post_init(self.post_init).post_stop(self.post_stop) \
            .post_shutdown(self.post_shutdown).build()
        self.app = app
        admin = Admin(self.engine, self.settings, self.access, self._gate)
        cmds = Commands(self.engine, self.access, self.conversations, self._gate,
                        self.send_blocks, self.queue.qsize)
        buttons = Buttons(self.engine, self.conversations, self._gate, self.send_blocks)
        for name, handler in (("start", cmds.cmd_start), ("help", cmds.cmd_help),
                              ("new", cmds.cmd_new), ("sources", cmds.cmd_sources),
                              ("status", cmds.cmd_status), ("add", admin.cmd_add),
                              ("sync", admin.cmd_sync)):
            app.add_handler(CommandHandler(name, handler))
        app.add_handler(CallbackQueryHandler(buttons.on_button))
        app.add_handler(MessageHandler(filters.Document.ALL, admin.on_document))
        app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT
                                       & ~filters.COMMAND, self.on_text))
        app.add_error_handler(self.on_error)
        return app
