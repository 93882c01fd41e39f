"""The FAISS side of the store: an IndexIDMap2 whose ids are chunk row ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from index.embedding import Vectors
from index.errors import IndexCorruptError

Ids = npt.NDArray[np.int64]


def empty(dim: int) -> Any:
    """A new exact inner-product index (cosine, since vectors are normalized)."""
    import faiss

    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def load(path: Path) -> Any:
    """Read an index file, naming the file if it is damaged."""
    import faiss

    try:
        return faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexCorruptError(str(path), str(exc).splitlines()[0]) from exc


def save(index: Any, path: Path) -> None:
    """Write the index to `path` (a file of an unpublished generation)."""
    import faiss

    faiss.write_index(index, str(path))


def add(index: Any, ids: Ids, vecs: Vectors) -> None:
    """Add vectors under the given ids."""
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vecs, dtype=np.float32), ids)


def remove(index: Any, ids: Ids) -> None:
    """Remove the given ids (missing ones are ignored)."""
    if len(ids):
        index.remove_ids(ids)


def count(index: Any) -> int:
    """Number of stored vectors."""
    return int(index.ntotal)


def search(index: Any, query: Vectors, k: int) -> list[tuple[int, float]]:
    """(id, inner product) of the k best matches for one query vector."""
    if index.ntotal == 0 or k <= 0:
        return []
    scores, ids = index.search(np.ascontiguousarray(query, dtype=np.float32), min(k, index.ntotal))
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
