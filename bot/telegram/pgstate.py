"""The bot's state in PostgreSQL (TANYA_DATABASE_URL): conversations, the answers behind the
buttons and each user's question order, shared by every bot process on the database.

One connection per process, used by one thread at a time; each change is one short
transaction. The tables are those of migration 0002_bot_state.sql. Times are the server's, so
processes on several machines agree on what has expired. The question order: taking a number
upserts the user's counter row, which locks it until the transaction ends, so two processes
number one user's questions one after the other; the question's row names the connection that
holds it (pid and start), and a question waits only for earlier ones whose connection is still
in pg_stat_activity, so a process that dies holds back no one. Every driver error is one
DatabaseError line naming the server by its masked URL.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from bot.pipeline.answer import Answer, Turn
from bot.telegram.memory import Kept, kept_of
from index.errors import DatabaseError
from index.postgres.connect import connect, driver, open_database, reason
from index.postgres.urls import mask

if TYPE_CHECKING:
    import psycopg

_EXPIRE = ("DELETE FROM bot_turns WHERE at < now() - make_interval(secs => %(keep)s)",
           "DELETE FROM bot_answers WHERE at < now() - make_interval(secs => %(keep)s)",
           "DELETE FROM bot_questions WHERE at < now() - make_interval(secs => %(keep)s)",
           "DELETE FROM bot_askers a WHERE at < now() - make_interval(secs => %(keep)s) "
           "AND NOT EXISTS (SELECT 1 FROM bot_questions q WHERE q.user_id = a.user_id)")
_TAKE = ("INSERT INTO bot_askers(user_id, last_seq) VALUES (%s, 1) ON CONFLICT (user_id) DO "
         "UPDATE SET last_seq = bot_askers.last_seq + 1, at = now() RETURNING last_seq")
_HOLD = ("INSERT INTO bot_questions(user_id, seq, chat_id, owner_pid, owner_start) "
         "SELECT %s, %s, %s, pid, backend_start FROM pg_stat_activity "
         "WHERE pid = pg_backend_pid()")
_BLOCKED = ("SELECT EXISTS (SELECT 1 FROM bot_questions q JOIN pg_stat_activity a "
            "ON a.pid = q.owner_pid AND a.backend_start = q.owner_start "
            "WHERE q.user_id = %s AND q.seq < %s)")


class PgState:
    """Conversations (a ConversationStore) and question order (a QuestionOrder) in one
    database."""

    def __init__(self, url: str, history_turns: int, keep_hours: float) -> None:
        self._url = url
        self._conn: psycopg.Connection[Any] = open_database(url)  # migrates to 0002
        self._lock = threading.Lock()
        self._history_turns = history_turns
        self._keep_s = keep_hours * 3600

    @contextmanager
    def _use(self) -> Iterator[psycopg.Connection[Any]]:
        """The connection, for this thread alone; a broken one is replaced first, and a driver
        error becomes one DatabaseError line."""
        with self._lock:
            try:
                if self._conn.closed:  # e.g. the server restarted: the schema is there
                    self._conn = connect(self._url)
                yield self._conn
            except driver().Error as exc:
                raise DatabaseError(f"PostgreSQL at {mask(self._url)} failed: "
                                    f"{reason(exc, self._url)}") from None

    def close(self) -> None:
        """Release the connection (its questions no longer hold anyone back)."""
        with self._lock:
            self._conn.close()

    # ---- conversations ---------------------------------------------------------------------
    def history(self, chat_id: int) -> list[Turn]:
        """The chat's recent turns, oldest first."""
        with self._use() as conn:
            rows = conn.execute(
                "SELECT question, answer FROM bot_turns WHERE chat_id = %s AND at >= now() - "
                "make_interval(secs => %s) ORDER BY id DESC LIMIT %s",
                (chat_id, self._keep_s, self._history_turns)).fetchall()
        return [Turn(str(q), str(a)) for q, a in reversed(rows)]

    def forget(self, chat_id: int) -> None:
        """Start a new topic: the chat's turns are dropped (its answers' buttons still work)."""
        with self._use() as conn:
            conn.execute("DELETE FROM bot_turns WHERE chat_id = %s", (chat_id,))

    def add(self, chat_id: int, answer: Answer) -> str:
        """Record an answer as the chat's newest turn, and drop what has expired; returns the
        key its buttons carry."""
        key = uuid.uuid4().hex[:16]
        kept = json.dumps(kept_of(answer).__dict__)
        with self._use() as conn, conn.transaction():
            conn.execute("INSERT INTO bot_turns(chat_id, question, answer) VALUES (%s, %s, %s)",
                         (chat_id, answer.standalone_question, answer.text))
            conn.execute("INSERT INTO bot_answers(key, chat_id, kept) VALUES (%s, %s, %s::jsonb)",
                         (key, chat_id, kept))
            for statement in _EXPIRE:
                conn.execute(statement, {"keep": self._keep_s})
        return key

    def answer(self, key: str) -> Kept | None:
        """What a button points at, unless it has expired."""
        return self._kept("key = %s", (key,))

    def last(self, chat_id: int) -> Kept | None:
        """The newest answer in a chat."""
        return self._kept("chat_id = %s ORDER BY id DESC LIMIT 1", (chat_id,))

    def _kept(self, where: str, params: tuple[object, ...]) -> Kept | None:
        with self._use() as conn:
            row = conn.execute(
                "SELECT kept FROM bot_answers WHERE at >= now() - make_interval(secs => %s) "
                f"AND {where}", (self._keep_s, *params)).fetchone()
        return Kept(**row[0]) if row else None

    # ---- question order --------------------------------------------------------------------
    def take(self, user_id: int, chat_id: int) -> int | None:
        """Number a question just accepted and hold it in this process's name."""
        with self._use() as conn, conn.transaction():
            row = conn.execute(_TAKE, (user_id,)).fetchone()
            assert row is not None
            seq = int(row[0])
            conn.execute(_HOLD, (user_id, seq, chat_id))
        return seq

    def ready(self, user_id: int, seq: int | None) -> bool:
        """True when no earlier question of the user is held by a live process."""
        if seq is None:
            return True
        with self._use() as conn:
            row = conn.execute(_BLOCKED, (user_id, seq)).fetchone()
        return row is not None and not row[0]

    def done(self, user_id: int, seq: int | None) -> None:
        """The question is answered or given up: the user's next one may go."""
        if seq is None:
            return
        with self._use() as conn:
            conn.execute("DELETE FROM bot_questions WHERE user_id = %s AND seq = %s",
                         (user_id, seq))
