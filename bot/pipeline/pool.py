"""A pool of OpenAI-compatible model servers (TANYA_LLM_URL=url1,url2,...).

Each answer goes to the server with the fewest answers in flight. A server that fails before
its first token (refused connection, timeout, HTTP error) is set aside for a while and the
answer goes to the next one; once tokens have been shown, a failure is an error, never a
silent switch to another server's text. When every server has failed: one clear error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

from bot.errors import GenerationError
from bot.pipeline.llm import Generator, Messages, Scores

SET_ASIDE_S = 30.0


class ServerPool:
    """Several generators used as one: least in flight first, failing ones set aside."""

    def __init__(self, servers: Sequence[Generator], set_aside_s: float = SET_ASIDE_S) -> None:
        if not servers:
            raise GenerationError("no model server given")
        self._servers = list(servers)
        self._in_flight = [0] * len(servers)
        self._down_until = [0.0] * len(servers)
        self._set_aside_s = set_aside_s
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The first server's model, and how many servers share the work."""
        return f"{self._servers[0].name} (+{len(self._servers) - 1} more)"

    def in_flight(self) -> list[int]:
        """Answers now streaming from each server (for tests and status)."""
        with self._lock:
            return list(self._in_flight)

    def _take(self, tried: set[int]) -> int | None:
        """The least busy server not tried yet, preferring those not set aside."""
        now = time.monotonic()
        with self._lock:
            left = [i for i in range(len(self._servers)) if i not in tried]
            if not left:
                return None
            best = min(left, key=lambda i: (self._down_until[i] > now, self._in_flight[i], i))
            self._in_flight[best] += 1
            return best

    def _done(self, i: int, failed: bool) -> None:
        with self._lock:
            self._in_flight[i] -= 1
            if failed:
                self._down_until[i] = time.monotonic() + self._set_aside_s

    def stream(self, messages: Messages, max_tokens: int, *,
               scores: Scores | None = None) -> Iterator[str]:
        """Stream from the least busy server; before any token, fail over to the next."""
        tried: set[int] = set()
        errors: list[str] = []
        while (i := self._take(tried)) is not None:
            tried.add(i)
            started = failed = False
            try:
                for piece in self._servers[i].stream(messages, max_tokens,
                                                         scores=scores):
                    started = True
                    yield piece
                return
            except GenerationError as exc:
                failed = True
                if started:
                    raise GenerationError(f"{exc} (after part of the answer; not retried)"
                                          ) from exc
                errors.append(str(exc))
            finally:
                self._done(i, failed)
        raise GenerationError(f"all {len(self._servers)} model servers failed: "
                              + "; ".join(errors))
