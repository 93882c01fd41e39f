"""A question waiting in the bot's queue, and what keeps one user's questions in order."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from index.filters import Filters


@dataclass(frozen=True)
class Job:
    """A question waiting for the model."""

    chat_id: int
    user_id: int
    question: str
    private: bool
    reply_to: int | None
    filters: Filters = field(default_factory=Filters)
    after: asyncio.Event | None = None  # set when this user's previous question is answered
    done: asyncio.Event = field(default_factory=asyncio.Event)
