"""Several servers of one kind used as one: least in flight first, failing ones set aside.

Each call goes to the server with the fewest calls in flight; one that fails (the pool's
`failure` error: refused connection, timeout, HTTP error) is set aside for a while and the
call goes to the next; when every server has failed, one error names them all. The embedding
servers (index.embedding.served) use `call` and `call_on`; the model servers
(bot.pipeline.pool) build their streaming rule on `take` and `release`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Sequence
from typing import Generic, TypeVar

S = TypeVar("S")
R = TypeVar("R")

SET_ASIDE_S = 30.0


class Pool(Generic[S]):
    """Servers used as one; `what` names them in errors ("model servers")."""

    def __init__(self, servers: Sequence[S], failure: type[Exception], what: str,
                 set_aside_s: float = SET_ASIDE_S) -> None:
        if not servers:
            raise failure(f"no {what} given")
        self.servers = tuple(servers)
        self._failure = failure
        self._what = what
        self._in_flight = [0] * len(servers)
        self._down_until = [0.0] * len(servers)
        self._set_aside_s = set_aside_s
        self._lock = threading.Lock()

    def in_flight(self) -> list[int]:
        """Calls now running on each server (for tests and status)."""
        with self._lock:
            return list(self._in_flight)

    def take(self, tried: Collection[int]) -> int | None:
        """The least busy server not tried yet, preferring those not set aside; now in flight."""
        now = time.monotonic()
        with self._lock:
            left = [i for i in range(len(self.servers)) if i not in tried]
            if not left:
                return None
            best = min(left, key=lambda i: (self._down_until[i] > now, self._in_flight[i], i))
            self._in_flight[best] += 1
            return best

    def release(self, i: int, failed: bool) -> None:
        """A call on server i ended; a failed one sets the server aside."""
        with self._lock:
            self._in_flight[i] -= 1
            if failed:
                self._down_until[i] = time.monotonic() + self._set_aside_s

    def all_failed(self, errors: Sequence[str]) -> Exception:
        """The one error for a call that every server failed."""
        return self._failure(f"all {len(self.servers)} {self._what} failed: "
                             + "; ".join(errors))

    def call_on(self, i: int, work: Callable[[S], R]) -> R:
        """work(server i), counted in flight; its failure sets the server aside, and is raised."""
        with self._lock:
            self._in_flight[i] += 1
        failed = False
        try:
            return work(self.servers[i])
        except self._failure:
            failed = True
            raise
        finally:
            self.release(i, failed)

    def call(self, work: Callable[[S], R]) -> R:
        """work(server) on the least busy server; on its failure, the next; then one error.

        Errors other than the pool's `failure` are not a server failing: they pass through.
        """
        tried: set[int] = set()
        errors: list[str] = []
        while (i := self.take(tried)) is not None:
            tried.add(i)
            failed = False
            try:
                return work(self.servers[i])
            except self._failure as exc:
                failed = True
                errors.append(str(exc))
            finally:
                self.release(i, failed)
        raise self.all_failed(errors)
