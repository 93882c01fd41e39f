"""The Sources and More buttons under an answer: what they show, from the kept answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from telegram import Update
from telegram.ext import ContextTypes

from bot.engine import Engine
from bot.telegram import render as tr
from bot.telegram.memory import ConversationStore
from index.search import search

EXPIRED = "This button has expired; ask again."


class Buttons:
    """The handler of button presses; forged or expired data gets a short notice."""

    def __init__(self, engine: Engine, conversations: ConversationStore,
                 gate: Callable[[Update], Awaitable[bool]],
                 send_blocks: Callable[[int, Sequence[str]], Awaitable[None]]) -> None:
        self.engine, self.conversations = engine, conversations
        self.gate, self.send_blocks = gate, send_blocks

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Sources: the answer's quoted passages; More: further hits for its question."""
        query = update.callback_query
        if query is None or not await self.gate(update):
            return
        kind, _, key = (query.data or "").partition(":")
        kept = await asyncio.to_thread(self.conversations.answer, key)  # a round trip in PG
        if kind not in ("src", "more") or kept is None or query.message is None:
            await query.answer(EXPIRED)
            return
        await query.answer()
        chat_id = query.message.chat.id
        if kind == "src":
            await self.send_blocks(chat_id, kept.sources)
            return
        shown = set(kept.shown)
        store = self.engine.store()
        hits = await asyncio.to_thread(search, store, self.engine.embedder, kept.question,
                                       8 + len(shown), self.engine.answer_settings.search)
        await self.send_blocks(chat_id, tr.hits_blocks(
            [h for h in hits if h.chunk_id not in shown][:5]))
