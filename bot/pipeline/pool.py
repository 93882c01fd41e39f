"""A pool of OpenAI-compatible model servers (TANYA_LLM_URL=url1,url2,...).

The choice of server (least busy first, failing ones set aside, one error when all fail) is
index.pool's, shared with the embedding servers. What is added here is the streaming rule: a
server that fails before its first token is passed over for the next one; once tokens have
been shown, a failure is an error, never a silent switch to another server's text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from bot.errors import GenerationError
from bot.pipeline.llm import Generator, Messages, Scores
from index.pool import SET_ASIDE_S, Pool


class ServerPool:
    """Several generators used as one: least in flight first, failing ones set aside."""

    def __init__(self, servers: Sequence[Generator], set_aside_s: float = SET_ASIDE_S) -> None:
        self._pool = Pool(servers, GenerationError, "model servers", set_aside_s)

    @property
    def name(self) -> str:
        """The first server's model, and how many servers share the work."""
        servers = self._pool.servers
        return f"{servers[0].name} (+{len(servers) - 1} more)"

    def in_flight(self) -> list[int]:
        """Answers now streaming from each server (for tests and status)."""
        return self._pool.in_flight()

    def stream(self, messages: Messages, max_tokens: int, *,
               scores: Scores | None = None) -> Iterator[str]:
        """Stream from the least busy server; before any token, fail over to the next."""
        tried: set[int] = set()
        errors: list[str] = []
        while (i := self._pool.take(tried)) is not None:
            tried.add(i)
            started = failed = False
            try:
                for piece in self._pool.servers[i].stream(messages, max_tokens, scores=scores):
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
                self._pool.release(i, failed)
        raise self._pool.all_failed(errors)
