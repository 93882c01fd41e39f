"""Incremental sync against real FAISS and SQLite: add, change, delete, duplicate, move."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.chunking import ChunkSettings
from index.embedding.fingerprint import PROBES, VectorSpace
from index.errors import ArticleNotFoundError, IndexBusyError, IndexMismatchError
from index.search import search
from index.store import IndexStore
from index.sync import rebuild, remove
from index.writer import IndexWriter
from tests.conftest import run_sync, write_md
from tests.fakes import HashingEmbedder


def _ids(index_dir: Path) -> list[str]:
    store = IndexStore(index_dir)
    try:
        return [s.article.id for s in store.articles()]
    finally:
        store.close()


def test_first_sync_adds_everything(index_dir: Path, corpus: Path,
                                    embedder: HashingEmbedder) -> None:
    report = run_sync(index_dir, [str(corpus)], embedder)
    assert sorted(report.added) == ["frog", "musk", "rice"]
    assert report.meta is not None and report.meta.articles == 3
    probed = len(PROBES)  # the probe texts, embedded once per embedder (fingerprint)
    assert report.chunks_embedded == embedder.passages_embedded - probed == report.meta.chunks
    assert not report.failures


def test_unchanged_resync_embeds_nothing(index_dir: Path, corpus: Path,
                                         embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    before = embedder.passages_embedded
    report = run_sync(index_dir, [str(corpus)], embedder)
    assert report.unchanged == 3 and not report.added and not report.updated
    assert embedder.passages_embedded == before


def test_changed_article_is_reembedded_alone(index_dir: Path, corpus: Path,
                                             embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    write_md(corpus, "rice.md", "Rice harvest", "Farmers harvested 7.2 tonnes per hectare.")
    before = embedder.passages_embedded
    report = run_sync(index_dir, [str(corpus)], embedder)
    assert report.updated == ["rice"] and report.unchanged == 2
    assert embedder.passages_embedded - before == report.chunks_embedded == 1
    store = IndexStore(index_dir)
    hits = search(store, embedder, "tonnes per hectare", k=1)
    assert "7.2 tonnes" in hits[0].text
    assert store.meta.chunks == 3


def test_metadata_change_updates_without_embedding(index_dir: Path, corpus: Path,
                                                   embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    text = (corpus / "frog.md").read_text().replace('title: "A new frog"',
                                                    'title: "A new frog"\nurl: "https://x.test/f"')
    (corpus / "frog.md").write_text(text)
    before = embedder.passages_embedded
    report = run_sync(index_dir, [str(corpus)], embedder)
    assert report.metadata_updated == ["frog"]
    assert embedder.passages_embedded == before
    assert IndexStore(index_dir).article("frog").article.url == "https://x.test/f"


def test_deleted_file_is_removed(index_dir: Path, corpus: Path,
                                 embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    (corpus / "frog.md").unlink()
    report = run_sync(index_dir, [str(corpus)], embedder)
    assert report.removed == ["frog"]
    store = IndexStore(index_dir)
    assert store.meta.articles == 2 and store.meta.chunks == 2
    assert all(h.article_id != "frog" for h in search(store, embedder, "frog cloud forest", k=5))


def test_prune_only_within_synced_roots(index_dir: Path, corpus: Path, tmp_path: Path,
                                        embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    other = tmp_path / "other"
    write_md(other, "volcano.md", "Volcano", "The alert level of Mount Sample rose to three.")
    report = run_sync(index_dir, [str(other)], embedder)
    assert report.added == ["volcano"] and not report.removed
    assert len(_ids(index_dir)) == 4


def test_exact_duplicate_is_skipped(index_dir: Path, corpus: Path,
                                    embedder: HashingEmbedder) -> None:
    (corpus / "copy.md").write_bytes((corpus / "musk.md").read_bytes())
    report = run_sync(index_dir, [str(corpus)], embedder)
    assert report.duplicates == [(str((corpus / "musk.md").resolve()), "copy")]
    assert len(_ids(index_dir)) == 3


def test_renamed_file_moves_without_embedding(index_dir: Path, corpus: Path,
                                              embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    (corpus / "musk.md").rename(corpus / "musk-2023.md")
    before = embedder.passages_embedded
    report = run_sync(index_dir, [str(corpus)], embedder)
    assert report.moved == ["musk"] and not report.removed and not report.added
    assert embedder.passages_embedded == before
    assert IndexStore(index_dir).article("musk").article.source.endswith("musk-2023.md")


def test_jsonl_ids_are_kept_and_shown(index_dir: Path, tmp_path: Path,
                                      embedder: HashingEmbedder) -> None:
    feed = tmp_path / "news.jsonl"
    feed.write_text(json.dumps({"id": "KOMPAS-17", "title": "Banjir", "text":
                                "Banjir merendam 1.240 rumah di Sungai Lebar."}) + "\n")
    run_sync(index_dir, [str(feed)], embedder)
    hits = search(IndexStore(index_dir), embedder, "banjir rumah", k=1)
    assert hits[0].article_id == "KOMPAS-17"


def test_id_collision_gets_a_suffix(index_dir: Path, tmp_path: Path,
                                    embedder: HashingEmbedder) -> None:
    write_md(tmp_path / "a", "news.md", "One", "The first story is about trains.")
    write_md(tmp_path / "b", "news.md", "Two", "The second story is about boats.")
    report = run_sync(index_dir, [str(tmp_path / "a"), str(tmp_path / "b")], embedder)
    assert sorted(report.added) == ["news", "news-2"]
    assert report.renamed == [("news", "news-2")]


def test_remove_by_id(index_dir: Path, corpus: Path, embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    meta = remove(index_dir, ["rice"])
    assert meta.articles == 2
    with pytest.raises(ArticleNotFoundError, match="nope"):
        remove(index_dir, ["nope"])
    assert meta.articles == IndexStore(index_dir).meta.articles


def test_model_mismatch_names_the_fix(index_dir: Path, corpus: Path,
                                      embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    with pytest.raises(IndexMismatchError, match=r"tanya index rebuild") as err:
        run_sync(index_dir, [str(corpus)], HashingEmbedder(name="other-model"))
    assert "fake-hashing" in str(err.value) and "other-model" in str(err.value)
    with pytest.raises(IndexMismatchError, match="chunking"):
        run_sync(index_dir, [str(corpus)], embedder, ChunkSettings(words=40, max_words=60))


def test_rebuild_switches_model_and_chunking(index_dir: Path, corpus: Path,
                                             embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    new = HashingEmbedder(dim=32, name="other-model")
    chunking = ChunkSettings(words=10, max_words=20, overlap_sentences=0)
    report = rebuild(index_dir, new, chunking)
    store = IndexStore(index_dir)
    assert store.meta.embed_model == "other-model" and store.meta.dim == 32
    assert store.meta.chunking == chunking.describe()
    assert store.meta.articles == 3 and report.chunks_embedded == store.meta.chunks
    assert search(store, new, "frog", k=1)[0].article_id == "frog"


def test_second_writer_is_refused(index_dir: Path, corpus: Path,
                                  embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    space = VectorSpace(embedder.name, embedder.dim)
    with IndexWriter(index_dir, space, ChunkSettings().describe()), \
            pytest.raises(IndexBusyError, match="another sync"):
        run_sync(index_dir, [str(corpus)], embedder)


def test_open_reader_survives_a_sync(index_dir: Path, corpus: Path,
                                     embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    reader = IndexStore(index_dir)
    (corpus / "frog.md").unlink()
    run_sync(index_dir, [str(corpus)], embedder)
    assert reader.is_stale()
    assert search(reader, embedder, "frog", k=1)[0].article_id == "frog"
    assert IndexStore(index_dir).meta.articles == 2


def test_failed_source_keeps_its_indexed_version(index_dir: Path, corpus: Path,
                                                 embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    (corpus / "rice.md").write_bytes(b"\x00\x01\x02binary\x00" * 10)
    report = run_sync(index_dir, [str(corpus)], embedder)
    assert [f.source for f in report.failures] == [str((corpus / "rice.md").resolve())]
    assert "rice" in _ids(index_dir) and not report.removed


def test_generations_are_collected(index_dir: Path, corpus: Path,
                                   embedder: HashingEmbedder) -> None:
    for n in range(4):
        write_md(corpus, "extra.md", "Extra", f"Version {n} of an extra story about kites.")
        run_sync(index_dir, [str(corpus)], embedder)
    gens = sorted(p.name for p in index_dir.iterdir() if p.name.startswith("g"))
    assert len(gens) == 2
    assert (index_dir / "CURRENT").read_text().strip() == gens[-1]


def test_unreadable_jsonl_keeps_its_articles(index_dir: Path, tmp_path: Path,
                                             embedder: HashingEmbedder) -> None:
    feed = tmp_path / "in" / "news.jsonl"
    feed.parent.mkdir()
    rows = [{"id": f"n{i}", "text": f"Story {i} about ferries and ports."} for i in range(3)]
    feed.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    run_sync(index_dir, [str(feed.parent)], embedder)
    feed.write_text("{not json\n" + "\n".join(json.dumps(r) for r in rows[1:]) + "\n")
    report = run_sync(index_dir, [str(feed.parent)], embedder)
    assert report.failures and not report.removed
    feed.write_bytes(b"\x00\xff" * 100)
    report = run_sync(index_dir, [str(feed.parent)], embedder)
    assert report.failures and not report.removed
    assert sorted(_ids(index_dir)) == ["n0", "n1", "n2"]
