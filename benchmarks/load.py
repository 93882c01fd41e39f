"""Load: N simulated Telegram users ask at once, against 1 and against 2 real llama.cpp servers.

The real bot (python-telegram-bot, TanyaBot, its workers and server pool) polls the fake
Telegram Bot API of the tests. Each server is `python -m llama_cpp.server` with the
smollm2-135m preset, one thread, pinned with taskset to its own core (server i on core i).
Every user sends one question at the same moment; the time to their final message (answer,
refusal or error) is measured from that moment. A user with no final message within the
timeout is lost; one with two is duplicated.

By default the bot retrieves with the tests' hashing embedder, so that the bot process itself
costs little CPU and the comparison measures generation; `--embedder default` uses the
configured one (its CPU then competes with the servers on a 2-core machine). Run:

    .venv/bin/python -m benchmarks.load [--users 20] [--servers 1 2] [--repeats 1] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.datasets import REPO
from bot import runtime
from bot.config import Settings
from bot.engine import Engine
from bot.pipeline.llm import OpenAIServerGenerator
from bot.telegram.app import TanyaBot
from index.embedding import Embedder
from index.sync import sync
from tests.bot_harness import is_reply, replies, serve
from tests.fake_telegram import FakeTelegram
from tests.fakes import HashingEmbedder, fake_answer_settings
from tests.llama_server import PRESET, llama_servers

TOKEN = "424242:AAHload-benchmark-token"
FIRST_USER = 5001
# Questions about the sample articles in articles/, written by us; user i asks question i mod 20.
QUESTIONS = (
    "How many GPUs did Northwind Cloud order?", "Where will Northwind build its data center?",
    "Who is the chief executive of Northwind Cloud?", "How much water will the new cooling save?",
    "How big is the budget Millbrook council approved?", "How did the council vote?",
    "How many electric cars did Voltara deliver?", "Did Voltara beat the forecasts?",
    "What was the score of the Harbor City derby?", "Who scored the winning goal?",
    "How long is the new frog species?", "Where was the tiny frog found?",
    "How many houses were flooded in Sungai Lebar?", "What caused the flood?",
    "How much rice per hectare did Sukamulya harvest?", "What is the price of rice?",
    "Why did Musk leave OpenAI?", "How many GPUs did Twitter buy?",
    "Who did Twitter hire for its AI project?", "What did the open letter Musk signed ask for?",
)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _embedding(embedder: Embedder) -> dict[str, Any]:
    """Settings that make the index's recorded embedder match the one in use."""
    return {"model": embedder.name} if isinstance(embedder, HashingEmbedder) else {}


def one_run(servers: int, users: int, home: Path, embedder: Embedder,
            timeout_s: float) -> dict[str, Any]:
    """Start the servers, run the bot, let every user ask at once; measure each final message.

    Each run starts without conversations, so that no question is read as a follow-up."""
    for path in home.glob("conversations.db*"):
        path.unlink()
    crowd = list(range(FIRST_USER, FIRST_USER + users))
    with llama_servers(servers, home / f"servers-{servers}", cores=list(range(servers)),
                       models_dir=home / "models") as running, FakeTelegram(token=TOKEN) as tg:
        settings = Settings(home=home, embedding=_embedding(embedder),
                            model={"url": ",".join(s.url for s in running),
                                   "server_model": PRESET},
                            telegram={"api_url": f"{tg.url}/bot", "allowed": crowd,
                                      "rate_per_minute": 60, "stream_interval_s": 0.5})
        answering = (fake_answer_settings() if isinstance(embedder, HashingEmbedder)
                     else settings.answering())
        generator = runtime.generator(settings)
        for server in running:  # load each model into memory before the clock starts
            "".join(OpenAIServerGenerator(server.url, PRESET, retries=0).stream(
                [{"role": "user", "content": "Hi"}], 4))
        tanya = TanyaBot(Engine(settings, embedder, generator, answering), settings)
        finished: dict[int, float] = {}
        started = 0.0

        def watch(stop: threading.Event) -> None:
            """Note when each user's final message appears (one cheap look every 50 ms)."""
            while not stop.is_set():
                now = time.perf_counter()
                for m in tg.sent():
                    if m["chat_id"] not in finished and is_reply(m):
                        finished[m["chat_id"]] = now - started
                time.sleep(0.05)

        async def scenario() -> None:
            nonlocal started
            stop = threading.Event()
            watcher = threading.Thread(target=watch, args=(stop,))
            started = time.perf_counter()
            for i, user in enumerate(crowd):
                tg.user_message(user, QUESTIONS[i % len(QUESTIONS)])
            watcher.start()
            deadline = time.perf_counter() + timeout_s
            while len(finished) < users and time.perf_counter() < deadline:
                await asyncio.sleep(0.1)
            await asyncio.sleep(2.0)  # a duplicated answer would arrive now
            stop.set()
            watcher.join()

        asyncio.run(serve(tanya, TOKEN, scenario))
        tanya.engine.close()
        per_server = [s.requests() - 1 for s in running]  # less the warm-up request
        rss = [round(s.rss_mib()) for s in running]
    times = list(finished.values())
    wall = max(times) if times else timeout_s
    return {"servers": servers, "users": users, "delivered": len(finished),
            "lost": users - len(finished),
            "duplicated": sum(len(replies(tg, u)) > 1 for u in crowd),
            "p50_s": round(statistics.median(times), 2) if times else None,
            "p95_s": round(_percentile(times, 0.95), 2) if times else None,
            "wall_s": round(wall, 2), "answers_per_min": round(60 * len(finished) / wall, 2),
            "requests_per_server": per_server, "server_rss_mib": rss}


def run(users: int, counts: list[int], repeats: int, embedder_kind: str,
        timeout_s: float) -> dict[str, Any]:
    """Median of the repeats for each server count, and throughput ratios to one server."""
    if len(os.sched_getaffinity(0)) < max(counts):
        raise SystemExit(f"need {max(counts)} cores to pin {max(counts)} servers")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        embedder: Embedder = (HashingEmbedder() if embedder_kind == "hashing"
                              else runtime.embedder(Settings(home=home)))
        settings = Settings(home=home, embedding=_embedding(embedder))
        sync(settings.index_dir, [str(REPO / "articles")], embedder, settings.chunking(),
             settings.source_limits())
        rows = []
        for count in counts:
            runs = [one_run(count, users, home, embedder, timeout_s) for _ in range(repeats)]
            row = dict(runs[0])
            for key in ("p50_s", "p95_s", "wall_s", "answers_per_min"):
                values = [r[key] for r in runs if r[key] is not None]
                row[key] = round(statistics.median(values), 2) if values else None
            row["lost"] = max(r["lost"] for r in runs)
            row["duplicated"] = max(r["duplicated"] for r in runs)
            row["runs"] = runs
            rows.append(row)
    base = rows[0]["answers_per_min"]
    for row in rows:
        row["throughput_ratio"] = round(row["answers_per_min"] / base, 2) if base else None
    return {"users": users, "repeats": repeats, "embedder": embedder_kind, "rows": rows}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--servers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--embedder", choices=["hashing", "default"], default="hashing")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.users, args.servers, args.repeats, args.embedder, args.timeout)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.users} users at once, median of {args.repeats}, embedder {args.embedder}")
    print("| servers | delivered | lost | duplicated | p50 to final (s) | p95 (s) | "
          "answers/min | throughput vs 1 |")
    print("|---|---|---|---|---|---|---|---|")
    for r in result["rows"]:
        print(f"| {r['servers']} | {r['delivered']} | {r['lost']} | {r['duplicated']} | "
              f"{r['p50_s']} | {r['p95_s']} | {r['answers_per_min']} | "
              f"{r['throughput_ratio']}x |")


if __name__ == "__main__":
    main()
