"""Admin commands of the Telegram bot: /add URL, file uploads and /sync change the index."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot.config import Settings
from bot.engine import Engine
from bot.telegram.access import Access
from index.errors import TanyaIndexError
from index.sync import add as add_sources
from index.sync import sync as sync_sources

UPLOAD_TYPES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}


class Admin:
    """Handlers that add or sync articles; only admins get past `_admin`."""

    def __init__(self, engine: Engine, settings: Settings, access: Access,
                 gate: Callable[[Update], Awaitable[bool]]) -> None:
        self.engine, self.settings, self.access, self.gate = engine, settings, access, gate

    async def _admin(self, update: Update) -> Message | None:
        msg, user = update.effective_message, update.effective_user
        if msg is None or user is None or not await self.gate(update):
            return None
        if not self.access.is_admin(user.id):
            await msg.reply_text("Only admins can add or sync articles.")
            return None
        return msg

    async def cmd_add(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/add URL: fetch and index one article (admins)."""
        msg = await self._admin(update)
        if msg is None:
            return
        args = context.args or []
        if len(args) != 1 or not re.match(r"https?://\S+$", args[0]):
            await msg.reply_text("Usage: /add https://example.org/story.html")
            return
        await self._index([args[0]], msg)

    async def on_document(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A file from an admin becomes an article (txt, md, html, pdf)."""
        msg = await self._admin(update)
        if msg is None or msg.document is None:
            return
        name = Path(msg.document.file_name or "upload.txt").name
        if Path(name).suffix.lower() not in UPLOAD_TYPES:
            await msg.reply_text("I can add .txt, .md, .html and .pdf files.")
            return
        limit = self.engine.settings.source_limits().max_bytes
        size, tg_file = msg.document.file_size, None
        if size is None:  # optional in the Bot API; the file's record may still say
            tg_file = await msg.document.get_file()
            size = tg_file.file_size
        if size is None or size > limit:  # refused before anything is written
            await msg.reply_text("I cannot tell how big that file is." if size is None else
                                 f"That file is over the "
                                 f"{self.settings.sources.max_source_mb:g} MB limit.")
            return
        folder = self.settings.home / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^\w.-]", "_", name)
        target = folder / f"{msg.document.file_unique_id}-{safe}"
        await (tg_file or await msg.document.get_file()).download_to_drive(target)
        await self._index([str(target)], msg)

    async def cmd_sync(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/sync: mirror the configured folders and feeds (admins)."""
        msg = await self._admin(update)
        if msg is None:
            return
        paths = self.settings.telegram.sync_paths
        if not paths:
            await msg.reply_text("No folders to sync: set TANYA_TELEGRAM_SYNC_PATHS.")
            return
        await msg.reply_text("Syncing…")
        s = self.settings
        try:
            report = await asyncio.to_thread(sync_sources, s.index_location, paths,
                                             self.engine.embedder, s.chunking(),
                                             s.source_limits())
        except TanyaIndexError as exc:
            await msg.reply_text(f"Sync failed: {exc}")
            return
        await msg.reply_text(f"Synced: {len(report.added)} added, {len(report.updated)} updated, "
                             f"{len(report.removed)} removed, {len(report.failures)} skipped.")

    async def _index(self, sources: list[str], msg: Message) -> None:
        s = self.settings
        try:
            report = await asyncio.to_thread(add_sources, s.index_location, sources,
                                             self.engine.embedder, s.chunking(),
                                             s.source_limits())
        except TanyaIndexError as exc:
            await msg.reply_text(f"Could not add it: {exc}")
            return
        if report.failures:
            await msg.reply_text(f"Could not add it: {report.failures[0].reason}")
            return
        store = self.engine.store()
        lines = []
        for article_id in report.added + report.updated:
            stored = store.article(article_id)
            lines.append(f"Added “{stored.article.title or article_id}” ({stored.chunk_count} "
                         "passages). You can ask about it now.")
        for _, of in report.duplicates:
            lines.append(f"Already in the index as {of}.")
        await msg.reply_text("\n".join(lines) or "Nothing new to add.")
