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

from benchmarks.datasets import DATASETS
from bot import models, prompts
from bot.answer import Answer, AnswerSettings, answer, messages_for
from bot.config import Settings
from bot.evaluate import build_index, contains_answer
from bot.llm import LlamaCppGenerator
from bot.qa_sets import QASet, load
from index.embedding import SentenceTransformerEmbedder
from index.store import IndexStore


def run_preset(name: str, answerable: QASet, unanswerable: QASet,
               emb: SentenceTransformerEmbedder, stores: tuple[IndexStore, IndexStore],
               cache: Path) -> dict[str, Any]:
    """All measurements for one preset."""
    gen = LlamaCppGenerator(models.resolve(name, cache), name)
    tmpl = prompts.load()
    settings = AnswerSettings()
    correct = cited = cited_ok = 0
    retrieval, first, total, prompt_s = [], [], [], []
    for q in answerable.items:
        a: Answer = answer(q.question, store=stores[0], embedder=emb, generator=gen, prompts=tmpl,
                           settings=settings)
        correct += contains_answer(a.text, q.answers)
        by_n = {e.n: e for e in a.evidence}
        for c in a.citations:
            cited += 1
            cited_ok += contains_answer(by_n[c.n].hit.text, q.answers)
        retrieval.append(a.timings["retrieval_s"])
        total.append(a.timings["total_s"])
        if "first_token_s" in a.timings:
            first.append(a.timings["first_token_s"])
            prompt_s.append(gen.prompt_seconds(messages_for(q.question, a.evidence, tmpl)))
    refused = 0
    for q in unanswerable.items:
        a = answer(q.question, store=stores[1], embedder=emb, generator=gen, prompts=tmpl,
                   settings=settings)
        refused += a.status in ("refused", "not_found")
    med = statistics.median
    return {
        "preset": name, "questions": len(answerable.items),
        "accuracy": correct / max(1, len(answerable.items)),
        "citation_precision": cited_ok / max(1, cited), "citations": cited,
        "unanswerable": len(unanswerable.items),
        "refusal_rate": refused / max(1, len(unanswerable.items)),
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
    answerable = load(args.datasets_dir / args.dataset).sample(args.limit)
    idk = load(args.datasets_dir / "idk-mrc")
    idk = QASet(idk.name, idk.passages,
                [q for q in idk.items if not q.answerable]).sample(args.unanswerable)
    with tempfile.TemporaryDirectory() as tmp:
        stores = (build_index(answerable, Path(tmp) / "a" / "index", emb),
                  build_index(idk, Path(tmp) / "u" / "index", emb))
        rows = [run_preset(p, answerable, idk, emb, stores, Settings().models_dir)
                for p in args.presets]
    if args.json:
        print(json.dumps(rows))
        return
    print(table(rows))
    print(f"({time.perf_counter() - started:.0f} s; {args.dataset}, questions evenly spaced)")


if __name__ == "__main__":
    main()
