"""Vector search at scale: latency and recall@10 of the index type tanya picks by size.

Synthetic clustered unit vectors (384 dimensions, like all-MiniLM-L6-v2) stand in for chunk
embeddings. For each size the store's own `vectors.fit` chooses the index (exact flat below
vectors.FLAT_LIMIT, IVF above); queries are new documents drawn around the same centres, so
their neighbours are not obvious near-duplicates. Reported:
single-query latency median and p95 (k=10), recall@10 against exact search, build time, and
index size on disk. Run:

    .venv/bin/python -m benchmarks.scale [--sizes 10000 100000 1000000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from index import vectors
from index.embedding import Vectors

DIM = 384


def synthetic(n: int, seed: int = 0, offset: int = 0) -> Vectors:
    """Unit vectors around 2,000 cluster centres (documents about shared topics).

    The centres depend on `seed` only; `offset` draws different documents around them.
    """
    centres = np.random.default_rng(seed).normal(size=(2000, DIM)).astype(np.float32)
    rng = np.random.default_rng(seed + 1 + offset)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        block = centres[rng.integers(0, len(centres), m)] + 0.6 * rng.normal(size=(m, DIM))
        out[start:start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def measure(n: int, queries: int) -> dict[str, Any]:
    """Build, search and compare for one size."""
    data = synthetic(n)
    ids = np.arange(1, n + 1, dtype=np.int64)
    exact = vectors.empty(DIM)
    vectors.add(exact, ids, data)
    started = time.perf_counter()
    index = vectors.fit(exact)
    build_s = time.perf_counter() - started
    qs = synthetic(queries, seed=0, offset=n)  # new documents on the same topics
    latencies, recalls = [], []
    for q in qs:
        t = time.perf_counter()
        got = vectors.search(index, q[None, :], 10)
        latencies.append(time.perf_counter() - t)
        truth = {i for i, _ in vectors.search(exact, q[None, :], 10)}
        recalls.append(len(truth & {i for i, _ in got}) / 10)
    with tempfile.TemporaryDirectory() as tmp:
        vectors.save(index, Path(tmp) / "v.faiss")
        size_mb = (Path(tmp) / "v.faiss").stat().st_size / 2**20
    latencies.sort()
    return {"vectors": n, "index": vectors.kind(index), "build_s": build_s,
            "median_ms": statistics.median(latencies) * 1000,
            "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000,
            "recall@10": statistics.mean(recalls), "size_mb": size_mb}


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = [measure(n, args.queries) for n in args.sizes]
    if args.json:
        print(json.dumps(rows))
        return
    print("| vectors | index | search median | search p95 | recall@10 vs exact | fit time | "
          "file size |\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['vectors']:,} | {r['index']} | {r['median_ms']:.2f} ms | {r['p95_ms']:.2f} ms "
              f"| {r['recall@10']:.3f} | {r['build_s']:.1f} s | {r['size_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
