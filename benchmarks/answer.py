"""Answer quality and speed per model preset on the shared QA sets.

For each preset: answer accuracy (a gold answer string is contained in the answer), citation
precision (the cited passage contains a gold answer), refusal rate on unanswerable idk-mrc
questions, and medians of retrieval time, first-token time, total time and the model's own
prompt-processing time for the same prompt (so pipeline overhead shows as a ratio). Run:

    .venv/bin/python -m benchmarks.answer [--presets ...] [--limit 30] [--unanswerable 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.datasets import DATASETS, Dataset, load
from bot import models, prompts
from bot.answer import Answer, AnswerSettings, answer, messages_for
from bot.config import Settings
from bot.llm import LlamaCppGenerator
from index.chunking import ChunkSettings
from index.embedding import SentenceTransformerEmbedder
from index.sources import SourceLimits
from index.store import IndexStore
from index.sync import sync


def _contains(text: str, golds: tuple[str, ...]) -> bool:
    low = text.lower()
    return any(g.lower() in low for g in golds if g)


def _index(ds: Dataset, emb: SentenceTransformerEmbedder, folder: Path) -> IndexStore:
    sync(folder, [str(ds.passages_file)], emb, ChunkSettings(), SourceLimits())
    return IndexStore(folder)


def run_preset(name: str, answerable: Dataset, unanswerable: Dataset,
               emb: SentenceTransformerEmbedder, stores: tuple[IndexStore, IndexStore],
               cache: Path) -> dict[str, Any]:
    """All measurements for one preset."""
    gen = LlamaCppGenerator(models.resolve(name, cache), name)
    tmpl = prompts.load()
    settings = AnswerSettings()
    correct = cited = cited_ok = 0
    retrieval, first, total, prompt_s = [], [], [], []
    for q in answerable.questions:
        a: Answer = answer(q.text, store=stores[0], embedder=emb, generator=gen, prompts=tmpl,
                           settings=settings)
        correct += _contains(a.text, q.answers)
        by_n = {e.n: e for e in a.evidence}
        for c in a.citations:
            cited += 1
            cited_ok += _contains(by_n[c.n].hit.text, q.answers)
        retrieval.append(a.timings["retrieval_s"])
        total.append(a.timings["total_s"])
        if "first_token_s" in a.timings:
            first.append(a.timings["first_token_s"])
            prompt_s.append(gen.prompt_seconds(messages_for(q.text, a.evidence, tmpl)))
    refused = 0
    for q in unanswerable.questions:
        a = answer(q.text, store=stores[1], embedder=emb, generator=gen, prompts=tmpl,
                   settings=settings)
        refused += a.status in ("refused", "not_found")
    med = statistics.median
    return {
        "preset": name, "questions": len(answerable.questions),
        "accuracy": correct / max(1, len(answerable.questions)),
        "citation_precision": cited_ok / max(1, cited), "citations": cited,
        "unanswerable": len(unanswerable.questions),
        "refusal_rate": refused / max(1, len(unanswerable.questions)),
        "retrieval_s": med(retrieval), "first_token_s": med(first) if first else None,
        "total_s": med(total), "prompt_s": med(prompt_s) if prompt_s else None,
        "first_token_vs_prompt": med(first) / med(prompt_s) if prompt_s else None,
    }


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown table, one row per preset."""
    out = ["| preset | accuracy | citation precision | refusal (unanswerable) | retrieval | "
           "first token | model prompt time | first token / prompt | total |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r['first_token_vs_prompt']:.2f}" if r["first_token_vs_prompt"] else "-"
        first = f"{r['first_token_s']:.2f} s" if r["first_token_s"] else "-"
        prompt = f"{r['prompt_s']:.2f} s" if r["prompt_s"] else "-"
        out.append(f"| {r['preset']} | {r['accuracy']:.2f} ({r['questions']} q) | "
                   f"{r['citation_precision']:.2f} ({r['citations']}) | {r['refusal_rate']:.2f} "
                   f"({r['unanswerable']} q) | {r['retrieval_s']:.2f} s | {first} | {prompt} | "
                   f"{ratio} | {r['total_s']:.2f} s |")
    return "\n".join(out)


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=list(models.PRESETS))
    ap.add_argument("--dataset", default="facqa")
    ap.add_argument("--datasets-dir", type=Path, default=DATASETS)
    ap.add_argument("--limit", type=int, default=30, help="answerable questions")
    ap.add_argument("--unanswerable", type=int, default=20, help="idk-mrc unanswerable questions")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    started = time.perf_counter()
    emb = SentenceTransformerEmbedder()
    answerable = load(args.datasets_dir / args.dataset, args.limit)
    idk = load(args.datasets_dir / "idk-mrc")
    unanswerable = [q for q in idk.questions if not q.answerable]
    step = max(1, len(unanswerable) // max(1, args.unanswerable))
    idk = Dataset(idk.name, idk.passages_file, idk.passages,
                  unanswerable[::step][: args.unanswerable])
    with tempfile.TemporaryDirectory() as tmp:
        stores = (_index(answerable, emb, Path(tmp) / "a"), _index(idk, emb, Path(tmp) / "u"))
        rows = [run_preset(p, answerable, idk, emb, stores, Settings().models_dir)
                for p in args.presets]
    if args.json:
        print(json.dumps(rows))
        return
    print(table(rows))
    print(f"({time.perf_counter() - started:.0f} s; {args.dataset}, questions evenly spaced)")


if __name__ == "__main__":
    main()
