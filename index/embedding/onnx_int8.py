"""ONNX Runtime backend: the same sentence-transformers model, exported once and quantized.

sentence-transformers' own ONNX backend needs optimum-onnx, which pins transformers < 4.58 and
so an older sentence-transformers that cannot load the packaged model; the export here uses
torch.onnx and onnxruntime's dynamic quantization directly. Weights of the matrix products are
int8 per channel (embeddings keep cosine 0.99 to fp32); benchmarks/ingest.py measures speed and
benchmarks/retrieval.py recall.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from index.embedding import PrefixedEmbedder, Vectors
from index.embedding.backends import EmbedderSpec
from index.embedding.sbert import load_model
from index.errors import EmbeddingModelError

BACKEND = "onnx-int8"
_MODEL, _META = "model-int8.onnx", "tanya-onnx.json"


def export(model_name: str, folder: Path) -> None:
    """Export a sentence-transformers model to int8 ONNX plus its tokenizer, atomically."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    st = load_model(model_name, "cpu")
    transformer, pooling = st[0], st[1]
    mode = str(getattr(pooling, "pooling_mode", "mean"))
    if mode not in ("mean", "cls"):
        raise EmbeddingModelError(model_name, f"pooling {mode!r} is not supported by onnx-int8")
    tmp = folder.with_name(folder.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)

    class Encoder(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    # The example batch must contain padding: tracing follows one path through the model's
    # masking code, and an all-ones mask would bake "no padding" into the graph.
    mask = torch.tensor([[1] * 8, [1] * 4 + [0] * 4], dtype=torch.long)
    ids = mask * 7
    axes = {0: "batch", 1: "tokens"}
    try:
        example = (ids, mask, torch.zeros_like(ids))
        with warnings.catch_warnings():  # tracer notes about shapes that are fixed by design
            warnings.simplefilter("ignore")
            torch.onnx.export(Encoder(transformer.auto_model).eval(), example,
                              str(tmp / "model.onnx"), opset_version=17, dynamo=False,
                              input_names=["input_ids", "attention_mask", "token_type_ids"],
                              output_names=["hidden"], dynamic_axes={
                                  "input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                                  "hidden": axes})
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # the quantizer logs a generic pre-processing hint
        try:
            quantize_dynamic(str(tmp / "model.onnx"), str(tmp / _MODEL), per_channel=True,
                             weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
        finally:
            root.setLevel(level)
        (tmp / "model.onnx").unlink()
        st.tokenizer.save_pretrained(str(tmp))
        normalize = any(type(m).__name__ == "Normalize" for m in st)
        (tmp / _META).write_text(json.dumps({
            "model": model_name, "pooling": mode, "normalize": normalize,
            "max_length": int(st.max_seq_length or 512),
            "dim": int(st.get_embedding_dimension() or 0)}))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def build(spec: EmbedderSpec) -> OnnxEmbedder:
    """The model's int8 export, made once into `spec.cache_dir`."""
    return OnnxEmbedder(spec.model, spec.cache_dir, query_prefix=spec.query_prefix,
                        passage_prefix=spec.passage_prefix)


class OnnxEmbedder(PrefixedEmbedder):
    """Embedder protocol on ONNX Runtime; its name marks the backend, so indexes never mix."""

    def __init__(self, model_name: str, cache_dir: Path, *, query_prefix: str | None = None,
                 passage_prefix: str | None = None, batch_size: int = 32) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = cache_dir / "onnx" / model_name.replace("/", "__")
        if not (folder / _META).is_file():
            export(model_name, folder)
        meta = json.loads((folder / _META).read_text())
        super().__init__(f"{model_name}#{BACKEND}", model_name, int(meta["dim"]), query_prefix,
                         passage_prefix)
        self._pooling, self._normalize = meta["pooling"], bool(meta["normalize"])
        self._batch = batch_size
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        self._session = ort.InferenceSession(str(folder / _MODEL), options,
                                             providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tok.enable_truncation(int(meta["max_length"]))
        self._tok.no_padding()
        self._pad = self._tok.token_to_id("[PAD]") or 0

    def _encode(self, texts: list[str]) -> Vectors:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        encoded = [e.ids for e in self._tok.encode_batch(texts)]
        # Batches of similar token length waste least work on padding.
        order = np.argsort([len(e) for e in encoded], kind="stable")
        for start in range(0, len(texts), self._batch):
            idx = order[start : start + self._batch]
            width = max(len(encoded[i]) for i in idx)
            ids = np.full((len(idx), width), self._pad, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                ids[row, : len(encoded[i])] = encoded[i]
                mask[row, : len(encoded[i])] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            feed = {k: v for k, v in feed.items() if k in self._inputs}
            hidden = self._session.run(None, feed)[0]
            if self._pooling == "cls":
                vecs = hidden[:, 0]
            else:
                m = mask[:, :, None].astype(np.float32)
                vecs = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
            if self._normalize:
                vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
            out[idx] = vecs
        return out
