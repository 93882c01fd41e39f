"""Language model backends come from one registry: a new one is a factory and one line in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import runtime
from bot.cli.app import main
from bot.cli.common import EXIT_ERROR
from bot.config import Settings
from bot.engine import Engine
from bot.errors import ConfigError
from bot.pipeline import backends
from bot.pipeline.backends import BACKENDS
from bot.pipeline.llm import Generator, GeneratorSpec, OpenAIServerGenerator
from bot.pipeline.pool import ServerPool
from index.embedding.backends import BACKENDS as EMBEDDERS
from tests.conftest import run_sync
from tests.fakes import HashingEmbedder, ScriptedGenerator


def test_a_registered_backend_is_built_through_the_runtime(
        monkeypatch: pytest.MonkeyPatch, corpus: Path) -> None:
    asked: list[GeneratorSpec] = []
    scripted = ScriptedGenerator("Musk left OpenAI after a power struggle [1].")

    def build(spec: GeneratorSpec) -> Generator:
        asked.append(spec)
        return scripted

    monkeypatch.setitem(BACKENDS, "scripted", build)  # what the registry line of a module does
    embedder = HashingEmbedder(name="fake#hashing")
    monkeypatch.setitem(EMBEDDERS, "hashing", lambda spec: embedder)
    for var, value in {"TANYA_LLM_BACKEND": "scripted", "TANYA_MODEL": "my-model",
                       "TANYA_LLM_CONTEXT": "2048", "TANYA_EMBED_BACKEND": "hashing",
                       "TANYA_EMBED_MODEL": "fake"}.items():
        monkeypatch.setenv(var, value)
    settings = Settings()
    run_sync(settings.index_dir, [str(corpus)], embedder)
    engine = Engine.open(settings)
    try:
        answer = engine.ask("Why did Musk leave OpenAI?", [])
    finally:
        engine.close()
    assert asked == [GeneratorSpec("my-model", (), "default", None, 120, 2048, None,
                                   settings.models_dir)]
    assert scripted.prompts and answer.model == "scripted"
    assert runtime.model_label(settings) == "my-model"
    assert runtime.first_use_notice(settings) is None  # presets are llama-cpp's


class Loaded(ScriptedGenerator):
    """Stands in for LlamaCppGenerator: records what it was asked to load."""

    def __init__(self, path: Path, name: str, *, n_ctx: int, n_threads: int | None) -> None:
        super().__init__(name=name)
        self.loaded = (path, n_ctx, n_threads)


def test_auto_runs_in_process_without_a_server_url(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setattr(backends, "LlamaCppGenerator", Loaded)
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setenv("TANYA_MODEL", str(gguf))
    monkeypatch.setenv("TANYA_LLM_THREADS", "3")
    made = runtime.generator(Settings())
    assert isinstance(made, Loaded)
    assert (made.name, made.loaded) == ("tiny.gguf", (gguf, 4096, 3))
    monkeypatch.setenv("TANYA_LLM_URL", "http://a:1")  # --model still runs in process
    assert isinstance(runtime.generator(Settings(), str(gguf)), Loaded)


def test_auto_uses_the_servers_when_a_url_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANYA_LLM_URL", "http://a:1")
    monkeypatch.setenv("TANYA_LLM_MODEL", "q")
    made = runtime.generator(Settings())
    assert isinstance(made, OpenAIServerGenerator) and made.name == "q @ http://a:1/v1"
    monkeypatch.setenv("TANYA_LLM_URL", "http://a:1, http://b:2")
    settings = Settings()
    assert isinstance(runtime.generator(settings), ServerPool)
    assert runtime.model_label(settings) == "q @ http://a:1, http://b:2"


def test_the_openai_backend_needs_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANYA_LLM_BACKEND", "openai")
    with pytest.raises(ConfigError, match="TANYA_LLM_BACKEND=openai needs TANYA_LLM_URL"):
        runtime.generator(Settings())


def test_an_unknown_backend_is_one_line_naming_the_registered_ones(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TANYA_LLM_BACKEND", "vllm-native")
    monkeypatch.setattr("sys.argv", ["tanya", "ask", "hi"])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == EXIT_ERROR
    assert capsys.readouterr().err == ("error: TANYA_LLM_BACKEND: must be one of auto, "
                                       "llama-cpp, openai (bot.pipeline.backends)\n")
    monkeypatch.setitem(BACKENDS, "scripted", lambda spec: ScriptedGenerator())
    with pytest.raises(ValueError, match="llama-cpp, openai, scripted"):
        Settings()
