"""The FAISS side of the store; ids are chunk row ids.

Below FLAT_LIMIT vectors the index is exact (IndexIDMap2 over IndexFlatIP). Above it, brute
force costs too much per query, so `fit` rebuilds it as an inverted-file index
(IndexIVFFlat, about 4*sqrt(n) lists, searched with `nprobe` lists); it is retrained when the
collection has grown fourfold since the last training. benchmarks/scale.py measures latency
and recall@10 against exact search for both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from index.embedding import Vectors
from index.errors import IndexCorruptError

Ids = npt.NDArray[np.int64]
FLAT_LIMIT = 200_000
_TRAIN_PER_LIST = 40  # k-means sample: FAISS warns below 39 points per centroid


def empty(dim: int) -> Any:
    """A new exact inner-product index (cosine, since vectors are normalized)."""
    import faiss

    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def load(path: Path) -> Any:
    """Read an index file, naming the file if it is damaged."""
    import faiss

    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexCorruptError(str(path), str(exc).splitlines()[0]) from exc
    _tune(index)
    return index


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


def kind(index: Any) -> str:
    """'flat' or 'ivf<nlist>', for status output."""
    import faiss

    ivf = faiss.try_extract_index_ivf(index)
    return f"ivf{ivf.nlist}" if ivf is not None else "flat"


def search(index: Any, query: Vectors, k: int,
           allowed: Sequence[int] | None = None) -> list[tuple[int, float]]:
    """(id, inner product) of the k best matches for one query vector, among allowed ids."""
    import faiss

    if index.ntotal == 0 or k <= 0 or (allowed is not None and not allowed):
        return []
    params = None if allowed is None else _only(index, np.asarray(allowed, dtype=np.int64))
    # One query is too little work to share: extra OpenMP threads only add wake-up latency,
    # badly so on a busy 2-core box (the model runs beside the search).
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        scores, ids = index.search(np.ascontiguousarray(query, dtype=np.float32),
                                   min(k, index.ntotal), params=params)
    finally:
        faiss.omp_set_num_threads(threads)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def _only(index: Any, ids: Ids) -> Any:
    """Search parameters that let FAISS visit only these ids.

    An IVF index probes more lists the fewer ids are allowed (all of them when few are), so a
    narrow filter still finds its k best instead of the few allowed ids in the usual lists.
    """
    import faiss

    ivf = faiss.try_extract_index_ivf(index)
    params: Any = faiss.SearchParameters() if ivf is None else faiss.SearchParametersIVF()
    if ivf is not None:
        widen = index.ntotal / max(1, len(ids))
        params.nprobe = min(ivf.nlist, math.ceil(ivf.nprobe * widen))
    params.sel = faiss.IDSelectorBatch(ids)  # faiss keeps a reference to it (params.sel = ...)
    return params


def fit(index: Any, flat_limit: int = FLAT_LIMIT) -> Any:
    """The index to store for this many vectors: flat when small, (re)trained IVF when large."""
    import faiss

    n = int(index.ntotal)
    ivf = faiss.try_extract_index_ivf(index)
    if n < flat_limit:
        return index if ivf is None else _rebuild(index, None)
    wanted = _nlist(n)
    if ivf is not None and ivf.nlist * 2 >= wanted:
        return index  # trained for at most 4x fewer vectors: still fine
    return _rebuild(index, wanted)


def _nlist(n: int) -> int:
    return max(16, int(4 * math.sqrt(n)))


def _all(index: Any) -> tuple[Ids, Vectors]:
    """Every (id, vector) pair of a flat or IVF index."""
    import faiss

    ivf = faiss.try_extract_index_ivf(index)
    if ivf is None:
        ids = faiss.vector_to_array(index.id_map).astype(np.int64)
        return ids, index.index.reconstruct_n(0, index.ntotal)
    ids_list, vec_list = [], []
    invlists: Any = ivf.invlists
    for lst in range(ivf.nlist):
        size = invlists.list_size(lst)
        if not size:
            continue
        ids_list.append(faiss.rev_swig_ptr(invlists.get_ids(lst), size).copy())
        codes = faiss.rev_swig_ptr(invlists.get_codes(lst), size * ivf.code_size).copy()
        vec_list.append(codes.view(np.float32).reshape(size, ivf.d))
    if not ids_list:
        return np.zeros(0, np.int64), np.zeros((0, ivf.d), np.float32)
    return np.concatenate(ids_list).astype(np.int64), np.vstack(vec_list)


def _rebuild(index: Any, nlist: int | None) -> Any:
    """Copy every vector into a new flat (nlist None) or trained IVF index."""
    import faiss

    ids, vecs = _all(index)
    dim = vecs.shape[1] if len(vecs) else index.d
    if nlist is None:
        new = empty(dim)
    else:
        quantizer = faiss.IndexFlatIP(dim)
        new = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = vecs[rng.choice(len(vecs), min(len(vecs), nlist * _TRAIN_PER_LIST),
                                 replace=False)]
        new.train(np.ascontiguousarray(sample))
        _tune(new)
    add(new, ids, vecs)
    return new


def _tune(index: Any) -> None:
    """Search enough inverted lists for recall@10 near exact search (see benchmarks/scale.py)."""
    import faiss

    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        ivf.nprobe = max(8, ivf.nlist // 32)
