"""Readers during writes: answering goes on while another process syncs, then sees the result."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.engine import Engine
from tests.conftest import REPO, flat_settings, run_sync, write_md
from tests.fakes import HashingEmbedder, ScriptedGenerator


def test_answers_continue_during_a_sync_in_another_process(tmp_path: Path, corpus: Path,
                                                           index_dir: Path) -> None:
    run_sync(index_dir, [str(corpus)], HashingEmbedder())
    settings = flat_settings(home=index_dir.parent, embed_model="fake-hashing")
    gen = ScriptedGenerator(*["Musk left OpenAI in 2018 after a power struggle [1]."] * 500)
    engine = Engine(settings, HashingEmbedder(), gen, settings.answering())
    for i in range(300):
        write_md(corpus / "new", f"kite-{i}.md", f"Kite festival {i}",
                 f"The kite festival number {i} drew {i * 10} visitors to the beach. " * 15)
    child = subprocess.Popen([sys.executable, "-m", "tests.crash_child", str(index_dir),
                              str(corpus), "none"], cwd=REPO)
    answered = 0
    while child.poll() is None:
        a = engine.ask("Why did Musk leave OpenAI?", [])
        assert a.certainty in ("sure", "likely"), a
        answered += 1
    assert child.returncode == 0 and answered >= 1
    store = engine.store()
    assert store.meta.articles == 303, "the engine reopened the new generation by itself"
    assert store.bm25_search("kite festival 299", 3)
