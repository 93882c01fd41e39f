"""Retrieval quality of dense, BM25 and fused search on the shared Indonesian QA sets.

Each passage is indexed as one article (the dataset's passages.jsonl is synced as is); every
answerable question is asked; a hit is the gold passage's article. Run:

    .venv/bin/python -m benchmarks.retrieval [--limit N] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.datasets import DATASETS, NAMES
from bot.evaluate import build_index, ranks_to_metrics
from bot.qa_sets import QASet, load
from index.embedding import DEFAULT_MODEL, Embedder, SentenceTransformerEmbedder
from index.search import SearchSettings, fuse
from index.store import IndexStore

METHODS = ("dense", "bm25", "rrf", "fused")


def rrf(dense: list[int], bm25: list[int], k: int = 60) -> list[int]:
    """Equal-weight reciprocal rank fusion, the usual default, for comparison."""
    scores: dict[int, float] = {}
    for ranked in (dense, bm25):
        for rank, i in enumerate(ranked, start=1):
            scores[i] = scores.get(i, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda i: -scores[i])


def _articles(store: IndexStore, ids: list[int], cache: dict[int, str]) -> list[str]:
    """Chunk ids -> article ids, first occurrence only (an article counts once)."""
    missing = [i for i in ids if i not in cache]
    cache.update({i: h.article_id for i, h in store.chunk_rows(missing).items()})
    return list(dict.fromkeys(cache[i] for i in ids if i in cache))


def _rank(articles: list[str], gold: str) -> int | None:
    return articles.index(gold) + 1 if gold in articles[:10] else None


def evaluate(qa: QASet, emb: Embedder, settings: SearchSettings) -> dict[str, dict[str, float]]:
    """Index the dataset in a temporary folder and score every method."""
    with tempfile.TemporaryDirectory() as tmp:
        store = build_index(qa, Path(tmp) / "index", emb)
        cache: dict[int, str] = {}
        ranks: dict[str, list[int | None]] = {m: [] for m in METHODS}
        for q in (q for q in qa.items if q.answerable):
            dense = store.dense_search(emb.embed_query(q.question), settings.candidates)
            bm25 = store.bm25_search(q.question, settings.candidates)
            fused = [f.chunk_id for f in fuse(dense, bm25, settings.candidates, settings)]
            d_ids, b_ids = [i for i, _ in dense], [i for i, _ in bm25]
            for method, ids in (("dense", d_ids), ("bm25", b_ids), ("rrf", rrf(d_ids, b_ids)),
                                ("fused", fused)):
                ranks[method].append(_rank(_articles(store, ids, cache), q.passage_id))
        store.close()
    result = {m: ranks_to_metrics(r) for m, r in ranks.items()}
    for m in result.values():
        m["questions"] = float(len(ranks["fused"]))
    return result


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """Markdown table: one row per dataset and method."""
    lines = ["| set | method | recall@1 | recall@5 | recall@10 | MRR |",
             "|---|---|---|---|---|---|"]
    for name, by_method in results.items():
        for method, m in by_method.items():
            lines.append(f"| {name} ({int(m['questions'])} q) | {method} | {m['recall@1']:.3f} | "
                         f"{m['recall@5']:.3f} | {m['recall@10']:.3f} | {m['mrr']:.3f} |")
    return "\n".join(lines)


def verdict(results: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """Where fused falls below the better single retriever, per metric."""
    notes = []
    for name, r in results.items():
        for key in ("recall@1", "recall@5", "recall@10", "mrr"):  # rrf is shown, not required
            best = max(r["dense"][key], r["bm25"][key])
            if r["fused"][key] < best:
                notes.append(f"{name}: fused {key} {r['fused'][key]:.3f} < best single {best:.3f}")
    return notes


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets-dir", type=Path, default=DATASETS)
    ap.add_argument("--datasets", nargs="+", default=list(NAMES))
    ap.add_argument("--limit", type=int, default=None, help="questions per set (evenly spaced)")
    ap.add_argument("--backend", choices=["torch", "onnx-int8"], default="torch")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    started = time.perf_counter()
    emb: Embedder = SentenceTransformerEmbedder()
    if args.backend == "onnx-int8":
        from bot.config import Settings
        from index.embedding_onnx import OnnxEmbedder

        emb = OnnxEmbedder(DEFAULT_MODEL, Settings().models_dir)
    results = {name: evaluate(load(args.datasets_dir / name).sample(args.limit), emb,
                              SearchSettings())
               for name in args.datasets}
    if args.json:
        print(json.dumps({"results": results, "below_best": verdict(results)}))
        return
    print(table(results))
    notes = verdict(results)
    print("\nfused >= best single retriever on every set and metric" if not notes
          else "\n" + "\n".join(notes))
    print(f"({args.backend} embeddings; {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
