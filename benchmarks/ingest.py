"""Ingest speed: sync throughput against raw SentenceTransformer.encode, and re-sync cost.

On the same texts (facqa + tydiqa-id passages, each an article) it measures, in one run:
- raw encoder rate: `model.encode` on exactly the texts the pipeline embeds (chunks/s);
- sync rate: a full `sync` into an empty index, same loaded model (chunks/s);
- re-sync after changing one article: chunks embedded and time as a share of the full build;
- sync rate with the onnx-int8 embedding backend, as a multiple of the PyTorch sync rate.
Each timing is the median of --repeats runs. Run:

    .venv/bin/python -m benchmarks.ingest [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.datasets import DATASETS
from bot.config import Settings
from index.chunking import ChunkSettings, chunk_article, embedding_text
from index.embedding import DEFAULT_MODEL, SentenceTransformerEmbedder
from index.embedding_onnx import OnnxEmbedder
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


def run(repeats: int, datasets_dir: Path) -> dict[str, Any]:
    """All measurements, medians over `repeats`."""
    emb = SentenceTransformerEmbedder()
    fast = OnnxEmbedder(DEFAULT_MODEL, Settings().models_dir)  # exported once, then cached
    chunking, limits = ChunkSettings(), SourceLimits()
    with tempfile.TemporaryDirectory() as tmp:
        src = corpus(Path(tmp), datasets_dir)
        texts = chunk_texts(src, chunking)
        emb.embed_passages(texts[:64])  # warm-up: first calls allocate
        fast.embed_passages(texts[:64])
        raw_s, sync_s, onnx_s, resync_s, embedded = [], [], [], [], 0
        for n in range(repeats):
            t = time.perf_counter()
            emb.model.encode(texts, batch_size=64, normalize_embeddings=True,
                             convert_to_numpy=True, show_progress_bar=False)
            raw_s.append(time.perf_counter() - t)
            index_dir = Path(tmp) / f"index{n}"
            report = sync(index_dir, [str(src)], emb, chunking, limits)
            sync_s.append(report.seconds)
            assert report.chunks_embedded == len(texts), (report.chunks_embedded, len(texts))
            onnx_s.append(sync(Path(tmp) / f"onnx{n}", [str(src)], fast, chunking,
                               limits).seconds)
            original = src.read_text(encoding="utf-8")
            lines = original.splitlines()
            first = json.loads(lines[0])
            first["text"] += f" Diperbarui {n}."
            src.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n", "utf-8")
            report2 = sync(index_dir, [str(src)], emb, chunking, limits)
            src.write_text(original, "utf-8")
            resync_s.append(report2.seconds)
            embedded = report2.chunks_embedded
            assert report2.updated == [first["id"]], report2.updated
    raw, full, re, onnx = (statistics.median(x) for x in (raw_s, sync_s, resync_s, onnx_s))
    article = Article("a", "", first["text"], "x")
    return {
        "articles": len(set(json.loads(ln)["text"] for ln in lines)), "chunks": len(texts),
        "raw_chunks_per_s": len(texts) / raw, "sync_chunks_per_s": len(texts) / full,
        "sync_vs_raw": raw / full, "full_sync_s": full, "resync_s": re,
        "onnx_sync_chunks_per_s": len(texts) / onnx, "onnx_vs_torch_sync": full / onnx,
        "resync_share": re / full, "resync_chunks_embedded": embedded,
        "changed_article_chunks": len(chunk_article(article, chunking)), "repeats": repeats,
    }


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--datasets-dir", type=Path, default=DATASETS)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = run(args.repeats, args.datasets_dir)
    if args.json:
        print(json.dumps(r))
        return
    print(f"| corpus | {r['articles']} articles, {r['chunks']} chunks (facqa + tydiqa-id) |\n"
          "|---|---|\n"
          f"| raw encode (median of {r['repeats']}) | {r['raw_chunks_per_s']:.1f} chunks/s |\n"
          f"| full sync | {r['sync_chunks_per_s']:.1f} chunks/s = "
          f"{r['sync_vs_raw']:.0%} of raw (goal >= 85%) |\n"
          f"| full sync, onnx-int8 backend | {r['onnx_sync_chunks_per_s']:.1f} chunks/s = "
          f"{r['onnx_vs_torch_sync']:.2f}x the PyTorch sync (goal >= 2x) |\n"
          f"| re-sync, one article changed | {r['resync_chunks_embedded']} chunk(s) embedded "
          f"(article has {r['changed_article_chunks']}); {r['resync_share']:.1%} of the full "
          "build time (goal < 5%) |")


if __name__ == "__main__":
    main()
