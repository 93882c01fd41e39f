"""Generators: stream a chat completion from llama-cpp-python in process or from a server.

Both are loaded once and reused for every question (the llama.cpp context also keeps the
KV cache of the shared prompt prefix between calls).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from bot.errors import GenerationError

Messages = list[dict[str, str]]
Scores = list[tuple[str, float]]  # (token text, log-probability) of each generated token
_llama_log = logging.getLogger("llama_cpp")
_log_callback: Any = None  # the ctypes callback must outlive every call from C


class _KeepStdio(contextlib.nullcontext[None]):
    """Stands in for llama-cpp-python's suppress_stdout_stderr: redirects nothing."""

    def __init__(self, disable: bool = True) -> None:
        super().__init__()


def _leave_stdio_alone() -> None:
    """Stop llama-cpp-python from pointing stdout and stderr at /dev/null while it loads.

    With verbose=False it dup2()s /dev/null over file descriptors 1 and 2, and swaps
    sys.stdout and sys.stderr, for the whole process. The model loads in a background thread,
    so whatever the main thread printed meanwhile was lost, and a writer created meanwhile
    kept writing to /dev/null: `tanya ask` ended with status 0 and no output (issue #11;
    abetlen/llama-cpp-python#1874). llama.cpp's own messages go to logging at debug level,
    as quiet as before: a failed load still ends in one GenerationError line.
    """
    global _log_callback
    if _log_callback is not None:
        return
    import llama_cpp
    from llama_cpp import _internals
    from llama_cpp import llama as llama_module

    for module in (llama_module, _internals):
        setattr(module, "suppress_stdout_stderr", _KeepStdio)  # noqa: B010  (typed as theirs)

    def log(_level: int, text: bytes | None, _user_data: Any) -> None:
        _llama_log.debug("%s", (text or b"").decode("utf-8", "replace").rstrip("\n"))

    _log_callback = llama_cpp.llama_log_callback(log)
    llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))


class Generator(Protocol):
    """Streams the answer to a chat prompt, token by token."""

    @property
    def name(self) -> str:
        """Model identity, shown with every answer."""
        ...

    def stream(self, messages: Messages, max_tokens: int, *,
               scores: Scores | None = None) -> Iterator[str]:
        """Yield text pieces as the model produces them (greedy decoding); when `scores` is
        given, append each generated token's text and log-probability to it, if known."""
        ...


@dataclass(frozen=True)
class GeneratorSpec:
    """What a backend (bot.pipeline.backends) is built from: TANYA_MODEL and TANYA_LLM_*."""

    model: str  # a preset, a .gguf path or hf:REPO/FILE.gguf (TANYA_MODEL or this run's)
    urls: tuple[str, ...]  # the servers of TANYA_LLM_URL
    server_model: str
    api_key: str | None
    timeout_s: float
    context: int
    threads: int | None
    cache_dir: Path  # where model files are assembled


class LlamaCppGenerator:
    """A GGUF model run in this process by llama-cpp-python."""

    def __init__(self, model_path: Path, name: str, *, n_ctx: int = 4096,
                 n_threads: int | None = None) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise GenerationError("llama-cpp-python is not installed; run "
                                  "`pip install llama-cpp-python` or set TANYA_LLM_URL") from exc
        _leave_stdio_alone()
        self._name = name
        self._lock = threading.Lock()  # one llama context serves one request at a time
        try:
            self._llm = Llama(model_path=str(model_path), n_ctx=n_ctx,
                              n_threads=n_threads or os.cpu_count() or 2, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise GenerationError(f"cannot load model {model_path}: {exc}") from exc

    @property
    def name(self) -> str:
        """Preset name or file name of the model."""
        return self._name

    def stream(self, messages: Messages, max_tokens: int, *,
               scores: Scores | None = None) -> Iterator[str]:
        """Stream a chat completion with the model's own chat template (and, when asked,
        each token's log-probability, read in process at no extra cost); a prompt that
        begins like the last one reuses its evaluated tokens."""
        with self._lock:
            recorder = None if scores is None else _LogProbs(self._llm, scores)
            chunks: Any = self._llm.create_chat_completion(
                messages=cast(Any, messages), stream=True, temperature=0.0,
                max_tokens=max_tokens, repeat_penalty=1.1,
                logits_processor=None if recorder is None else cast(Any, [recorder]))
            for chunk in chunks:
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece

    def prompt_seconds(self, messages: Messages) -> float:
        """The model's own time to process this prompt from an empty cache (for benchmarks)."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise GenerationError(f"model {self._name} has no chat template")
        eos = self._llm.detokenize([self._llm.token_eos()]).decode("utf-8", "ignore")
        bos = self._llm.detokenize([self._llm.token_bos()]).decode("utf-8", "ignore")
        prompt = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)(
            messages=cast(Any, messages)).prompt
        tokens = self._llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        with self._lock:
            self._llm.reset()  # type: ignore[no-untyped-call]  # evaluation restarts at position 0: no cached prefix
            started = time.perf_counter()
            self._llm.eval(tokens)
            return time.perf_counter() - started


class _LogProbs:
    """A llama.cpp logits processor that records the log-probability of each chosen token.

    It sees the raw logits before each token is picked; the token picked shows up as the
    last input id at the next call, so each call scores the previous step's choice (the
    final step is the end-of-turn token, which carries no text). It returns the logits
    unchanged, so decoding is exactly what it would be without it.
    """

    def __init__(self, llm: Any, scores: Scores) -> None:
        self._llm = llm
        self._scores = scores
        self._start: int | None = None
        self._last: Any = None

    def __call__(self, input_ids: Any, logits: Any) -> Any:
        import numpy as np

        n = int(self._llm.n_tokens)
        if self._start is None:
            self._start = n
        elif self._last is not None and n > self._start:
            token = int(input_ids[n - 1])
            text = self._llm.detokenize([token]).decode("utf-8", "replace")
            self._scores.append((text, float(self._last[token])))
        values = np.asarray(logits, dtype=np.float64)
        top = values.max()
        self._last = values - (top + np.log(np.exp(values - top).sum()))
        return logits


class OpenAIServerGenerator:
    """Any OpenAI-compatible chat server (llama.cpp server, vLLM, Ollama) over HTTP, streaming."""

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None,
                 timeout_s: float = 120.0, retries: int = 2) -> None:
        self._url = base_url.rstrip("/")
        if not self._url.endswith("/v1"):
            self._url += "/v1"
        self._model = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._key = api_key or ""
        self._timeout = timeout_s
        self._retries = retries

    @property
    def name(self) -> str:
        """The model name sent to the server, with the server's address."""
        return f"{self._model} @ {self._url}"

    def stream(self, messages: Messages, max_tokens: int, *,
               scores: Scores | None = None) -> Iterator[str]:
        """POST /chat/completions with stream=true and yield the content deltas (SSE); with
        `scores`, the server is asked for each token's log-probability too."""
        import httpx

        body: dict[str, Any] = {"model": self._model, "messages": messages, "stream": True,
                                "temperature": 0.0, "max_tokens": max_tokens}
        if scores is not None:
            body["logprobs"] = True
        for attempt in range(self._retries + 1):
            started = False
            try:
                with httpx.stream("POST", f"{self._url}/chat/completions", json=body,
                                  headers=self._headers, timeout=self._timeout) as resp:
                    if resp.status_code >= 400:
                        resp.read()
                        raise GenerationError(f"model server {self._url} answered HTTP "
                                              f"{resp.status_code}: {self._masked(resp.text)}")
                    for piece in _sse_pieces(resp.iter_lines(), scores):
                        started = True
                        yield piece
                return
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt == self._retries:
                    raise GenerationError(f"model server {self._url} is unreachable "
                                          f"({type(exc).__name__})") from exc
                time.sleep(0.5 * 2**attempt)
            except httpx.HTTPError as exc:
                if started or attempt == self._retries:
                    raise GenerationError(f"model server {self._url} failed: "
                                          f"{type(exc).__name__} {self._masked(str(exc))}"
                                          ) from exc
                time.sleep(0.5 * 2**attempt)


    def _masked(self, text: str) -> str:
        """A server's words cut to 200 characters, with the API key masked (some echo it)."""
        return (text.replace(self._key, "<api key>") if self._key else text)[:200]


def _sse_pieces(lines: Iterator[str], scores: Scores | None = None) -> Iterator[str]:
    """Content deltas from 'data: {...}' lines of a streamed chat completion.

    A complete answer carries a finish_reason before [DONE]; a stream that ends without one
    was cut short (llama_cpp.server by default ends a running answer this way when another
    request arrives), so it is an error, never a shorter answer.
    """
    finished = False
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            choice = json.loads(data)["choices"][0]
            piece = choice.get("delta", {}).get("content")
            finished = finished or bool(choice.get("finish_reason"))
            if scores is not None:
                scores.extend((str(t["token"]), float(t["logprob"]))
                              for t in (choice.get("logprobs") or {}).get("content") or ())
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise GenerationError(f"model server sent a malformed event: {data[:120]}") from exc
        if piece:
            yield piece
    if not finished:
        raise GenerationError("model server ended the answer before finishing it (no "
                              "finish_reason; llama_cpp.server needs --interrupt_requests "
                              "False to serve several answers)")
