"""The index in PostgreSQL against a real server (tests/pg.py): sync, search and filters,
incremental resync, one writer, a sync killed inside an article, two homes on one database,
and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from bot import runtime
from bot.cli.app import app
from bot.config import Settings
from bot.engine import Engine
from index.backend import open_store
from index.chunking import ChunkSettings
from index.embedding import Vectors, fingerprint
from index.errors import (
    ArticleNotFoundError,
    DatabaseError,
    IndexBusyError,
    IndexMismatchError,
)
from index.filters import Filters, build
from index.postgres.connect import LOCK_SPACE, WRITER_LOCK
from index.postgres.store import PgStore
from index.postgres.urls import Database
from index.postgres.writer import PgWriter
from index.search import search
from index.sources import SourceLimits
from index.sync import rebuild, remove, sync
from tests.conftest import REPO, write_md
from tests.fakes import HashingEmbedder, ScriptedGenerator, fake_answer_settings
from tests.pg import TestServer, database_name

DATED = REPO / "tests" / "data" / "dated"
runner = CliRunner()


def run(db: Database, folder: Path, emb: HashingEmbedder, prune: bool = True) -> object:
    return sync(db, [str(folder)], emb, ChunkSettings(), SourceLimits(), prune=prune)


def ids(db: Database, query: str, k: int, filters: Filters | None = None) -> list[str]:
    store = open_store(db)
    try:
        return [h.article_id for h in search(store, HashingEmbedder(), query, k,
                                             filters=filters)]
    finally:
        store.close()


def stored(db: Database) -> dict[str, tuple[str, int]]:
    store = open_store(db)
    try:
        return {s.article.id: (s.article.text, s.chunk_count) for s in store.articles()}
    finally:
        store.close()


def test_sync_search_resync_and_changes(pg_url: str, corpus: Path,
                                        embedder: HashingEmbedder) -> None:
    db = Database(pg_url)
    first = sync(db, [str(corpus)], embedder, ChunkSettings(), SourceLimits())
    assert sorted(first.added) == ["frog", "musk", "rice"] and first.meta is not None
    assert (first.meta.articles, first.meta.chunks) == (3, 3)
    assert ids(db, "Why did Musk leave OpenAI?", 1) == ["musk"]

    before = embedder.passages_embedded
    again = sync(db, [str(corpus)], embedder, ChunkSettings(), SourceLimits())
    assert again.unchanged == 3 and not again.added and not again.updated
    assert embedder.passages_embedded == before, "an unchanged resync embeds nothing"

    write_md(corpus, "rice.md", "Rice harvest", "Farmers harvested 7.2 tonnes per hectare.")
    (corpus / "frog.md").unlink()
    changed = sync(db, [str(corpus)], embedder, ChunkSettings(), SourceLimits())
    assert changed.updated == ["rice"] and changed.removed == ["frog"]
    assert embedder.passages_embedded - before == changed.chunks_embedded == 1
    store = open_store(db)
    try:
        hit = search(store, embedder, "tonnes per hectare", 1)[0]
        assert "7.2 tonnes" in hit.text and hit.text == store.article("rice").article.text
        assert store.meta.articles == 2 and "hnsw" in store.vector_index()
    finally:
        store.close()
    remove(db, ["rice"])
    assert list(stored(db)) == ["musk"]
    with pytest.raises(ArticleNotFoundError):
        remove(db, ["musk", "gone"])
    assert list(stored(db)) == ["musk"], "remove is all or nothing"


def test_filters_apply_inside_both_queries(pg_url: str, embedder: HashingEmbedder) -> None:
    db = Database(pg_url)
    sync(db, [str(DATED)], embedder, ChunkSettings(), SourceLimits())
    assert len(ids(db, "GPUs", 10)) == 6
    assert set(ids(db, "GPUs", 10, build(since="2023-04-13"))) == {
        "gpu-order-tech-review", "gpu-prices-gamer-weekly"}
    assert set(ids(db, "GPUs", 10, build(until="2023-03"))) == {
        "wire-rice-kabar-nusantara", "wire-rice-harian-timur"}
    assert ids(db, "GPUs", 10, build(outlets=["tech review"])) == ["gpu-order-tech-review"]
    f = build(since="2023-04", until="2023-04", outlets=["Business Daily", "Gamer Weekly"])
    assert set(ids(db, "rice harvest Sukamulya", 2, f)) == {
        "gpu-order-business-daily", "gpu-prices-gamer-weekly"}
    assert ids(db, "rice harvest Sukamulya", 1)[0].startswith("wire-rice")
    assert ids(db, "library budget", 5, build(since="2024")) == []
    hard = build(since="2023-04-13")
    assert "council-budget-undated" not in ids(db, "library budget", 10, hard)
    assert "council-budget-undated" in ids(db, "library budget", 10,
                                           Filters(hard.since, hard.until, soft=True))


def test_a_filtered_search_returns_k_hits_past_the_vector_index(pg_url: str,
                                                                 tmp_path: Path) -> None:
    # 600 articles, 5 of one outlet, spread over the whole vector order of the query: all
    # five come back, whether the planner walks the HNSW index (iteratively, past its first
    # ef_search candidates) or, as it prefers for so selective a filter, sorts the outlet's
    # chunks exactly.
    folder = tmp_path / "many"
    for i in range(600):
        outlet = "Rare Times" if i % 120 == 0 else "Daily"
        write_md(folder, f"a{i:03d}.md", f"Story {i}", f"Kite festival number {i} in town "
                 f"{i * 7}. Weather was mild.", outlet=outlet)
    db = Database(pg_url)
    sync(db, [str(folder)], HashingEmbedder(), ChunkSettings(), SourceLimits())
    store = PgStore(db)
    try:
        rare = build(outlets=["rare times"])
        found = [h.article_id for h in search(store, HashingEmbedder(), "kite festival", 5,
                                              filters=rare)]
        dense = store.dense_search(HashingEmbedder().embed_query("kite festival"), 5, rare)
        unfiltered = store.dense_search(HashingEmbedder().embed_query("kite festival"), 300)
    finally:
        store.close()
    assert sorted(found) == ["a000", "a120", "a240", "a360", "a480"]
    assert len(dense) == 5, "the vector side alone also found all five"
    assert len(unfiltered) == 300, "more than ef_search (200) nearest chunks when asked"


def test_each_chunk_is_read_in_its_languages_configuration(pg_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "lang"
    write_md(folder, "id.md", "Panen", "Para petani sedang memanen padi di sawah.", language="id")
    write_md(folder, "en.md", "Harvest", "The farmers were harvesting rice.", language="en")
    db = Database(pg_url)
    sync(db, [str(folder)], HashingEmbedder(), ChunkSettings(), SourceLimits())
    store = open_store(db)
    try:
        # Indonesian stemming: "panen" finds "memanen"; English: "harvested" finds "harvesting"
        assert [i for i, _ in store.bm25_search("panen", 5)] and [
            i for i, _ in store.bm25_search("harvested", 5)]
        rows = store.chunk_rows([i for i, _ in store.bm25_search("panen harvested", 5)])
        assert {h.article_id for h in rows.values()} == {"id", "en"}
    finally:
        store.close()
    with psycopg.connect(pg_url) as conn:
        configs = {r[0]: r[1] for r in conn.execute("SELECT article_id, tsconfig FROM chunks")}
    assert configs == {"id": "indonesian", "en": "english"}


def test_another_models_vectors_are_refused(pg_url: str, corpus: Path) -> None:
    db = Database(pg_url)
    sync(db, [str(corpus)], HashingEmbedder(), ChunkSettings(), SourceLimits())
    with pytest.raises(IndexMismatchError, match="postgresql://postgres:\\*\\*\\*@"):
        sync(db, [str(corpus)], HashingEmbedder(name="other-model"), ChunkSettings(),
             SourceLimits())
    with pytest.raises(IndexMismatchError, match="embedding dimension"):
        store = open_store(db)
        try:
            runtime.check_embedder(store, HashingEmbedder(dim=32))
        finally:
            store.close()
    report = rebuild(db, HashingEmbedder(dim=32, name="other-model"), ChunkSettings())
    assert report.meta is not None and (report.meta.dim, report.meta.articles) == (32, 3)
    store = open_store(db)
    try:
        assert store.meta.embed_model == "other-model"
        hits = search(store, HashingEmbedder(dim=32), "frog cloud forest", 1)
        assert hits[0].article_id == "frog"
    finally:
        store.close()


def test_a_second_writer_is_refused_with_the_same_line(pg_url: str, corpus: Path) -> None:
    db = Database(pg_url)
    emb = HashingEmbedder()
    sync(db, [str(corpus)], emb, ChunkSettings(), SourceLimits())
    space = fingerprint.space(emb)
    with PgWriter(db, space, ChunkSettings().describe()), \
            pytest.raises(IndexBusyError, match="another sync is writing the index"):
        sync(db, [str(corpus)], emb, ChunkSettings(), SourceLimits())
    # released with the first writer: the next sync goes on
    assert sync(db, [str(corpus)], emb, ChunkSettings(), SourceLimits()).unchanged == 3


def _second_sync_setup(db: Database, corpus: Path) -> None:
    run(db, corpus, HashingEmbedder())
    write_md(corpus, "kite.md", "Kites", "A red kite festival drew 9,000 people.")
    write_md(corpus, "rice.md", "Rice harvest", "Farmers harvested 7.2 tonnes per hectare.")


def _check_after_crash(db: Database, corpus: Path, old_rice: tuple[str, int]) -> None:
    after = stored(db)
    assert "kite" in after, "the article before the killed one was committed"
    assert after["rice"] == old_rice, "the killed article is as it was before the sync"
    emb = HashingEmbedder()
    report = sync(db, [str(corpus)], emb, ChunkSettings(), SourceLimits())
    assert report.updated == ["rice"] and not report.added and report.unchanged == 3
    assert report.chunks_embedded == 1
    assert "7.2 tonnes" in stored(db)["rice"][0]


def test_a_sync_killed_inside_an_article_loses_only_that_article(pg_url: str,
                                                                  corpus: Path) -> None:
    db = Database(pg_url)
    _second_sync_setup(db, corpus)
    old_rice = stored(db)["rice"]
    child = subprocess.run([sys.executable, "-m", "tests.pg_crash_child", pg_url, str(corpus),
                            "2", "kill"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert child.returncode == -9, child.stderr
    _check_after_crash(db, corpus, old_rice)


def test_a_writer_whose_connection_is_terminated_loses_only_that_article(
        pg_url: str, corpus: Path, tmp_path: Path) -> None:
    db = Database(pg_url)
    _second_sync_setup(db, corpus)
    old_rice = stored(db)["rice"]
    marker = tmp_path / "inside"
    child = subprocess.Popen([sys.executable, "-m", "tests.pg_crash_child", pg_url, str(corpus),
                              "2", "stall", str(marker)], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.read_text() == "rice"
        with psycopg.connect(pg_url, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid = %s AND objid = %s AND granted", (LOCK_SPACE, WRITER_LOCK)
            ).fetchall()
        assert killed == [(True,)]
        _, err = child.communicate(timeout=90)
    finally:
        child.kill()
    assert child.returncode != 0 and "Traceback" in err
    _check_after_crash(db, corpus, old_rice)


def test_two_homes_share_one_database(pg_url: str, corpus: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANYA_DATABASE_URL", pg_url)
    monkeypatch.setenv("TANYA_EMBED_MODEL", "fake-hashing")  # the name HashingEmbedder records
    one, two = Settings(home=tmp_path / "one"), Settings(home=tmp_path / "two")
    assert one.index_location == two.index_location == Database(pg_url)
    run(Database(pg_url), corpus, HashingEmbedder())
    engine = Engine(two, HashingEmbedder(), ScriptedGenerator(), fake_answer_settings())
    try:
        assert engine.store().meta.articles == 3
        write_md(tmp_path / "more", "kite.md", "Kites", "A red kite festival drew 9,000 people.")
        sync(one.index_location, [str(tmp_path / "more")], HashingEmbedder(), one.chunking(),
             one.source_limits(), prune=False)
        store = engine.store()  # reopened: the meta row changed
        assert store.meta.articles == 4
        assert store.bm25_search("kite festival", 1)
        hits = search(store, HashingEmbedder(), "red kite festival", 1)
        assert hits[0].article_id == "kite"
    finally:
        engine.close()
    assert not (tmp_path / "one" / "index").exists() and not (tmp_path / "two" / "index").exists()


def test_the_command_line_on_postgresql(pg_url: str, corpus: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANYA_DATABASE_URL", pg_url)
    monkeypatch.setenv("TANYA_EMBED_MODEL", "fake-hashing")
    monkeypatch.setattr(runtime, "embedder", lambda settings: HashingEmbedder())
    synced = runner.invoke(app, ["index", "sync", str(corpus), "--json"])
    assert synced.exit_code == 0, synced.output
    assert sorted(json.loads(synced.stdout)["added"]) == ["frog", "musk", "rice"]
    found = runner.invoke(app, ["search", "Why did Musk leave OpenAI?", "-k", "1", "--json"])
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)["hits"][0]["article_id"] == "musk"
    status = json.loads(runner.invoke(app, ["index", "status", "--json"]).stdout)
    assert status["backend"] == "postgresql" and status["articles"] == 3
    assert status["index"].startswith("postgresql://postgres:***@/")
    text = runner.invoke(app, ["index", "status"]).stdout
    assert "postgresql" in text and "hnsw" in text
    assert runner.invoke(app, ["index", "remove", "frog"]).exit_code == 0


def test_the_command_line_with_the_server_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANYA_DATABASE_URL", "postgresql://tanya:s3cret@127.0.0.1:1/news")
    for args in (["index", "status"], ["search", "anything"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1
        assert result.stderr.count("\n") == 1 and "s3cret" not in result.output
        assert "cannot connect to PostgreSQL at postgresql://tanya:***@127.0.0.1:1/news" in (
            result.stderr)


def test_an_empty_database_says_to_sync_first(pg_url: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANYA_DATABASE_URL", pg_url)
    result = runner.invoke(app, ["index", "status"])
    assert result.exit_code == 1 and "no index at postgresql://" in result.stderr
    assert "tanya index sync" in result.stderr


def test_a_value_the_server_refuses_is_one_line(pg_url: str, tmp_path: Path) -> None:
    source = tmp_path / "nul.jsonl"
    source.write_text(json.dumps({"id": "ok", "text": "A plain article about kites."}) + "\n"
                      + json.dumps({"id": "nul", "text": "PostgreSQL text holds no \u0000."})
                      + "\n", encoding="utf-8")
    db = Database(pg_url)
    with pytest.raises(DatabaseError) as caught:
        sync(db, [str(source)], HashingEmbedder(), ChunkSettings(), SourceLimits())
    assert str(caught.value).startswith("PostgreSQL at postgresql://postgres:***@")
    assert "\n" not in str(caught.value)
    assert list(stored(db)) == ["ok"], "the article before it was kept"


def test_a_read_only_role_searches_a_migrated_index(pg_url: str, corpus: Path,
                                                     pg_server: TestServer) -> None:
    db = Database(pg_url)
    run(db, corpus, HashingEmbedder())
    role = f"reader_{database_name(pg_url)}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"')
    reader = Database(pg_url.replace("postgres:@", f"{role}:@"))
    try:
        assert ids(reader, "Why did Musk leave OpenAI?", 1) == ["musk"]
        with pytest.raises(DatabaseError, match="permission denied"):
            remove(reader, ["musk"])
    finally:
        pg_server.drop(pg_url)
        with pg_server.admin() as conn:
            conn.execute(f'DROP ROLE "{role}"')


class SlowEmbedder(HashingEmbedder):
    """The hashing embedder taking 2 s a batch of passages; `started` is set at the first."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        self.started.set()
        time.sleep(2.0)
        return super().embed_passages(texts)


def test_one_home_answers_while_the_other_syncs(pg_url: str, corpus: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANYA_DATABASE_URL", pg_url)
    monkeypatch.setenv("TANYA_EMBED_MODEL", "fake-hashing")
    one, two = Settings(home=tmp_path / "one"), Settings(home=tmp_path / "two")
    run(Database(pg_url), corpus, HashingEmbedder())
    for i in range(8):
        write_md(tmp_path / "more", f"kite{i}.md", f"Kites {i}",
                 f"A red kite festival in town {i} drew {i + 1},000 people.")
    slow = SlowEmbedder()
    syncing = threading.Thread(target=lambda: sync(
        one.index_location, [str(tmp_path / "more")], slow, one.chunking(),
        one.source_limits(), prune=False))
    gen = ScriptedGenerator(*["Altman and the other founders refused [1]."] * 3)
    engine = Engine(two, HashingEmbedder(), gen, fake_answer_settings())
    try:
        syncing.start()
        assert slow.started.wait(30)  # the sync is under way (embedding the new articles)
        got = engine.ask("Why did Musk leave OpenAI?", [])
        assert syncing.is_alive(), "the answer came while the other home was syncing"
        assert got.stated == "Altman and the other founders refused [1]."
        assert got.citations[0].article_id == "musk"
        syncing.join(timeout=60)
        store = engine.store()
        assert store.meta.articles == 11
        assert search(store, HashingEmbedder(), "red kite festival in town 7", 1)[0].article_id \
            == "kite7"
    finally:
        syncing.join(timeout=60)
        engine.close()
