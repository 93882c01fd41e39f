"""English questions about the seed article (../shared/articles, Indonesian news on Musk,
OpenAI and Twitter's GPUs): each answerable one must be answered right and cited, the others
not answered.

A question counts as right when an answer is shown (`sure` or `likely`), its own sentences
contain one of the expected phrases and it cites the article; an unanswerable one when no
answer is shown (`unsure` or `not_found`). The default preset and embedder
are used, with the article indexed in a temporary TANYA_HOME. Run:

    .venv/bin/python -m benchmarks.seed_article [--model PRESET] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.datasets import REPO

ARTICLES = REPO.parent / "shared" / "articles"

# (question, phrases of which the answer must hold one); written by us from the article text.
ANSWERABLE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Why did Musk leave OpenAI?", ("power struggle", "run the company", "run OpenAI",
                                    "rejected", "refused")),
    ("How many GPUs did Musk buy for Twitter?", ("10,000", "10000", "10.000")),
    ("Which outlet reported that Musk bought the GPUs?", ("Business Insider",)),
    ("In what year did Musk co-found OpenAI?", ("2015",)),
    ("Twitter hired former researchers from which AI lab?", ("DeepMind",)),
    ("How much money did Musk promise to give OpenAI?", ("1 billion", "1 miliar")),
    ("What did Musk tell Sam Altman in 2018 about OpenAI?", ("Google", "behind")),
    ("How long a pause in AI development did the open letter that Musk signed call for?",
     ("six months", "6 months", "six-month", "6-month")),
    ("Who rejected Musk's proposal to run OpenAI?", ("Altman",)),
    ("What reason was given publicly for Musk's departure from OpenAI?",
     ("Tesla", "conflict of interest")),
    ("Which outlet reported that Musk's feud with OpenAI was personal?", ("Semafor",)),
    ("What happened to Musk's payments to OpenAI after he left?",
     ("stopped", "ended", "halted", "ceased")),
    ("How might Twitter use generative AI?", ("search", "advertising")),
)
UNANSWERABLE = (
    "What is the price of Tesla stock?",
    "How many employees does Twitter have?",
    "When did Musk buy Twitter?",
)


def run(model: str | None) -> dict[str, Any]:
    """Index the seed articles in a temporary home and ask every question."""
    from bot.config import Settings
    from bot.engine import Engine
    from bot.runtime import embedder
    from index.sync import sync

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TANYA_HOME"] = tmp
        settings = Settings()
        folder = Path(tmp) / "articles"
        folder.mkdir()
        for f in ARTICLES.glob("*.txt"):
            (folder / f.name).write_bytes(f.read_bytes())
        sync(settings.index_dir, [str(folder)], embedder(settings), settings.chunking(),
             settings.source_limits())
        engine = Engine.open(settings, model)
        rows = []
        for question, phrases in ANSWERABLE:
            started = time.perf_counter()
            a = engine.ask(question, [])
            text = a.stated.lower()  # the answer's own sentences, not the quote under them
            right = any(p.lower() in text for p in phrases) and bool(a.citations)
            rows.append({"question": question, "answer": a.text, "certainty": a.certainty,
                         "right": right, "seconds": time.perf_counter() - started})
        for question in UNANSWERABLE:
            a = engine.ask(question, [])
            rows.append({"question": question, "answer": a.text, "certainty": a.certainty,
                         "right": a.certainty in ("unsure", "not_found"), "seconds": None})
        engine.close()
    return {"answerable_right": sum(r["right"] for r in rows[:len(ANSWERABLE)]),
            "answerable": len(ANSWERABLE),
            "refused": sum(r["right"] for r in rows[len(ANSWERABLE):]),
            "unanswerable": len(UNANSWERABLE), "rows": rows}


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = run(args.model)
    if args.json:
        print(json.dumps(r))
        return
    for row in r["rows"]:
        mark = "ok " if row["right"] else "NO "
        print(f"{mark} {row['question']}\n    [{row['certainty']}] {row['answer']}")
    print(f"\nanswered right and cited: {r['answerable_right']}/{r['answerable']}; "
          f"refused: {r['refused']}/{r['unanswerable']}")


if __name__ == "__main__":
    main()
