"""The language model backends by name, the one place TANYA_LLM_BACKEND's values live.

A backend is a function `build(spec: GeneratorSpec) -> Generator` and one line in `BACKENDS`;
heavy libraries are imported inside it, when a generator is built (as llama.cpp is).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.errors import ConfigError
from bot.pipeline import models
from bot.pipeline.llm import Generator, GeneratorSpec, LlamaCppGenerator, OpenAIServerGenerator
from bot.pipeline.pool import ServerPool

Factory = Callable[[GeneratorSpec], Generator]


def llama_cpp(spec: GeneratorSpec) -> Generator:
    """The model of TANYA_MODEL (or this run's) run in this process by llama.cpp."""
    path = models.resolve(spec.model, spec.cache_dir)
    name = spec.model if spec.model in models.PRESETS else Path(path).name
    return LlamaCppGenerator(path, name, n_ctx=spec.context, n_threads=spec.threads)


def openai(spec: GeneratorSpec) -> Generator:
    """A client of the OpenAI-compatible server of TANYA_LLM_URL, or a pool of several."""
    if not spec.urls:
        raise ConfigError("TANYA_LLM_BACKEND=openai needs TANYA_LLM_URL")
    if len(spec.urls) == 1:
        return OpenAIServerGenerator(spec.urls[0], spec.server_model, api_key=spec.api_key,
                                     timeout_s=spec.timeout_s)
    # In a pool a failing server is skipped at once; waiting to retry it is the pool's job.
    return ServerPool([OpenAIServerGenerator(u, spec.server_model, api_key=spec.api_key,
                                             timeout_s=spec.timeout_s, retries=0)
                       for u in spec.urls])


BACKENDS: dict[str, Factory] = {
    "llama-cpp": llama_cpp,
    "openai": openai,
}
