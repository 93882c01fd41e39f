"""The loaded parts of tanya (embedder, index, model, prompts) and conversations over them.

The language model loads in a background thread while the embedder and index load and the
first retrieval runs, so the evidence can be shown before the model is ready. The loading
thread runs at a lower priority: on a two-core box it would otherwise slow the evidence down
(benchmarks/coldstart.py).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from bot import runtime
from bot.config import Settings
from bot.errors import GenerationError, TanyaBotError
from bot.pipeline import prompts as prompt_files
from bot.pipeline.answer import Answer, Events, Turn, answer
from bot.pipeline.llm import Generator, Messages, Scores
from bot.pipeline.settings import AnswerSettings
from index.backend import Store
from index.embedding import Embedder
from index.filters import Filters

# Niceness of the model-loading thread (Linux keeps a nice value per thread).
LOAD_NICENESS = 10


def _yield_cores() -> None:
    """Lower this thread's priority where the system allows it; elsewhere do nothing."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux/BSD, or not permitted
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOAD_NICENESS)


class PendingGenerator:
    """A Generator that is still loading; the first use waits for it (and raises its error)."""

    def __init__(self, load: Callable[[], Generator], model: str) -> None:
        self._model = model
        self._result: Generator | None = None
        self._error: TanyaBotError | None = None
        self._thread = threading.Thread(target=self._run, args=(load,), daemon=True)
        self._thread.start()

    def _run(self, load: Callable[[], Generator]) -> None:
        _yield_cores()
        try:
            self._result = load()
        except TanyaBotError as exc:  # handed to the caller on first use
            self._error = exc
        except BaseException as exc:
            # Re-raised as is in the caller, an OSError would be a traceback, and a SystemExit(0)
            # or typer.Exit(0) would end the command with status 0 and no answer.
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._error = GenerationError(f"cannot load model {self._model}: {reason}")

    def ready(self) -> Generator:
        """The loaded generator (blocks until loading ends)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    @property
    def name(self) -> str:
        """Name of the loaded model."""
        return self.ready().name

    def stream(self, messages: Messages, max_tokens: int, *,
               scores: Scores | None = None) -> Iterator[str]:
        """Stream from the loaded model."""
        return self.ready().stream(messages, max_tokens, scores=scores)


class Engine:
    """Everything needed to answer, loaded once per process and shared by conversations."""

    def __init__(self, settings: Settings, embedder: Embedder, generator: Generator,
                 answer_settings: AnswerSettings) -> None:
        self.settings = settings
        self.embedder = embedder
        self.generator = generator
        self.answer_settings = answer_settings
        self.prompts = prompt_files.load(settings.prompts_dir)
        self._lock = threading.Lock()
        self._store = runtime.open_index(settings, embedder)
        self._previous: Store | None = None

    @classmethod
    def open(cls, settings: Settings, model: str | None = None, passages: int | None = None,
             notify: Callable[[str], None] | None = None) -> Engine:
        """Start loading the model, load embedder and index, check the prompts.

        notify gets one line when the model is being prepared for its first use.
        """
        runtime.open_index(settings).close()  # fail fast, before a model load starts
        notice = runtime.first_use_notice(settings, model)
        if notice and notify:
            notify(notice)
        pending = PendingGenerator(lambda: runtime.generator(settings, model),
                                   runtime.model_label(settings, model))
        return cls(settings, runtime.embedder(settings), pending, settings.answering(passages))

    def store(self) -> Store:
        """The index, reopened when a sync has published a newer generation (PostgreSQL: changed
        the meta row, or the connection was lost)."""
        with self._lock:
            if self._store.is_stale():
                # Another thread may still be searching the old generation: it is closed only
                # at the next switch, by which time that search has long finished.
                if self._previous is not None:
                    self._previous.close()
                self._previous, self._store = self._store, runtime.open_index(
                    self.settings, self.embedder)
            return self._store

    def ask(self, question: str, history: list[Turn], events: Events | None = None,
            filters: Filters | None = None) -> Answer:
        """Answer a question in the context of earlier turns, from the filtered articles."""
        return answer(question, store=self.store(), embedder=self.embedder,
                      generator=self.generator, prompts=self.prompts,
                      settings=self.answer_settings, history=history, events=events,
                      filters=filters)

    def close(self) -> None:
        """Release the index."""
        self._store.close()


@dataclass
class Session:
    """One conversation over an engine: keeps the recent turns for follow-up questions."""

    engine: Engine
    history: list[Turn] = field(default_factory=list)

    @classmethod
    def open(cls, settings: Settings, model: str | None = None, passages: int | None = None,
             notify: Callable[[str], None] | None = None) -> Session:
        """An engine with a fresh conversation."""
        return cls(Engine.open(settings, model, passages, notify))

    def ask(self, question: str, events: Events | None = None,
            filters: Filters | None = None) -> Answer:
        """Answer and remember the turn."""
        result = self.engine.ask(question, self.history, events, filters)
        self.history.append(Turn(result.standalone_question, result.text))
        del self.history[: -self.engine.answer_settings.history_turns]
        return result

    def close(self) -> None:
        """Release the engine."""
        self.engine.close()
