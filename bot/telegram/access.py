"""Who may use the bot, and how often: allowlist, polite (rate-limited) refusals, rate limit."""

from __future__ import annotations

import time
from collections import defaultdict, deque

REFUSAL = "Sorry, this is a private bot and you are not on its list. (Your user id is {uid}.)"
SLOW_DOWN = "You are asking faster than I can answer; please wait a minute."


class Access:
    """Allowlisted users and chats, admins, and per-user limits."""

    def __init__(self, allowed: list[int], admins: list[int], per_minute: int,
                 refuse_every_s: float = 600.0) -> None:
        self.allowed, self.admins = set(allowed), set(admins)
        self.per_minute = per_minute
        self.refuse_every_s = refuse_every_s
        self._asked: dict[int, deque[float]] = defaultdict(deque)
        self._refused: dict[int, float] = {}

    def may_ask(self, user_id: int, chat_id: int) -> bool:
        """An allowlisted user or chat, or an admin."""
        return user_id in self.allowed or chat_id in self.allowed or user_id in self.admins

    def is_admin(self, user_id: int) -> bool:
        """May add and sync articles."""
        return user_id in self.admins

    def refuse_aloud(self, user_id: int) -> bool:
        """One refusal message per stranger per period, so a flood costs nothing."""
        now = time.monotonic()
        if now - self._refused.get(user_id, -self.refuse_every_s) < self.refuse_every_s:
            return False
        self._refused[user_id] = now
        return True

    def within_rate(self, user_id: int) -> bool:
        """Record a question; False when the user asked too often in the last minute."""
        window = self._asked[user_id]
        now = time.monotonic()
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        return True
