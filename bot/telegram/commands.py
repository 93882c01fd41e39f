"""The bot's commands for everyone: /start, /help, /new, /sources and /status."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.engine import Engine
from bot.telegram import render as tr
from bot.telegram.access import Access
from bot.telegram.memory import ConversationStore


class Commands:
    """Handlers that read the index and the chat's memory; each checks access first."""

    def __init__(self, engine: Engine, access: Access, conversations: ConversationStore,
                 gate: Callable[[Update], Awaitable[bool]],
                 send_blocks: Callable[[int, Sequence[str]], Awaitable[None]],
                 waiting: Callable[[], int]) -> None:
        self.engine, self.access, self.conversations = engine, access, conversations
        self.gate, self.send_blocks, self.waiting = gate, send_blocks, waiting

    async def cmd_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Greeting with how to ask."""
        if not await self.gate(update) or update.effective_message is None:
            return
        await update.effective_message.reply_text(
            "Hi! Ask me anything about the articles in my index, in any language. I answer "
            "with quoted, checked sources. /help shows examples, /new starts a new topic.")

    async def cmd_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Commands and example questions drawn from the index."""
        if not await self.gate(update) or update.effective_message is None:
            return
        stored = sorted(self.engine.store().articles(),
                        key=lambda s: s.article.published or "", reverse=True)[:3]
        examples = "\n".join(f"• What does “{tr.esc(s.article.title)}” report?"
                             for s in stored if s.article.title)
        text = ("<b>Ask a question</b> in any language; in groups, mention me or reply to me.\n"
                f"{examples}\n\n<b>Only some articles</b>: start with since:, until: or outlet:, "
                "e.g. <code>since:2023-04 outlet:\"Tech Review\" How many GPUs?</code> "
                "(dates as YYYY, YYYY-MM or YYYY-MM-DD; outlet may repeat)\n\n"
                "/new — start a new topic\n/sources — sources of my last answer\n"
                "/status — what is in the index")
        if update.effective_user is not None and self.access.is_admin(update.effective_user.id):
            text += "\n/add URL — add an article (or send me a file)\n/sync — sync the folders"
        await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)

    async def cmd_new(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Forget the conversation in this chat."""
        if not await self.gate(update) or update.effective_message is None:
            return
        await asyncio.to_thread(self.conversations.forget, update.effective_message.chat_id)
        await update.effective_message.reply_text("Starting a new topic.")

    async def cmd_sources(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The passages behind the last answer in this chat."""
        if not await self.gate(update) or update.effective_message is None:
            return
        chat_id = update.effective_message.chat_id
        kept = await asyncio.to_thread(self.conversations.last, chat_id)
        if kept is None:
            await update.effective_message.reply_text("No answer yet in this chat.")
            return
        await self.send_blocks(chat_id, kept.sources)

    async def cmd_status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Articles, chunks, model and last sync."""
        if not await self.gate(update) or update.effective_message is None:
            return
        m = self.engine.store().meta
        await update.effective_message.reply_text(
            f"Articles: {m.articles}\nChunks: {m.chunks}\nModel: {self.engine.generator.name}\n"
            f"Embeddings: {m.embed_model}\nLast sync: {m.last_sync or 'never'}\n"
            f"Waiting questions: {self.waiting()}")
