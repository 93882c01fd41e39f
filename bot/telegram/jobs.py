"""The questions waiting for the model, taken in turns per user, each user's in the order asked."""

from __future__ import annotations

import asyncio
from collections import deque
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
    seq: int | None = None  # the user's question number in a shared database (QuestionOrder)


class FairQueue:
    """Questions taken round robin over their askers, so no one waits behind another's many."""

    # A user's next question is taken only after their last one is answered, at the back of
    # the turns. At most `maxsize` questions wait, but a user with none waiting always gets
    # one in: one user filling the queue cannot shut the others out.

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._waiting: dict[int, deque[Job]] = {}
        self._turns: deque[int] = deque()  # users whose next question may be taken now
        self._ready = asyncio.Semaphore(0)  # one release per entry of _turns
        self._answering: set[int] = set()

    def qsize(self) -> int:
        """Questions waiting (not those being answered)."""
        return sum(len(q) for q in self._waiting.values())

    def ahead(self, user_id: int) -> int:
        """Waiting questions a new one from this user would be answered after."""
        mine = len(self._waiting.get(user_id, ()))
        turns = list(self._turns)  # users before this one in the turns get one more turn
        before = set(turns[:turns.index(user_id)] if user_id in turns else turns)
        return mine + sum(min(len(q), mine + (u in before)) for u, q in self._waiting.items()
                          if u != user_id)

    def put_nowait(self, job: Job) -> None:
        """Queue a question; asyncio.QueueFull when full and its asker already has one waiting."""
        waiting = self._waiting.setdefault(job.user_id, deque())
        if waiting and self.qsize() >= self.maxsize:
            raise asyncio.QueueFull
        waiting.append(job)
        if len(waiting) == 1 and job.user_id not in self._answering:
            self._turn(job.user_id)

    async def get(self) -> Job:
        """The next user's next question; that user gets no other until done() is called."""
        await self._ready.acquire()
        user = self._turns.popleft()
        waiting = self._waiting[user]
        job = waiting.popleft()
        if not waiting:
            del self._waiting[user]
        self._answering.add(user)
        return job

    def done(self, job: Job) -> None:
        """The job is answered: its asker's next question takes a turn at the back."""
        self._answering.discard(job.user_id)
        if job.user_id in self._waiting:
            self._turn(job.user_id)

    def hold(self, job: Job) -> None:
        """Put a job taken too early back at the head of its asker's questions (an earlier one
        of theirs is still being answered elsewhere); the asker gets no turn until release()."""
        self._answering.discard(job.user_id)
        self._waiting.setdefault(job.user_id, deque()).appendleft(job)

    def release(self, user_id: int) -> None:
        """A held asker's next question takes a turn at the back again."""
        if (user_id in self._waiting and user_id not in self._answering
                and user_id not in self._turns):
            self._turn(user_id)

    def _turn(self, user_id: int) -> None:
        self._turns.append(user_id)
        self._ready.release()
