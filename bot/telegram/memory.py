"""What the bot keeps between updates, and the one place that picks where it lives.

Two things are kept: per chat, the recent turns and the answers behind the Sources / More
buttons (`ConversationStore`), and per user, the order of their questions (`QuestionOrder`).
Without TANYA_DATABASE_URL the conversations are SQLite under TANYA_HOME
(bot.telegram.conversations) and the order is the FairQueue's alone, as a single process needs;
with it, both live in the PostgreSQL database (bot.telegram.pgstate), shared by every bot
process that names it. `open_state` is the only place that chooses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.pipeline.answer import Answer, Turn
from bot.telegram import render as tr

if TYPE_CHECKING:
    from bot.config import Settings


@dataclass(frozen=True)
class Kept:
    """What the buttons of one answer need: its sources, and what More searches again."""

    sources: list[str]  # Telegram HTML blocks
    question: str  # the standalone question
    shown: list[int]  # chunk ids already in the evidence


def kept_of(answer: Answer) -> Kept:
    """What an answer's buttons will need, taken from the answer."""
    return Kept(tr.sources_blocks(answer), answer.standalone_question,
                [e.hit.chunk_id for e in answer.evidence])


class ConversationStore(Protocol):
    """Turns and kept answers of every chat; rows older than the keep time are not seen."""

    def history(self, chat_id: int) -> list[Turn]:
        """The chat's recent turns, oldest first."""

    def forget(self, chat_id: int) -> None:
        """Start a new topic: the chat's turns are dropped (its answers' buttons still work)."""

    def add(self, chat_id: int, answer: Answer) -> str:
        """Record an answer as the chat's newest turn; returns the key its buttons carry."""

    def answer(self, key: str) -> Kept | None:
        """What a button points at, unless it has expired."""

    def last(self, chat_id: int) -> Kept | None:
        """The newest answer in a chat."""

    def close(self) -> None:
        """Release the store."""


class QuestionOrder(Protocol):
    """Each user's questions answered in the order they were accepted, whichever process
    holds them: a number taken on acceptance, and a question answered only when the user's
    earlier ones are done."""

    def take(self, user_id: int, chat_id: int) -> int | None:
        """The number of a question just accepted (None where the queue alone keeps order)."""

    def ready(self, user_id: int, seq: int | None) -> bool:
        """True when none of the user's earlier questions is still waiting or being answered."""

    def done(self, user_id: int, seq: int | None) -> None:
        """The question is answered (or given up): the user's next one may go."""


class InProcessOrder:
    """One process: its FairQueue already answers a user's questions one at a time, in order."""

    def take(self, user_id: int, chat_id: int) -> int | None:
        """No number is needed."""
        return None

    def ready(self, user_id: int, seq: int | None) -> bool:
        """Always: the queue hands out a user's next question only after the last is done."""
        return True

    def done(self, user_id: int, seq: int | None) -> None:
        """Nothing to record."""


@dataclass
class BotState:
    """The conversations and the question order of one bot process, and where they live."""

    conversations: ConversationStore
    order: QuestionOrder
    where: str  # the SQLite file, or the database's masked URL

    def close(self) -> None:
        """Release the store (the order shares its connection, if it has one)."""
        self.conversations.close()


def open_state(settings: Settings, history_turns: int) -> BotState:
    """The bot's state: in the database of TANYA_DATABASE_URL when set (schema migrated, one
    DatabaseError line naming the masked URL when it cannot be reached), else SQLite under
    TANYA_HOME with the in-process order."""
    hours = settings.telegram.conversation_hours
    database = settings.database
    if database is None:
        from bot.telegram.conversations import Conversations

        return BotState(Conversations(settings.conversations_db, history_turns, hours),
                        InProcessOrder(), str(settings.conversations_db))
    from bot.telegram.pgstate import PgState

    shared = PgState(database.url, history_turns, hours)
    return BotState(shared, shared, database.masked)
