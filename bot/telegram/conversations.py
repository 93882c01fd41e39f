"""What the bot remembers per chat, in SQLite under TANYA_HOME so that it survives a restart and
is shared by several bot processes on one machine: the recent turns (for follow-ups) and, per
answer, what its Sources and More buttons show. The default ConversationStore
(bot.telegram.memory); with TANYA_DATABASE_URL, bot.telegram.pgstate takes its place.

SQLite in WAL mode lets several processes read while one writes; each change is one short
transaction, and a busy database is waited for (busy_timeout). Rows older than the keep time
are deleted whenever an answer is added.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path

from bot.pipeline.answer import Answer, Turn
from bot.telegram.memory import Kept, kept_of

__all__ = ["Conversations", "Kept"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns(
    id INTEGER PRIMARY KEY AUTOINCREMENT, chat_id INTEGER NOT NULL, at REAL NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS turns_chat ON turns(chat_id, id);
CREATE TABLE IF NOT EXISTS answers(
    key TEXT PRIMARY KEY, chat_id INTEGER NOT NULL, at REAL NOT NULL, kept TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS answers_chat ON answers(chat_id, at);
"""


class Conversations:
    """Turns and kept answers of every chat, in one SQLite file."""

    def __init__(self, path: Path, history_turns: int, keep_hours: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=10, check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._history_turns = history_turns
        self._keep_s = keep_hours * 3600

    def close(self) -> None:
        """Release the database."""
        self._db.close()

    def history(self, chat_id: int) -> list[Turn]:
        """The chat's recent turns, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT question, answer FROM turns WHERE chat_id = ? AND at >= ? "
                "ORDER BY id DESC LIMIT ?",
                (chat_id, time.time() - self._keep_s, self._history_turns)).fetchall()
        return [Turn(q, a) for q, a in reversed(rows)]

    def forget(self, chat_id: int) -> None:
        """Start a new topic: the chat's turns are dropped (its answers' buttons still work)."""
        with self._lock:
            self._db.execute("DELETE FROM turns WHERE chat_id = ?", (chat_id,))

    def add(self, chat_id: int, answer: Answer) -> str:
        """Record an answer as the chat's newest turn; returns the key its buttons carry."""
        key = uuid.uuid4().hex[:16]
        kept = kept_of(answer)
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("INSERT INTO turns(chat_id, at, question, answer) "
                                 "VALUES (?, ?, ?, ?)",
                                 (chat_id, now, answer.standalone_question, answer.text))
                self._db.execute("INSERT INTO answers VALUES (?, ?, ?, ?)",
                                 (key, chat_id, now, json.dumps(kept.__dict__)))
                self._db.execute("DELETE FROM turns WHERE at < ?", (now - self._keep_s,))
                self._db.execute("DELETE FROM answers WHERE at < ?", (now - self._keep_s,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return key

    def answer(self, key: str) -> Kept | None:
        """What a button points at, unless it has expired."""
        return self._kept("key = ?", (key,))

    def last(self, chat_id: int) -> Kept | None:
        """The newest answer in a chat."""
        return self._kept("chat_id = ? ORDER BY at DESC, rowid DESC LIMIT 1", (chat_id,))

    def _kept(self, where: str, params: tuple[object, ...]) -> Kept | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT kept FROM answers WHERE at >= ? AND {where}",
                (time.time() - self._keep_s, *params)).fetchone()
        return Kept(**json.loads(row[0])) if row else None
