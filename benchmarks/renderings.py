"""The similarity floor of a checked rendering (bot/pipeline/rendering.py), measured on pairs.

True pairs: our hand-written English questions and their Indonesian versions
(benchmarks/fit_en, fit_why: the training side); false pairs: each English question against
the Indonesian version of another question over the same corpus, the nearest such one (a
rendering that drifted to a neighbouring meaning). Prints the percentiles of both and the
share of each above a floor. Run:

    .venv/bin/python -m benchmarks.renderings [--floor 0.90]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bot.pipeline import rendering
from index.embedding.bundled import BundledE5Embedder

HERE = Path(__file__).resolve().parent


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--floor", type=float, default=rendering.MIN_SIMILARITY)
    args = ap.parse_args()
    rows = [json.loads(line) for name in ("fit_en", "fit_why")
            for line in (HERE / name / "questions.jsonl").read_text().splitlines() if line]
    en = [r["question"] for r in rows if r.get("question_id")]
    ids = [r["question_id"] for r in rows if r.get("question_id")]
    emb = BundledE5Embedder()
    a, b = emb.embed_passages(en), emb.embed_passages(ids)
    sims = a @ b.T
    true = np.diag(sims).copy()
    np.fill_diagonal(sims, -1.0)
    false = sims.max(axis=1)  # the nearest other question's Indonesian version
    pct = (1, 5, 10, 50)
    print(f"{len(true)} pairs")
    print("true pairs:  " + ", ".join(f"p{q} {np.percentile(true, q):.3f}" for q in pct))
    print("nearest false: " + ", ".join(f"p{100 - q} {np.percentile(false, 100 - q):.3f}"
                                        for q in pct))
    print(f"floor {args.floor}: true kept {np.mean(true >= args.floor):.3f}, "
          f"false kept {np.mean(false >= args.floor):.3f}")


if __name__ == "__main__":
    main()
