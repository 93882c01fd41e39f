"""Light stand-ins for the heavy models: deterministic and fast."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from index.embedding import Vectors


class HashingEmbedder:
    """Bag-of-words vectors via feature hashing: same words -> similar vectors."""

    def __init__(self, dim: int = 64, name: str = "fake-hashing") -> None:
        self._dim = dim
        self._name = name
        self.passages_embedded = 0

    @property
    def name(self) -> str:
        """Model identity stored in meta.json."""
        return self._name

    @property
    def dim(self) -> int:
        """Vector length."""
        return self._dim

    def _vec(self, text: str) -> Vectors:
        v = np.zeros(self._dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
            v[h % self._dim] += 1.0
        norm = float(np.linalg.norm(v))
        return v / norm if norm else v

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """One row per text; counts how many passages were embedded."""
        self.passages_embedded += len(texts)
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.vstack([self._vec(t) for t in texts])

    def embed_query(self, text: str) -> Vectors:
        """One row for the query."""
        return self._vec(text)[None, :]
