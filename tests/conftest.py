"""Shared fixtures: a temporary TANYA_HOME, a fake embedder and a small article folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.config import Settings
from bot.config.flat import variables
from index.backend import Location
from index.chunking import ChunkSettings
from index.sources import SourceLimits
from index.sync import SyncReport, sync
from tests.fakes import (
    FAKE_CITATION_MIN_SIMILARITY,
    FAKE_EVIDENCE_MIN_SIMILARITY,
    HashingEmbedder,
    ScriptedGenerator,
)

if TYPE_CHECKING:
    from tests.pg import TestServer

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own TANYA_HOME and no stray TANYA_ settings."""
    import os

    for key in list(os.environ):
        if key.startswith("TANYA_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TANYA_HOME", str(tmp_path / "home"))
    # The tests' hashing embedder has its own similarity scale (tests.fakes).
    monkeypatch.setenv("TANYA_EVIDENCE_MIN_SIMILARITY", str(FAKE_EVIDENCE_MIN_SIMILARITY))
    monkeypatch.setenv("TANYA_CITATION_MIN_SIMILARITY", str(FAKE_CITATION_MIN_SIMILARITY))


def flat_settings(**values: Any) -> Settings:
    """Settings with values named as their variables (`embed_model` for TANYA_EMBED_MODEL;
    `_env_file` and kin pass through), the rest read as usual."""
    paths = {var.removeprefix("TANYA_").lower(): path for var, path, _ in variables(Settings)}
    nested: dict[str, Any] = {}
    for name, value in values.items():
        *groups, last = paths.get(name, (name,))
        target = nested
        for group in groups:
            target = target.setdefault(group, {})
        target[last] = value
    return Settings(**nested)


@pytest.fixture
def embedder() -> HashingEmbedder:
    """A fresh fake embedder."""
    return HashingEmbedder()


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    """Where the test index goes."""
    return tmp_path / "index"


def write_md(folder: Path, name: str, title: str, body: str, **meta: str) -> Path:
    """Write a Markdown article with front matter."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["---", f'title: "{title}"', *(f'{k}: "{v}"' for k, v in meta.items()), "---", body]
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Three small articles in a folder."""
    folder = tmp_path / "articles"
    write_md(folder, "musk.md", "Musk and OpenAI",
             "Musk left OpenAI in 2018 after a power struggle. He wanted to run the company. "
             "Altman and the other founders refused.", outlet="Kabar", published="2023-04-12")
    write_md(folder, "rice.md", "Rice harvest",
             "Farmers in Sukamulya harvested 6.8 tonnes of rice per hectare this year. "
             "Prices held at 5,100 rupiah per kilogram.")
    write_md(folder, "frog.md", "A new frog",
             "Scientists described a tiny frog species from a cloud forest. It is 12 mm long.")
    return folder


def run_sync(index_dir: Location, paths: list[str], emb: HashingEmbedder,
             chunking: ChunkSettings | None = None, prune: bool = True) -> SyncReport:
    """Sync with test defaults."""
    return sync(index_dir, paths, emb, chunking or ChunkSettings(), SourceLimits(), prune=prune)


def use_fake_engine(monkeypatch: pytest.MonkeyPatch, gen: ScriptedGenerator) -> None:
    """Make the CLI open an Engine over the hashing embedder and a scripted model."""
    from bot.engine import Engine

    def open_engine(s: Settings, model: str | None = None, passages: int | None = None,
                    notify: Callable[[str], None] | None = None) -> Engine:
        return Engine(s, HashingEmbedder(), gen, s.answering(passages))

    monkeypatch.setattr(Engine, "open", staticmethod(open_engine))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TestServer]:
    """A real PostgreSQL with pgvector, started once per session (tests/pg.py).

    Its folder is not under pytest's basetemp: pytest keeps only the last three of those,
    so another pytest run starting on the same machine would delete a long session's data
    folder, and PostgreSQL shuts down when its lock file disappears."""
    import shutil
    import tempfile

    from tests.pg import TestServer

    folder = Path(tempfile.mkdtemp(prefix="tanya-pg-"))
    server = TestServer(folder)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: TestServer) -> Iterator[str]:
    """The URL of a fresh empty database on the test server, dropped after the test."""
    url = pg_server.database()
    try:
        yield url
    finally:
        pg_server.drop(url)
